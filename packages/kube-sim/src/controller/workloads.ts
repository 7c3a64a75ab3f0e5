import { KubeApi } from '../server/api';
import { ResourceType } from '../server/resources';
import { deepClone, deepEqual, KubeObject, nowIso } from '../server/types';
import { StatusError } from '../server/status';
import { DeploymentController } from './deployments';
import { EventRecorder } from './events';
import { isPodReady } from './kubelet';
import { isControlledBy, ownerRef, templateHash } from './ownership';

/** Deployment, ReplicaSet, StatefulSet, DaemonSet and Job controllers, as kube-controller-manager runs them. */
export class WorkloadControllers {
  private readonly t: Record<string, ResourceType>;
  private readonly ctx = { manager: 'kube-controller-manager' };
  private readonly deployments: DeploymentController;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    /** Asks for `deployments/<namespace>/<name>` to be reconciled again after `ms` (progress deadlines). */
    requeueAfter: (key: string, ms: number) => void = () => {},
  ) {
    this.deployments = new DeploymentController(api, events, requeueAfter);
    const f = (g: string, v: string, p: string) => api.registry.find(g, v, p)!;
    this.t = {
      pods: f('', 'v1', 'pods'),
      nodes: f('', 'v1', 'nodes'),
      pvcs: f('', 'v1', 'persistentvolumeclaims'),
      deployments: f('apps', 'v1', 'deployments'),
      replicasets: f('apps', 'v1', 'replicasets'),
      statefulsets: f('apps', 'v1', 'statefulsets'),
      daemonsets: f('apps', 'v1', 'daemonsets'),
      jobs: f('batch', 'v1', 'jobs'),
    };
  }

  private owned(type: ResourceType, owner: KubeObject): KubeObject[] {
    return this.api.store
      .dependentsOf(owner.metadata.uid!)
      .map(d => this.api.store.getById(d.typeId, d.key))
      .filter(
        (o): o is KubeObject =>
          !!o && o.kind === type.kind && isControlledBy(o, owner),
      );
  }

  private writeStatus(
    type: ResourceType,
    obj: KubeObject,
    status: Record<string, unknown>,
  ) {
    const next = deepClone(obj);
    next.status = status;
    return this.api.commitUpdate(type, obj, next, this.ctx, 'status', 'Update');
  }

  /**
   * Creates a pod for `owner` with the controller's event; returns the API error's message when the
   * create is refused (quota, Pod Security admission, a terminating namespace), else undefined.
   */
  private createPod(
    owner: KubeObject,
    pod: KubeObject,
    ownerType: ResourceType,
  ): string | undefined {
    // The StatefulSet controller words its events its own way (StatefulPodControl.recordPodEvent).
    const statefulSet = ownerType === this.t.statefulsets;
    try {
      const created = this.api.create(
        this.t.pods,
        owner.metadata.namespace,
        pod,
        this.ctx,
      );
      this.events.record(
        owner,
        'Normal',
        'SuccessfulCreate',
        statefulSet
          ? `create Pod ${created.metadata.name} in StatefulSet ${owner.metadata.name} successful`
          : `Created pod: ${created.metadata.name}`,
        { component: controllerName(ownerType) },
      );
      return undefined;
    } catch (e) {
      const message = e instanceof StatusError ? e.message : String(e);
      this.events.record(
        owner,
        'Warning',
        'FailedCreate',
        statefulSet
          ? `create Pod ${pod.metadata.name} in StatefulSet ${owner.metadata.name} failed error: ${message}`
          : `Error creating: ${message}`,
        { component: controllerName(ownerType) },
      );
      return message;
    }
  }

  private deletePod(
    owner: KubeObject,
    pod: KubeObject,
    ownerType: ResourceType,
  ) {
    // Already being stopped by its kubelet (a graceful delete): one delete, one event.
    if (pod.metadata.deletionTimestamp) return;
    try {
      this.api.delete(
        this.t.pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        {},
      );
      this.events.record(
        owner,
        'Normal',
        'SuccessfulDelete',
        ownerType === this.t.statefulsets
          ? `delete Pod ${pod.metadata.name} in StatefulSet ${owner.metadata.name} successful`
          : `Deleted pod: ${pod.metadata.name}`,
        { component: controllerName(ownerType) },
      );
    } catch {
      // Already gone.
    }
  }

  private podFromTemplate(
    owner: KubeObject,
    extraLabels: Record<string, string>,
    name?: string,
  ) {
    const template = deepClone(owner.spec?.template ?? {});
    const meta = template.metadata ?? {};
    delete meta.creationTimestamp;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...meta,
        ...(name ? { name } : { generateName: `${owner.metadata.name}-` }),
        namespace: owner.metadata.namespace,
        labels: { ...(meta.labels ?? {}), ...extraLabels },
        ownerReferences: [ownerRef(owner)],
      },
      spec: template.spec ?? {},
    } as KubeObject;
  }

  /* ---------------- Deployments ---------------- */

  reconcileDeployment(ns: string, name: string) {
    this.deployments.reconcile(ns, name);
  }

  /* ---------------- ReplicaSets ---------------- */

  reconcileReplicaSet(ns: string, name: string) {
    const rs = this.api.tryGet(this.t.replicasets, ns, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const desired: number = rs.spec?.replicas ?? 1;
    let pods = this.owned(this.t.pods, rs).filter(
      p =>
        !p.metadata.deletionTimestamp &&
        !['Succeeded', 'Failed'].includes(p.status?.phase),
    );
    let failure: string | undefined;
    if (pods.length < desired) {
      for (let i = pods.length; i < desired; i++) {
        failure = this.createPod(
          rs,
          this.podFromTemplate(rs, {}),
          this.t.replicasets,
        );
        if (failure) break;
      }
      pods = this.owned(this.t.pods, rs).filter(
        p => !p.metadata.deletionTimestamp,
      );
    } else if (pods.length > desired) {
      const victims = [...pods]
        .sort(
          (a, b) =>
            Number(isPodReady(a)) - Number(isPodReady(b)) ||
            (b.metadata.creationTimestamp ?? '').localeCompare(
              a.metadata.creationTimestamp ?? '',
            ),
        )
        .slice(0, pods.length - desired);
      for (const p of victims) this.deletePod(rs, p, this.t.replicasets);
      pods = this.owned(this.t.pods, rs).filter(
        p => !p.metadata.deletionTimestamp,
      );
    }
    const ready = pods.filter(isPodReady).length;
    const now = nowIso();
    const status: Record<string, unknown> = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      observedGeneration: rs.metadata.generation,
    };
    if (failure) {
      // calculateStatus: the condition keeps the first refusal while creates keep failing.
      const prev = (rs.status?.conditions ?? []).find(
        (c: any) => c.type === 'ReplicaFailure',
      );
      status.conditions = [
        prev ?? {
          type: 'ReplicaFailure',
          status: 'True',
          lastTransitionTime: now,
          reason: 'FailedCreate',
          message: failure,
        },
      ];
    }
    if (!deepEqual(rs.status, status))
      this.writeStatus(this.t.replicasets, rs, status);
  }

  /* ---------------- StatefulSets ---------------- */

  reconcileStatefulSet(ns: string, name: string) {
    const sts = this.api.tryGet(this.t.statefulsets, ns, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const desired: number = sts.spec?.replicas ?? 1;
    const revision = `${name}-${templateHash(sts.spec?.template)}`;
    const ordered =
      (sts.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const pods = new Map<number, KubeObject>();
    for (const p of this.owned(this.t.pods, sts)) {
      const m = p.metadata.name!.match(/-(\d+)$/);
      if (m) pods.set(Number(m[1]), p);
    }
    // Scale up in ordinal order (each waits for the previous to be Ready when OrderedReady).
    for (let i = 0; i < desired; i++) {
      if (pods.has(i)) {
        if (ordered && !isPodReady(pods.get(i)!)) break;
        continue;
      }
      for (const vct of sts.spec?.volumeClaimTemplates ?? []) {
        const pvcName = `${vct.metadata?.name}-${name}-${i}`;
        if (!this.api.tryGet(this.t.pvcs, ns, pvcName)) {
          try {
            const pvc = this.api.create(
              this.t.pvcs,
              ns,
              {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: {
                  name: pvcName,
                  namespace: ns,
                  labels: sts.spec?.selector?.matchLabels,
                },
                spec: { volumeMode: 'Filesystem', ...vct.spec },
              },
              this.ctx,
            );
            this.writeStatus(this.t.pvcs, pvc, {
              phase: 'Bound',
              accessModes: vct.spec?.accessModes,
              capacity: vct.spec?.resources?.requests,
            });
          } catch {
            // Quota or a terminating namespace; the next pass retries.
          }
        }
      }
      const pod = this.podFromTemplate(
        sts,
        {
          'controller-revision-hash': revision,
          'statefulset.kubernetes.io/pod-name': `${name}-${i}`,
        },
        `${name}-${i}`,
      );
      pod.spec.hostname = `${name}-${i}`;
      if (sts.spec?.serviceName) pod.spec.subdomain = sts.spec.serviceName;
      this.createPod(sts, pod, this.t.statefulsets);
      if (ordered) break;
    }
    // Scale down from the highest ordinal.
    const extra = [...pods.keys()]
      .filter(i => i >= desired)
      .sort((a, b) => b - a);
    for (const i of ordered ? extra.slice(0, 1) : extra)
      this.deletePod(sts, pods.get(i)!, this.t.statefulsets);
    // Rolling update: replace the highest outdated pod once all are Ready.
    const live = [...pods.entries()].filter(([i]) => i < desired);
    const outdated = live
      .filter(
        ([, p]) => p.metadata.labels?.['controller-revision-hash'] !== revision,
      )
      .sort((a, b) => b[0] - a[0]);
    if (
      outdated.length &&
      live.length === desired &&
      live.every(([, p]) => isPodReady(p))
    ) {
      this.deletePod(sts, outdated[0][1], this.t.statefulsets);
    }
    const current = this.owned(this.t.pods, sts);
    const ready = current.filter(isPodReady).length;
    const updated = current.filter(
      p => p.metadata.labels?.['controller-revision-hash'] === revision,
    ).length;
    const currentRevision =
      updated === current.length && current.length === desired
        ? revision
        : sts.status?.currentRevision ?? revision;
    const status: Record<string, unknown> = {
      observedGeneration: sts.metadata.generation,
      replicas: current.length,
      ...(ready
        ? { readyReplicas: ready, availableReplicas: ready }
        : { availableReplicas: 0 }),
      currentReplicas: current.filter(
        p =>
          p.metadata.labels?.['controller-revision-hash'] === currentRevision,
      ).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
    };
    if (!deepEqual(sts.status, status))
      this.writeStatus(this.t.statefulsets, sts, status);
  }

  /* ---------------- DaemonSets ---------------- */

  reconcileDaemonSet(ns: string, name: string) {
    const ds = this.api.tryGet(this.t.daemonsets, ns, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const revision = templateHash(ds.spec?.template);
    const selector: Record<string, string> =
      ds.spec?.template?.spec?.nodeSelector ?? {};
    const nodes = this.api.store
      .list(this.t.nodes)
      .filter(n =>
        Object.entries(selector).every(
          ([k, v]) => n.metadata.labels?.[k] === v,
        ),
      );
    const pods = this.owned(this.t.pods, ds).filter(
      p => !p.metadata.deletionTimestamp,
    );
    const byNode = new Map(pods.map(p => [p.spec?.nodeName, p]));
    for (const n of nodes) {
      if (byNode.has(n.metadata.name)) continue;
      const pod = this.podFromTemplate(ds, {
        'controller-revision-hash': revision,
        'pod-template-generation': String(ds.metadata.generation ?? 1),
      });
      pod.spec.nodeName = n.metadata.name;
      this.createPod(ds, pod, this.t.daemonsets);
    }
    const nodeNames = new Set(nodes.map(n => n.metadata.name));
    for (const p of pods)
      if (!nodeNames.has(p.spec?.nodeName))
        this.deletePod(ds, p, this.t.daemonsets);
    const outdated = pods.filter(
      p =>
        nodeNames.has(p.spec?.nodeName) &&
        p.metadata.labels?.['controller-revision-hash'] !== revision,
    );
    if (outdated.length && pods.every(isPodReady))
      this.deletePod(ds, outdated[0], this.t.daemonsets);
    const current = this.owned(this.t.pods, ds).filter(
      p => !p.metadata.deletionTimestamp,
    );
    const ready = current.filter(isPodReady).length;
    const status: Record<string, unknown> = {
      currentNumberScheduled: current.length,
      numberMisscheduled: 0,
      desiredNumberScheduled: nodes.length,
      numberReady: ready,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: current.filter(
        p => p.metadata.labels?.['controller-revision-hash'] === revision,
      ).length,
      numberAvailable: ready,
      ...(nodes.length - ready > 0
        ? { numberUnavailable: nodes.length - ready }
        : {}),
    };
    if (!deepEqual(ds.status, status))
      this.writeStatus(this.t.daemonsets, ds, status);
  }

  /* ---------------- Jobs ---------------- */

  reconcileJob(ns: string, name: string) {
    const job = this.api.tryGet(this.t.jobs, ns, name);
    if (!job || job.metadata.deletionTimestamp) return;
    // A finished Job (Complete or Failed) is left as it is, as the real job controller leaves it
    // (`IsJobFinished`): no pod is made again when its pods are gone, its status is not rewritten.
    if (
      (job.status?.conditions ?? []).some(
        (c: any) =>
          (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      )
    )
      return;
    const pods = this.owned(this.t.pods, job);
    const succeeded = pods.filter(p => p.status?.phase === 'Succeeded').length;
    const failed = pods.filter(p => p.status?.phase === 'Failed').length;
    const active = pods.filter(
      p => !['Succeeded', 'Failed'].includes(p.status?.phase),
    );
    const completions: number = job.spec?.completions ?? 1;
    const parallelism: number = job.spec?.parallelism ?? 1;
    const done = succeeded >= completions;
    if (!done && this.pastBackoffLimit(job, failed, active)) {
      this.failJob(job, failed, active);
      return;
    }
    const uid = job.metadata.uid!;
    if (!done && !job.spec?.suspend) {
      const want =
        Math.min(parallelism, completions - succeeded) - active.length;
      for (let i = 0; i < want; i++) {
        this.createPod(
          job,
          this.podFromTemplate(job, {
            'controller-uid': uid,
            'batch.kubernetes.io/controller-uid': uid,
            'job-name': name,
            'batch.kubernetes.io/job-name': name,
          }),
          this.t.jobs,
        );
      }
    }
    const now = nowIso();
    const status: Record<string, unknown> = {
      startTime: job.status?.startTime ?? now,
      ...(done
        ? {}
        : {
            active: this.owned(this.t.pods, job).filter(
              p => !['Succeeded', 'Failed'].includes(p.status?.phase),
            ).length,
          }),
      ...(succeeded ? { succeeded } : {}),
      ...(failed ? { failed } : {}),
      ready: active.filter(isPodReady).length,
      uncountedTerminatedPods: {},
    };
    if (done) {
      status.completionTime = job.status?.completionTime ?? now;
      const prev = (job.status?.conditions ?? []).find(
        (c: any) => c.type === 'Complete',
      );
      status.conditions = [
        {
          type: 'Complete',
          status: 'True',
          lastProbeTime: prev?.lastProbeTime ?? now,
          lastTransitionTime: prev?.lastTransitionTime ?? now,
        },
      ];
      delete status.ready;
    }
    if (!deepEqual(job.status, status)) {
      const written = this.writeStatus(this.t.jobs, job, status);
      if (done && !job.status?.completionTime) {
        this.events.record(written, 'Normal', 'Completed', 'Job completed', {
          component: 'job-controller',
        });
      }
    }
  }

  /**
   * Whether a Job's pods failed more often than `spec.backoffLimit` (default 6) allows, as the v1.26
   * job controller decides: its failed pods, or, with restartPolicy OnFailure (the kubelet restarts
   * the failing container in its pod), the restarts of its active pods' containers.
   */
  private pastBackoffLimit(
    job: KubeObject,
    failed: number,
    active: KubeObject[],
  ) {
    const limit: number = job.spec?.backoffLimit ?? 6;
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure')
      return failed > limit;
    const restarts = active
      .flatMap(p => [
        ...(p.status?.initContainerStatuses ?? []),
        ...(p.status?.containerStatuses ?? []),
      ])
      .reduce((sum: number, c: any) => sum + (c.restartCount ?? 0), 0);
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  /**
   * Marks a Job failed past its backoff limit, as the real controller does: its active pods are
   * deleted (and counted failed), the `Failed` condition `BackoffLimitExceeded` is written with a
   * Warning event, and no pod is made again (a finished Job is left as it is).
   */
  private failJob(job: KubeObject, failed: number, active: KubeObject[]) {
    for (const p of active) this.deletePod(job, p, this.t.jobs);
    const now = nowIso();
    const message = 'Job has reached the specified backoff limit';
    const written = this.writeStatus(this.t.jobs, job, {
      startTime: job.status?.startTime ?? now,
      failed: failed + active.length,
      ready: 0,
      uncountedTerminatedPods: {},
      conditions: [
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message,
          lastProbeTime: now,
          lastTransitionTime: now,
        },
      ],
    });
    this.events.record(written, 'Warning', 'BackoffLimitExceeded', message, {
      component: 'job-controller',
    });
  }
}

function controllerName(t: ResourceType) {
  return (
    {
      replicasets: 'replicaset-controller',
      statefulsets: 'statefulset-controller',
      daemonsets: 'daemonset-controller',
      jobs: 'job-controller',
    }[t.plural] ?? 'controller-manager'
  );
}
