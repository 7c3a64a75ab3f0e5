import { BuiltinAdmission } from '../server/admission';
import { KubeApi } from '../server/api';
import { POD_SECURITY_LABEL_PREFIX } from '../server/podSecurity';
import { formatQuantity } from '../server/quantity';
import { ResourceType, typeId } from '../server/resources';
import { StoreEvent } from '../server/store';
import { deepClone, deepEqual, KubeObject, nowIso } from '../server/types';
import { transitionedCondition } from './conditions';
import { EventRecorder } from './events';
import { Kubelets } from './kubelet';
import { ServiceControllers } from './services';
import { WorkloadControllers } from './workloads';

/** Pods the scheduler binds per pass; the rest wait for the next pass (API requests run in between). */
const SCHEDULE_BATCH = 1000;

/** Finalizers the garbage collector owns: Orphan and Foreground deletes. */
const GC_FINALIZERS = new Set(['orphan', 'foregroundDeletion']);

export interface ControllerOptions {
  podReadyDelayMs: number;
  podTerminationDelayMs: number;
  crashLoopBackoffMs: number;
  namespaceDeletionDelayMs: number;
  jobRunMs: number;
}

const OWNER_KINDS: Record<string, string> = {
  ReplicaSet: 'replicasets.apps',
  StatefulSet: 'statefulsets.apps',
  DaemonSet: 'daemonsets.apps',
  Job: 'jobs.batch',
  Deployment: 'deployments.apps',
};

/** Default node status for nodes created without one: what a registering kubelet reports. */
export function readyNodeStatus(
  name: string,
  index: number,
  cpu = '4',
  memoryGi = 16,
) {
  const memKi = memoryGi * 1024 * 1024;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (
    type: string,
    status: string,
    reason: string,
    message: string,
  ) => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    capacity: {
      cpu,
      memory: `${memKi}Ki`,
      pods: '110',
      'ephemeral-storage': '102350Mi',
    },
    allocatable: {
      cpu: formatQuantity('cpu', Number(cpu) - 0.1),
      memory: `${memKi - 512 * 1024}Ki`,
      pods: '110',
      'ephemeral-storage': '94327Mi',
    },
    conditions: [
      cond(
        'MemoryPressure',
        'False',
        'KubeletHasSufficientMemory',
        'kubelet has sufficient memory available',
      ),
      cond(
        'DiskPressure',
        'False',
        'KubeletHasNoDiskPressure',
        'kubelet has no disk pressure',
      ),
      cond(
        'PIDPressure',
        'False',
        'KubeletHasSufficientPID',
        'kubelet has sufficient PID available',
      ),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      {
        type: 'InternalIP',
        address: `10.0.${(index >> 8) & 255}.${(index & 255) + 10}`,
      },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '6.1.0-kube-sim',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.7.13',
      kubeletVersion: 'v1.26.1',
      kubeProxyVersion: 'v1.26.1',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/**
 * The simulated control plane: reacts to store changes like kube-controller-manager, the scheduler
 * and the kubelets would, through the same API layer clients use.
 */
export class Controller {
  readonly kubelets: Kubelets;
  private readonly workloads: WorkloadControllers;
  private readonly services: ServiceControllers;
  private readonly events: EventRecorder;
  private readonly queue = new Map<string, () => void>();
  private readonly pendingPods = new Map<string, KubeObject>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private scheduled = false;
  private unsubscribe?: () => void;
  private nodeCounter = 0;
  private readonly t: Record<string, ResourceType>;

  constructor(
    private readonly api: KubeApi,
    private readonly admission: BuiltinAdmission,
    private readonly opts: ControllerOptions,
    private readonly caPem = '',
  ) {
    this.events = new EventRecorder(api);
    this.kubelets = new Kubelets(api, this.events, opts);
    this.workloads = new WorkloadControllers(api, this.events, (key, ms) =>
      this.after(ms, () => {
        const [, ns, name] = key.split('/');
        this.enqueue(`d|${ns}/${name}`, () =>
          this.workloads.reconcileDeployment(ns, name),
        );
      }),
    );
    this.services = new ServiceControllers(api, this.kubelets);
    const f = (g: string, p: string) => api.registry.find(g, 'v1', p)!;
    this.t = {
      pods: f('', 'pods'),
      nodes: f('', 'nodes'),
      namespaces: f('', 'namespaces'),
      resourcequotas: f('', 'resourcequotas'),
      events: f('', 'events'),
    };
  }

  start() {
    this.unsubscribe = this.api.store.subscribe(e => this.onEvent(e));
    // Pick up whatever is already stored (a seed written before start).
    for (const t of this.api.registry.types) {
      if (t.virtual) continue;
      for (const o of this.api.store.list(t)) {
        this.onEvent({ rv: 0, typeId: typeId(t), type: 'ADDED', object: o });
      }
    }
  }

  stop() {
    this.unsubscribe?.();
    this.kubelets.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.clear();
  }

  private enqueue(key: string, fn: () => void) {
    this.queue.set(key, fn);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private after(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch {
        // The object changed under us; its next event reconciles it again.
      }
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  private flush() {
    this.scheduled = false;
    if (!this.unsubscribe) return;
    // At most SCHEDULE_BATCH pods per pass: each is weighed against every node, so 50,000 pods on
    // 1,000 nodes in one pass would hold the event loop (and every API request) for a minute.
    const pending: KubeObject[] = [];
    for (const [uid, pod] of this.pendingPods) {
      if (pending.length >= SCHEDULE_BATCH) break;
      pending.push(pod);
      this.pendingPods.delete(uid);
    }
    try {
      this.kubelets.schedule(pending);
    } catch {
      // Scheduling is retried on the next node or pod change.
    }
    let rounds = 0;
    while (this.queue.size && rounds++ < 20) {
      const work = [...this.queue.values()];
      this.queue.clear();
      for (const fn of work) {
        try {
          fn();
        } catch {
          // A conflict or a vanished object: the event that caused it will come round again.
        }
      }
    }
    if (this.queue.size || this.pendingPods.size) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private onEvent(e: StoreEvent) {
    const o = e.object;
    const ns = o.metadata.namespace;
    const name = o.metadata.name!;
    if (e.typeId === 'events') return;
    if (
      e.type !== 'DELETED' &&
      o.metadata.deletionTimestamp &&
      (o.metadata.finalizers ?? []).some(f => GC_FINALIZERS.has(f))
    ) {
      this.enqueue(`propagate|${e.typeId}|${ns ?? ''}/${name}`, () =>
        this.finishPropagation(e.typeId, ns, name),
      );
    }
    switch (e.typeId) {
      case 'deployments.apps':
        this.enqueue(`d|${ns}/${name}`, () =>
          this.workloads.reconcileDeployment(ns!, name),
        );
        this.requeueHpas(ns!, 'Deployment', name);
        break;
      case 'replicasets.apps':
        this.enqueue(`rs|${ns}/${name}`, () =>
          this.workloads.reconcileReplicaSet(ns!, name),
        );
        break;
      case 'statefulsets.apps':
        this.enqueue(`sts|${ns}/${name}`, () =>
          this.workloads.reconcileStatefulSet(ns!, name),
        );
        this.requeueHpas(ns!, 'StatefulSet', name);
        break;
      case 'daemonsets.apps':
        this.enqueue(`ds|${ns}/${name}`, () =>
          this.workloads.reconcileDaemonSet(ns!, name),
        );
        break;
      case 'jobs.batch':
        this.enqueue(`job|${ns}/${name}`, () =>
          this.workloads.reconcileJob(ns!, name),
        );
        break;
      case 'pods':
        this.onPod(e);
        this.requeueServices(ns!, o.metadata.labels, e.old?.metadata.labels);
        break;
      case 'services':
        this.enqueue(`svc|${ns}/${name}`, () =>
          this.services.reconcileEndpoints(ns!, name),
        );
        break;
      case 'horizontalpodautoscalers.autoscaling':
        this.enqueue(`hpa|${ns}/${name}`, () =>
          this.services.reconcileHpa(ns!, name),
        );
        break;
      case 'nodes':
        this.onNode(e);
        break;
      case 'namespaces':
        if (e.type === 'ADDED' && !o.metadata.deletionTimestamp) {
          this.enqueue(`nsinit|${name}`, () => this.initNamespace(name));
        }
        if (o.metadata.deletionTimestamp && e.type !== 'DELETED') {
          this.enqueue(`ns|${name}`, () => this.finalizeNamespace(name));
        }
        if (e.type === 'MODIFIED' && podSecurityLabelsChanged(e.old, o)) {
          this.retryPodCreation(name);
        }
        break;
      default:
        break;
    }
    // Owners hear about their dependents (ReplicaSet → Deployment, Pod → ReplicaSet, …).
    for (const ref of o.metadata.ownerReferences ?? []) {
      if (!ref.controller) continue;
      this.requeueOwner(ref.kind, ns, ref.name);
    }
    if (e.type === 'DELETED') {
      this.enqueue(`gc|${o.metadata.uid}`, () => this.collectDependents(o));
    }
    this.requeueForegroundOwners(e);
    if (ns && e.typeId !== 'events') {
      if (e.typeId === 'resourcequotas' && e.type !== 'DELETED') {
        this.enqueue(`quota|${ns}`, () => this.updateQuotas(ns));
      } else if (this.api.store.list(this.t.resourcequotas, ns).length > 0) {
        this.enqueue(`quota|${ns}`, () => this.updateQuotas(ns));
      }
    }
  }

  /**
   * Pod Security labels changed: the workload controllers try again to create the pods admission refused
   * (a real controller retries them with back-off, so relaxing the level lets them through).
   */
  private retryPodCreation(ns: string) {
    const kinds: Array<[string, string, (n: string) => void]> = [
      ['replicasets', 'rs', n => this.workloads.reconcileReplicaSet(ns, n)],
      ['statefulsets', 'sts', n => this.workloads.reconcileStatefulSet(ns, n)],
      ['daemonsets', 'ds', n => this.workloads.reconcileDaemonSet(ns, n)],
    ];
    for (const [plural, prefix, reconcile] of kinds) {
      for (const o of this.api.store.list(
        this.api.registry.find('apps', 'v1', plural)!,
        ns,
      )) {
        const name = o.metadata.name!;
        this.enqueue(`${prefix}|${ns}/${name}`, () => reconcile(name));
      }
    }
    for (const o of this.api.store.list(
      this.api.registry.find('batch', 'v1', 'jobs')!,
      ns,
    )) {
      const name = o.metadata.name!;
      this.enqueue(`job|${ns}/${name}`, () =>
        this.workloads.reconcileJob(ns, name),
      );
    }
  }

  private requeueServices(
    ns: string,
    labels: Record<string, string> | undefined,
    oldLabels: Record<string, string> | undefined,
  ) {
    const names = new Set([
      ...this.services.servicesSelecting(ns, labels),
      ...(oldLabels ? this.services.servicesSelecting(ns, oldLabels) : []),
    ]);
    for (const name of names) {
      this.enqueue(`svc|${ns}/${name}`, () =>
        this.services.reconcileEndpoints(ns, name),
      );
    }
  }

  private requeueHpas(ns: string, kind: string, name: string) {
    for (const hpa of this.services.hpasTargeting(ns, kind, name)) {
      this.enqueue(`hpa|${ns}/${hpa}`, () =>
        this.services.reconcileHpa(ns, hpa),
      );
    }
  }

  private requeueOwner(kind: string, ns: string | undefined, name: string) {
    const id = OWNER_KINDS[kind];
    if (!id || !ns) return;
    if (id === 'deployments.apps')
      this.enqueue(`d|${ns}/${name}`, () =>
        this.workloads.reconcileDeployment(ns, name),
      );
    if (id === 'replicasets.apps')
      this.enqueue(`rs|${ns}/${name}`, () =>
        this.workloads.reconcileReplicaSet(ns, name),
      );
    if (id === 'statefulsets.apps')
      this.enqueue(`sts|${ns}/${name}`, () =>
        this.workloads.reconcileStatefulSet(ns, name),
      );
    if (id === 'daemonsets.apps')
      this.enqueue(`ds|${ns}/${name}`, () =>
        this.workloads.reconcileDaemonSet(ns, name),
      );
    if (id === 'jobs.batch')
      this.enqueue(`job|${ns}/${name}`, () =>
        this.workloads.reconcileJob(ns, name),
      );
  }

  private onPod(e: StoreEvent) {
    const pod = e.object;
    if (e.type === 'DELETED') {
      this.kubelets.forget(pod.metadata.uid!);
      this.pendingPods.delete(pod.metadata.uid!);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      // A graceful delete of a bound pod: its kubelet stops the containers, then removes it.
      if (
        pod.spec?.nodeName &&
        (pod.metadata.deletionGracePeriodSeconds ?? 0) > 0
      )
        this.enqueue(`kubelet-stop|${pod.metadata.uid}`, () =>
          this.kubelets.terminate(pod),
        );
      return;
    }
    if (!pod.spec?.nodeName) {
      this.pendingPods.set(pod.metadata.uid!, pod);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    } else if (!pod.status?.startTime) {
      this.enqueue(`kubelet|${pod.metadata.uid}`, () =>
        this.kubelets.start(pod),
      );
    }
  }

  private onNode(e: StoreEvent) {
    const node = e.object;
    if (e.type === 'ADDED' && !(node.status?.conditions ?? []).length) {
      this.enqueue(`node|${node.metadata.name}`, () => {
        const current = this.api.tryGet(
          this.t.nodes,
          undefined,
          node.metadata.name!,
        );
        if (!current || (current.status?.conditions ?? []).length) return;
        const next = deepClone(current);
        next.status = {
          ...readyNodeStatus(node.metadata.name!, ++this.nodeCounter),
          ...(current.status ?? {}),
        };
        next.status.conditions = readyNodeStatus(
          node.metadata.name!,
          this.nodeCounter,
        ).conditions;
        this.api.commitUpdate(
          this.t.nodes,
          current,
          next,
          { manager: 'kubelet' },
          'status',
          'Update',
        );
      });
    }
    // Node changes may make pending pods schedulable and change where DaemonSets run.
    for (const p of this.api.store.list(this.t.pods)) {
      if (!p.spec?.nodeName && !p.metadata.deletionTimestamp)
        this.pendingPods.set(p.metadata.uid!, p);
    }
    const ds = this.api.registry.find('apps', 'v1', 'daemonsets')!;
    for (const d of this.api.store.list(ds)) {
      this.requeueOwner('DaemonSet', d.metadata.namespace, d.metadata.name!);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Orphan and Foreground deletes, as the real garbage collector: Orphan removes the owner from its
   * dependents' ownerReferences; Foreground deletes the dependents (one that has dependents of its own
   * with Foreground too, so it waits for them in turn) and keeps the owner until every dependent that
   * blocks it (`blockOwnerDeletion`) is gone (delete/01-deployment-delete-foreground-sequence.json: the
   * ReplicaSet held by `foregroundDeletion` while its pods go). Then the finalizer goes, and the owner
   * with it. A dependent's deletion requeues this (see {@link requeueForegroundOwners}).
   */
  private finishPropagation(id: string, ns: string | undefined, name: string) {
    const type = this.api.registry.types.find(t => typeId(t) === id);
    if (!type) return;
    const obj = this.api.tryGet(type, ns, name);
    if (!obj || !obj.metadata.deletionTimestamp) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (finalizers.includes('orphan')) this.api.orphanDependents(obj);
    let blocked = false;
    if (finalizers.includes('foregroundDeletion')) {
      for (const dep of this.api.store.dependentsOf(obj.metadata.uid!)) {
        const depType = this.api.registry.types.find(
          t => typeId(t) === dep.typeId,
        );
        const d = this.api.store.getById(dep.typeId, dep.key);
        if (!depType || !d) continue;
        const ref = (d.metadata.ownerReferences ?? []).find(
          r => r.uid === obj.metadata.uid,
        );
        if (ref?.blockOwnerDeletion) blocked = true;
        if (d.metadata.deletionTimestamp) continue;
        const hasDependents =
          this.api.store.dependentsOf(d.metadata.uid!).length > 0;
        try {
          this.api.delete(depType, d.metadata.namespace, d.metadata.name!, {
            propagationPolicy: hasDependents ? 'Foreground' : undefined,
          });
        } catch {
          // Already deleted.
        }
      }
    }
    const kept = blocked
      ? finalizers.filter(f => f !== 'orphan')
      : finalizers.filter(f => !GC_FINALIZERS.has(f));
    if (kept.length === finalizers.length) return;
    const next = deepClone(obj);
    next.metadata.finalizers = kept;
    this.api.commitUpdate(
      type,
      obj,
      next,
      { manager: 'kube-controller-manager' },
      undefined,
      'Update',
    );
  }

  /**
   * A dependent that went, or stopped naming an owner, may unblock that owner's Foreground delete: its
   * owners held by `foregroundDeletion` are looked at again.
   */
  private requeueForegroundOwners(e: StoreEvent) {
    const refs = [
      ...(e.type === 'DELETED' ? e.object.metadata.ownerReferences ?? [] : []),
      ...(e.old?.metadata.ownerReferences ?? []).filter(
        r =>
          !(e.object.metadata.ownerReferences ?? []).some(n => n.uid === r.uid),
      ),
    ];
    for (const ref of refs) {
      const type = this.api.registry.byApiVersionKind(ref.apiVersion, ref.kind);
      if (!type) continue;
      const ns = type.namespaced ? e.object.metadata.namespace : undefined;
      const owner = this.api.tryGet(type, ns, ref.name);
      if (
        owner?.metadata.uid === ref.uid &&
        owner.metadata.deletionTimestamp &&
        owner.metadata.finalizers?.includes('foregroundDeletion')
      ) {
        this.enqueue(`propagate|${typeId(type)}|${ns ?? ''}/${ref.name}`, () =>
          this.finishPropagation(typeId(type), ns, ref.name),
        );
      }
    }
  }

  /** Garbage collection: dependents whose every owner is gone are deleted (background propagation). */
  private collectDependents(owner: KubeObject) {
    for (const dep of this.api.store.dependentsOf(owner.metadata.uid!)) {
      const type = this.api.registry.types.find(t => typeId(t) === dep.typeId);
      const obj = this.api.store.getById(dep.typeId, dep.key);
      if (!type || !obj) continue;
      const remaining = (obj.metadata.ownerReferences ?? []).filter(
        r => r.uid !== owner.metadata.uid && this.ownerExists(r.uid, obj),
      );
      if (remaining.length === 0) {
        try {
          this.api.delete(type, obj.metadata.namespace, obj.metadata.name!, {});
        } catch {
          // Already deleted.
        }
      } else if (
        remaining.length !== (obj.metadata.ownerReferences ?? []).length
      ) {
        const next = deepClone(obj);
        next.metadata.ownerReferences = remaining;
        this.api.commitUpdate(
          type,
          obj,
          next,
          { manager: 'kube-controller-manager' },
          undefined,
          'Update',
        );
      }
    }
  }

  private ownerExists(uid: string, dependent: KubeObject): boolean {
    const ref = (dependent.metadata.ownerReferences ?? []).find(
      r => r.uid === uid,
    );
    if (!ref) return false;
    const [group, version] = ref.apiVersion.includes('/')
      ? ref.apiVersion.split('/')
      : ['', ref.apiVersion];
    const type = this.api.registry.types.find(
      t => t.group === group && t.version === version && t.kind === ref.kind,
    );
    if (!type) return true;
    const owner = this.api.tryGet(type, dependent.metadata.namespace, ref.name);
    return !!owner && owner.metadata.uid === uid;
  }

  /** What the service-account and root-CA publishers put in every new namespace. */
  private initNamespace(name: string) {
    const sa = this.api.registry.find('', 'v1', 'serviceaccounts')!;
    const cm = this.api.registry.find('', 'v1', 'configmaps')!;
    const ctx = { manager: 'kube-controller-manager' };
    try {
      if (!this.api.tryGet(sa, name, 'default')) {
        this.api.create(sa, name, { metadata: { name: 'default' } }, ctx);
      }
      if (!this.api.tryGet(cm, name, 'kube-root-ca.crt')) {
        this.api.create(
          cm,
          name,
          {
            metadata: {
              name: 'kube-root-ca.crt',
              annotations: {
                'kubernetes.io/description':
                  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
              },
            },
            data: { 'ca.crt': this.caPem },
          },
          ctx,
        );
      }
    } catch {
      // The namespace went away again.
    }
  }

  /**
   * Namespace deletion, as the real namespace controller: `namespaceDeletionDelayMs` after the DELETE (the
   * recorded one acted after about 5 s; until then the content is untouched, delete/namespace/05-*), everything
   * in it is deleted (objects with finalizers are only marked, and stay until their finalizers are removed,
   * bound pods until their kubelet has stopped them), and the namespace goes once nothing is left. While content
   * remains, the namespace carries the five deletion conditions of the real namespace controller and is checked
   * again every `namespaceDeletionDelayMs` (../shared/reference/kube-api/delete/namespace/04-*, 05-*).
   */
  private finalizeNamespace(name: string) {
    const deleteContent = () => {
      for (const t of this.api.registry.types) {
        if (!t.namespaced || t.virtual) continue;
        for (const o of this.api.store.list(t, name)) {
          if (t === this.t.pods) {
            // Pods are deleted gracefully: bound ones stay until their kubelet has stopped them.
            if (!o.metadata.deletionTimestamp) {
              try {
                this.api.delete(t, name, o.metadata.name!, {});
              } catch {
                // Gone meanwhile.
              }
            }
          } else if ((o.metadata.finalizers ?? []).length === 0) {
            this.api.removeNow(t, o);
          } else if (!o.metadata.deletionTimestamp) {
            try {
              this.api.delete(t, name, o.metadata.name!, {});
            } catch {
              // Gone meanwhile.
            }
          }
        }
      }
    };
    const check = () => {
      const ns = this.api.tryGet(this.t.namespaces, undefined, name);
      if (!ns || !ns.metadata.deletionTimestamp) return;
      deleteContent();
      const remaining = new Map<string, number>();
      const finalizers = new Map<string, number>();
      for (const t of this.api.registry.types) {
        if (!t.namespaced || t.virtual) continue;
        for (const o of this.api.store.list(t, name)) {
          const key = `${t.plural}.${t.group}`;
          remaining.set(key, (remaining.get(key) ?? 0) + 1);
          for (const f of o.metadata.finalizers ?? [])
            finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
        }
      }
      if (remaining.size === 0) {
        this.api.removeNow(this.t.namespaces, ns);
        return;
      }
      this.setNamespaceDeletionConditions(ns, remaining, finalizers);
      this.after(this.opts.namespaceDeletionDelayMs, check);
    };
    this.after(this.opts.namespaceDeletionDelayMs, check);
  }

  private setNamespaceDeletionConditions(
    ns: KubeObject,
    remaining: Map<string, number>,
    finalizers: Map<string, number>,
  ) {
    const counts = (m: Map<string, number>, word: string) =>
      [...m.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, n]) => `${k}${word}${n} resource instances`)
        .join(', ');
    const wanted = [
      [
        'NamespaceDeletionDiscoveryFailure',
        'False',
        'ResourcesDiscovered',
        'All resources successfully discovered',
      ],
      [
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
      ],
      [
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
      ],
      [
        'NamespaceContentRemaining',
        'True',
        'SomeResourcesRemain',
        `Some resources are remaining: ${counts(remaining, ' has ')}`,
      ],
      finalizers.size
        ? [
            'NamespaceFinalizersRemaining',
            'True',
            'SomeFinalizersRemain',
            `Some content in the namespace has finalizers remaining: ${counts(
              finalizers,
              ' in ',
            )}`,
          ]
        : [
            'NamespaceFinalizersRemaining',
            'False',
            'ContentHasNoFinalizers',
            'All content-preserving finalizers finished',
          ],
    ];
    const old: any[] = ns.status?.conditions ?? [];
    const now = nowIso();
    const conditions = wanted.map(([type, status, reason, message]) =>
      transitionedCondition(old, type, status, reason, message, now),
    );
    if (deepEqual(old, conditions)) return;
    const next = deepClone(ns);
    next.status = { ...(next.status ?? {}), conditions };
    this.api.commitUpdate(
      this.t.namespaces,
      ns,
      next,
      { manager: 'kube-controller-manager' },
      'status',
      'Update',
    );
  }

  private updateQuotas(ns: string) {
    const quotas = this.api.store.list(this.t.resourcequotas, ns);
    if (quotas.length === 0) return;
    const used = this.admission.usageIn(ns);
    for (const q of quotas) {
      const hard: Record<string, string> = q.spec?.hard ?? {};
      const status = {
        hard: { ...hard },
        used: Object.fromEntries(
          Object.keys(hard).map(r => [r, formatQuantity(r, used[r] ?? 0)]),
        ),
      };
      if (deepEqual(q.status, status)) continue;
      const next = deepClone(q);
      next.status = status;
      this.api.commitUpdate(
        this.t.resourcequotas,
        q,
        next,
        { manager: 'kube-controller-manager' },
        'status',
        'Update',
      );
    }
  }
}

/** Whether an update changed a namespace's `pod-security.kubernetes.io/*` labels. */
function podSecurityLabelsChanged(
  old: KubeObject | undefined,
  next: KubeObject,
): boolean {
  const pick = (o: KubeObject | undefined) =>
    Object.entries(o?.metadata.labels ?? {})
      .filter(([k]) => k.startsWith(POD_SECURITY_LABEL_PREFIX))
      .sort(([a], [b]) => (a < b ? -1 : 1));
  return !deepEqual(pick(old), pick(next));
}
