import { createHash } from 'node:crypto';
import { KubeApi } from '../server/api';
import { ResourceType } from '../server/resources';
import {
  deepClone,
  deepEqual,
  KubeObject,
  nowIso,
  OwnerReference,
} from '../server/types';
import { StatusError } from '../server/status';
import { EventRecorder } from './events';
import { isPodReady } from './kubelet';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The template as the controller's Go struct sees it: key order does not matter and a null field is
 * the same as a missing one. (Hashing the JSON as sent made a PUT from a client that orders keys
 * differently look like a new template, so scaling replaced every Ready pod.)
 */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.keys(v as object)
      .filter(k => (v as any)[k] !== null && (v as any)[k] !== undefined)
      .sort()
      .map(k => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The pod-template-hash the deployment controller derives from a pod template. */
export function templateHash(template: unknown): string {
  const n = createHash('sha256')
    .update(canonicalJson(template ?? {}))
    .digest()
    .readUInt32BE(0);
  return String(n)
    .split('')
    .map(ch => SAFE[ch.charCodeAt(0) % SAFE.length])
    .join('');
}

function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function isControlledBy(obj: KubeObject, owner: KubeObject) {
  return (obj.metadata.ownerReferences ?? []).some(
    o => o.uid === owner.metadata.uid && o.controller,
  );
}

function resolvePercent(
  value: unknown,
  total: number,
  roundUp: boolean,
): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const v = (parseFloat(value) * total) / 100;
    return roundUp ? Math.ceil(v) : Math.floor(v);
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

function condition(
  prev: any[] | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
) {
  const old = (prev ?? []).find(c => c.type === type);
  const same =
    old &&
    old.status === status &&
    old.reason === reason &&
    old.message === message;
  return {
    type,
    status,
    lastUpdateTime: same ? old.lastUpdateTime : now,
    lastTransitionTime:
      old && old.status === status ? old.lastTransitionTime : now,
    reason,
    message,
  };
}

/** Deployment, ReplicaSet, StatefulSet, DaemonSet and Job controllers, as kube-controller-manager runs them. */
export class WorkloadControllers {
  private readonly t: Record<string, ResourceType>;
  private readonly ctx = { manager: 'kube-controller-manager' };

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    /** Asks for `deployments/<namespace>/<name>` to be reconciled again after `ms` (progress deadlines). */
    private readonly requeueAfter: (key: string, ms: number) => void = () => {},
  ) {
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

  private write(type: ResourceType, old: KubeObject, next: KubeObject) {
    return this.api.commitUpdate(
      type,
      old,
      next,
      this.ctx,
      undefined,
      'Update',
    );
  }

  private createPod(
    owner: KubeObject,
    pod: KubeObject,
    ownerType: ResourceType,
  ): boolean {
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
        `Created pod: ${created.metadata.name}`,
        { component: controllerName(ownerType) },
      );
      return true;
    } catch (e) {
      const message = e instanceof StatusError ? e.message : String(e);
      this.events.record(
        owner,
        'Warning',
        'FailedCreate',
        `Error creating: ${message}`,
        { component: controllerName(ownerType) },
      );
      return false;
    }
  }

  private deletePod(
    owner: KubeObject,
    pod: KubeObject,
    ownerType: ResourceType,
  ) {
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
        `Deleted pod: ${pod.metadata.name}`,
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
    const d = this.api.tryGet(this.t.deployments, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const desired: number = d.spec?.replicas ?? 1;
    const hash = templateHash(d.spec?.template);
    let rsList = this.owned(this.t.replicasets, d);
    const revisionOf = (rs: KubeObject) =>
      Number(
        rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0,
      );
    const maxRevision = rsList.reduce(
      (m, rs) => Math.max(m, revisionOf(rs)),
      0,
    );
    let newRS = rsList.find(
      rs => rs.metadata.labels?.['pod-template-hash'] === hash,
    );
    let created = false;
    const recreate = d.spec?.strategy?.type === 'Recreate';
    // By uid: `newRS` is replaced by the object each write returns, so a reference test would
    // count the new ReplicaSet among the old ones and scale it to zero (deleting Ready pods).
    const olds = () =>
      rsList.filter(rs => rs.metadata.uid !== newRS?.metadata.uid);
    if (!newRS) {
      const template = deepClone(d.spec.template);
      template.metadata = template.metadata ?? {};
      template.metadata.labels = {
        ...(template.metadata.labels ?? {}),
        'pod-template-hash': hash,
      };
      const oldPods = olds().reduce(
        (s, rs) => s + (rs.status?.replicas ?? 0),
        0,
      );
      newRS = this.api.create(
        this.t.replicasets,
        ns,
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `${name}-${hash}`,
            namespace: ns,
            labels: template.metadata.labels,
            annotations: {
              'deployment.kubernetes.io/desired-replicas': String(desired),
              'deployment.kubernetes.io/max-replicas': String(
                desired +
                  resolvePercent(
                    d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%',
                    desired,
                    true,
                  ),
              ),
              'deployment.kubernetes.io/revision': String(maxRevision + 1),
            },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas: recreate && oldPods > 0 ? 0 : desired,
            selector: {
              ...d.spec.selector,
              matchLabels: {
                ...(d.spec.selector?.matchLabels ?? {}),
                'pod-template-hash': hash,
              },
            },
            template,
          },
        },
        this.ctx,
      );
      created = true;
      rsList = [...rsList, newRS];
      this.events.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${newRS.metadata.name} to ${newRS.spec.replicas}`,
        { component: 'deployment-controller' },
      );
    } else if (revisionOf(newRS) < maxRevision) {
      // Rolling back to an older template makes its ReplicaSet the newest revision again.
      const next = deepClone(newRS);
      next.metadata.annotations = {
        ...next.metadata.annotations,
        'deployment.kubernetes.io/revision': String(maxRevision + 1),
      };
      newRS = this.write(this.t.replicasets, newRS, next);
      rsList = rsList.map(rs =>
        rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs,
      );
    }

    if (!d.spec?.paused) {
      const scale = (rs: KubeObject, replicas: number) => {
        if ((rs.spec?.replicas ?? 0) === replicas) return rs;
        const next = deepClone(rs);
        next.spec.replicas = replicas;
        next.metadata.annotations = {
          ...next.metadata.annotations,
          'deployment.kubernetes.io/desired-replicas': String(desired),
        };
        const up = replicas > (rs.spec?.replicas ?? 0);
        this.events.record(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled ${up ? 'up' : 'down'} replica set ${
            rs.metadata.name
          } to ${replicas}`,
          { component: 'deployment-controller' },
        );
        return this.write(this.t.replicasets, rs, next);
      };
      const oldPods = olds().reduce(
        (s, rs) => s + (rs.status?.replicas ?? 0),
        0,
      );
      if (recreate) {
        for (const rs of olds()) scale(rs, 0);
        newRS = scale(newRS, oldPods > 0 ? 0 : desired);
      } else {
        newRS = scale(newRS, desired);
        const newAvailable = newRS.status?.availableReplicas ?? 0;
        let budget = Math.max(0, desired - newAvailable);
        const byRevision = olds().sort((a, b) => revisionOf(b) - revisionOf(a));
        for (const rs of byRevision) {
          const keep = Math.min(rs.spec?.replicas ?? 0, budget);
          budget -= keep;
          scale(rs, keep);
        }
      }
      // Old ReplicaSets scaled to zero beyond revisionHistoryLimit are removed.
      const limit = d.spec?.revisionHistoryLimit ?? 10;
      const idle = this.owned(this.t.replicasets, d)
        .filter(
          rs =>
            rs.metadata.uid !== newRS!.metadata.uid &&
            (rs.spec?.replicas ?? 0) === 0 &&
            (rs.status?.replicas ?? 0) === 0,
        )
        .sort((a, b) => revisionOf(a) - revisionOf(b));
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
        this.api.delete(this.t.replicasets, ns, rs.metadata.name!, {});
      }
    }

    const all = this.owned(this.t.replicasets, d);
    const current =
      all.find(rs => rs.metadata.uid === newRS!.metadata.uid) ?? newRS;
    const sum = (f: (rs: KubeObject) => number) =>
      all.reduce((s, rs) => s + f(rs), 0);
    const replicas = sum(rs => rs.status?.replicas ?? 0);
    const updated = current.status?.replicas ?? 0;
    const ready = sum(rs => rs.status?.readyReplicas ?? 0);
    const available = sum(rs => rs.status?.availableReplicas ?? 0);
    const maxUnavailable = recreate
      ? 0
      : resolvePercent(
          d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%',
          desired,
          false,
        );
    const now = nowIso();
    const prev = d.status?.conditions;
    const complete =
      updated === desired &&
      replicas === desired &&
      available === desired &&
      (current.status?.availableReplicas ?? 0) === desired;
    const rsName = current.metadata.name;
    const prevProgress = (prev ?? []).find(
      (c: any) => c.type === 'Progressing',
    );
    const deadlineSeconds: number | undefined = d.spec?.progressDeadlineSeconds;
    // The deadline counts from when the rollout last made progress; a finished rollout starts the clock anew.
    const inProgress = ['ReplicaSetUpdated', 'NewReplicaSetCreated'].includes(
      prevProgress?.reason,
    );
    const progressingSince = inProgress
      ? Date.parse(prevProgress.lastUpdateTime)
      : Date.now();
    const timedOut =
      !complete &&
      !created &&
      deadlineSeconds !== undefined &&
      (prevProgress?.reason === 'ProgressDeadlineExceeded' ||
        Date.now() - progressingSince >= deadlineSeconds * 1000);
    let progressing;
    if (timedOut) {
      progressing = condition(
        prev,
        'Progressing',
        'False',
        'ProgressDeadlineExceeded',
        `ReplicaSet "${rsName}" has timed out progressing.`,
        now,
      );
    } else if (complete) {
      progressing = condition(
        prev,
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${rsName}" has successfully progressed.`,
        now,
      );
    } else if (created) {
      progressing = condition(
        prev,
        'Progressing',
        'True',
        'NewReplicaSetCreated',
        `Created new replica set "${rsName}"`,
        now,
      );
    } else {
      progressing = condition(
        prev,
        'Progressing',
        'True',
        'ReplicaSetUpdated',
        `ReplicaSet "${rsName}" is progressing.`,
        now,
      );
    }
    const conditions = [
      available >= desired - maxUnavailable
        ? condition(
            prev,
            'Available',
            'True',
            'MinimumReplicasAvailable',
            'Deployment has minimum availability.',
            now,
          )
        : condition(
            prev,
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
            now,
          ),
      progressing,
    ];
    if (!complete && !timedOut && deadlineSeconds !== undefined) {
      const updatedAt = Date.parse(progressing.lastUpdateTime);
      this.requeueAfter(
        `deployments/${ns}/${name}`,
        Math.max(0, updatedAt + deadlineSeconds * 1000 - Date.now()) + 50,
      );
    }
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(Math.max(0, Math.max(replicas, desired) - available)
        ? {
            unavailableReplicas: Math.max(
              0,
              Math.max(replicas, desired) - available,
            ),
          }
        : {}),
      conditions,
    };
    const revision =
      current.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const newRevision =
      !!revision &&
      d.metadata.annotations?.['deployment.kubernetes.io/revision'] !==
        revision;
    if (newRevision || !deepEqual(d.status, status)) {
      // As the real controller: the revision annotation goes with a status update, so it does not
      // bump metadata.generation.
      const next = deepClone(d);
      next.status = status;
      if (newRevision) {
        next.metadata.annotations = {
          ...next.metadata.annotations,
          'deployment.kubernetes.io/revision': revision,
        };
      }
      this.api.commitUpdate(
        this.t.deployments,
        d,
        next,
        this.ctx,
        'status',
        'Update',
      );
    }
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
        if (
          !this.createPod(rs, this.podFromTemplate(rs, {}), this.t.replicasets)
        ) {
          failure = 'FailedCreate';
          break;
        }
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
      const prev = (rs.status?.conditions ?? []).find(
        (c: any) => c.type === 'ReplicaFailure',
      );
      status.conditions = [
        {
          type: 'ReplicaFailure',
          status: 'True',
          lastTransitionTime: prev?.lastTransitionTime ?? now,
          reason: 'FailedCreate',
          message:
            'pods could not be created; see the FailedCreate events of this ReplicaSet',
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
    const pods = this.owned(this.t.pods, job);
    const succeeded = pods.filter(p => p.status?.phase === 'Succeeded').length;
    const failed = pods.filter(p => p.status?.phase === 'Failed').length;
    const active = pods.filter(
      p => !['Succeeded', 'Failed'].includes(p.status?.phase),
    );
    const completions: number = job.spec?.completions ?? 1;
    const parallelism: number = job.spec?.parallelism ?? 1;
    const done = succeeded >= completions;
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
