import { createHash } from 'node:crypto';
import { podResources } from '../server/admission';
import { KubeApi } from '../server/api';
import { formatBytes, formatCpu, parseQuantity } from '../server/quantity';
import { ResourceType } from '../server/resources';
import { errors } from '../server/status';
import { deepClone, KubeObject, nowIso } from '../server/types';
import { EventRecorder } from './events';

/** How a container image behaves in the simulation, decided by its tag. */
export type ImageBehaviour = 'ok' | 'crashloop' | 'imagepull-fail';

export function imageBehaviour(image: string): ImageBehaviour {
  const last = image.split('/').pop() ?? '';
  const tag = last.includes(':') ? last.split(':').pop() : '';
  if (tag === 'crashloop') return 'crashloop';
  if (tag === 'imagepull-fail') return 'imagepull-fail';
  return 'ok';
}

export interface KubeletOptions {
  podReadyDelayMs: number;
  podTerminationDelayMs: number;
  crashLoopBackoffMs: number;
  jobRunMs: number;
}

/** A stable number in [0, 1) from a string, so metrics and logs do not jump around. */
export function stableFraction(s: string): number {
  return createHash('md5').update(s).digest().readUInt32BE(0) / 2 ** 32;
}

function podReady(pod: KubeObject) {
  return (pod.status?.conditions ?? []).some(
    (c: any) => c.type === 'Ready' && c.status === 'True',
  );
}

export function isPodReady(pod: KubeObject) {
  return podReady(pod);
}

function fullImage(image: string) {
  const withTag = image.split('/').pop()!.includes(':')
    ? image
    : `${image}:latest`;
  if (withTag.split('/').length === 1) return `docker.io/library/${withTag}`;
  return withTag;
}

/**
 * The scheduler, kubelets and metrics server of the simulated cluster: binds pods to nodes,
 * walks them through Pending → Running/Ready (or CrashLoopBackOff / ErrImagePull), writes
 * kubelet Events, and derives usage from requests.
 */
export class Kubelets {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Pods whose containers are being stopped after a graceful delete. */
  private readonly terminating = new Set<string>();
  private readonly podsT: ResourceType;
  private readonly nodesT: ResourceType;
  private stopped = false;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    private readonly opts: KubeletOptions,
  ) {
    this.podsT = api.registry.find('', 'v1', 'pods')!;
    this.nodesT = api.registry.find('', 'v1', 'nodes')!;
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  forget(uid: string) {
    this.terminating.delete(uid);
    const t = this.timers.get(uid);
    if (t) clearTimeout(t);
    this.timers.delete(uid);
    this.events.forget(uid);
  }

  private later(uid: string, ms: number, fn: () => void) {
    if (this.stopped) return;
    const prev = this.timers.get(uid);
    if (prev) clearTimeout(prev);
    const t = setTimeout(() => {
      this.timers.delete(uid);
      try {
        fn();
      } catch {
        // The pod changed or went away in between; the next event reconciles it.
      }
    }, ms);
    t.unref?.();
    this.timers.set(uid, t);
  }

  private current(pod: KubeObject) {
    const p = this.api.tryGet(
      this.podsT,
      pod.metadata.namespace,
      pod.metadata.name!,
    );
    return p && p.metadata.uid === pod.metadata.uid ? p : undefined;
  }

  private writeStatus(pod: KubeObject, status: Record<string, unknown>) {
    const next = deepClone(pod);
    next.status = status;
    return this.api.commitUpdate(
      this.podsT,
      pod,
      next,
      { manager: 'kubelet' },
      'status',
      'Update',
    );
  }

  private readyNodes(): KubeObject[] {
    return this.api.store
      .list(this.nodesT)
      .filter(
        n =>
          !n.spec?.unschedulable &&
          (n.status?.conditions ?? []).some(
            (c: any) => c.type === 'Ready' && c.status === 'True',
          ),
      );
  }

  /** Binds unscheduled pods to the least-loaded node that fits their requests. */
  schedule(pending: KubeObject[]) {
    if (pending.length === 0) return;
    const nodes = this.readyNodes();
    const used = new Map<
      string,
      { cpu: number; memory: number; pods: number }
    >();
    // Each node's allocatable, parsed once per pass (not once per pod and node: 50,000 pods on
    // 1,000 nodes would parse 150 million quantities).
    const caps = new Map<
      string,
      { cpu: number; memory: number; pods: number }
    >();
    for (const n of nodes) {
      used.set(n.metadata.name!, { cpu: 0, memory: 0, pods: 0 });
      const alloc = n.status?.allocatable ?? {};
      caps.set(n.metadata.name!, {
        cpu: parseQuantity(alloc.cpu ?? '0'),
        memory: parseQuantity(alloc.memory ?? '0'),
        pods: parseQuantity(alloc.pods ?? '110'),
      });
    }
    for (const p of this.api.store.list(this.podsT)) {
      const u = p.spec?.nodeName ? used.get(p.spec.nodeName) : undefined;
      if (!u || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')
        continue;
      const r = podResources(p, 'requests');
      u.cpu += r.cpu ?? 0;
      u.memory += r.memory ?? 0;
      u.pods += 1;
    }
    for (const stale of pending) {
      const pod = this.current(stale);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp)
        continue;
      const req = podResources(pod, 'requests');
      const selector = Object.entries<string>(pod.spec?.nodeSelector ?? {});
      const reasons: Record<string, number> = {};
      let best: { node: KubeObject; score: number } | undefined;
      for (const n of nodes) {
        const u = used.get(n.metadata.name!)!;
        const cap = caps.get(n.metadata.name!)!;
        const cpuCap = cap.cpu;
        const memCap = cap.memory;
        const podCap = cap.pods;
        if (selector.some(([k, v]) => n.metadata.labels?.[k] !== v)) {
          reasons["node(s) didn't match Pod's node affinity/selector"] =
            (reasons["node(s) didn't match Pod's node affinity/selector"] ??
              0) + 1;
          continue;
        }
        if (u.cpu + (req.cpu ?? 0) > cpuCap + 1e-9) {
          reasons['Insufficient cpu'] = (reasons['Insufficient cpu'] ?? 0) + 1;
          continue;
        }
        if (u.memory + (req.memory ?? 0) > memCap) {
          reasons['Insufficient memory'] =
            (reasons['Insufficient memory'] ?? 0) + 1;
          continue;
        }
        if (u.pods + 1 > podCap) {
          reasons['Too many pods'] = (reasons['Too many pods'] ?? 0) + 1;
          continue;
        }
        const score =
          (u.cpu / (cpuCap || 1) + u.memory / (memCap || 1)) / 2 +
          u.pods / podCap / 10;
        if (!best || score < best.score) best = { node: n, score };
      }
      if (!best) {
        const message = `0/${nodes.length} nodes are available: ${
          Object.entries(reasons)
            .map(([r, c]) => `${c} ${r}`)
            .sort()
            .join(', ') || 'no nodes available to schedule pods'
        }. preemption: 0/${nodes.length} nodes are available.`;
        const already = (pod.status?.conditions ?? []).find(
          (c: any) => c.type === 'PodScheduled',
        );
        if (already?.message !== message) {
          this.writeStatus(pod, {
            ...pod.status,
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                lastProbeTime: null,
                lastTransitionTime: nowIso(),
                reason: 'Unschedulable',
                message,
              },
            ],
          });
          this.events.record(pod, 'Warning', 'FailedScheduling', message, {
            component: 'default-scheduler',
          });
        }
        continue;
      }
      const nodeName = best.node.metadata.name!;
      const u = used.get(nodeName)!;
      u.cpu += req.cpu ?? 0;
      u.memory += req.memory ?? 0;
      u.pods += 1;
      const bound = deepClone(pod);
      bound.spec.nodeName = nodeName;
      const written = this.api.commitUpdate(
        this.podsT,
        pod,
        bound,
        { manager: 'kube-scheduler' },
        undefined,
        'Update',
      );
      this.events.record(
        written,
        'Normal',
        'Scheduled',
        `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
        { component: 'default-scheduler' },
      );
      this.start(written);
    }
  }

  /**
   * A graceful delete of a bound pod, as its kubelet handles it: `Killing` events, then (after
   * `podTerminationDelayMs`, within the grace period) the containers are reported terminated and not ready,
   * and the pod is deleted with grace 0, which removes it from the API.
   */
  terminate(stale: KubeObject) {
    const pod = this.current(stale);
    const uid = stale.metadata.uid!;
    if (!pod || this.terminating.has(uid)) return;
    // No kubelet runs on a node that does not exist: the pod stays Terminating (delete/10-*, bound to
    // `fake-node-1` on a server without kubelets).
    if (!this.api.tryGet(this.nodesT, undefined, pod.spec?.nodeName ?? ''))
      return;
    this.terminating.add(uid);
    const host = pod.spec?.nodeName;
    for (const c of pod.spec?.containers ?? []) {
      this.events.record(
        pod,
        'Normal',
        'Killing',
        `Stopping container ${c.name}`,
        { component: 'kubelet', host },
        `spec.containers{${c.name}}`,
      );
    }
    const grace = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    // Replaces any start, restart or job timer of the pod: nothing else happens to it now.
    this.later(uid, Math.min(this.opts.podTerminationDelayMs, grace), () =>
      this.containersStopped(pod),
    );
  }

  private containersStopped(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod) return;
    const now = nowIso();
    const containers: any[] = pod.spec?.containers ?? [];
    let written = pod;
    if (pod.status?.startTime) {
      const statuses = (pod.status.containerStatuses ?? []).map((s: any) => {
        const startedAt = s.state?.running?.startedAt;
        return {
          ...s,
          ready: false,
          started: false,
          state: startedAt
            ? {
                terminated: {
                  exitCode: 0,
                  reason: 'Completed',
                  startedAt,
                  finishedAt: now,
                  ...(s.containerID ? { containerID: s.containerID } : {}),
                },
              }
            : s.state,
        };
      });
      const conditions = (pod.status.conditions ?? []).map((c: any) =>
        (c.type === 'Ready' || c.type === 'ContainersReady') &&
        c.status === 'True'
          ? cond(
              c.type,
              'False',
              now,
              'ContainersNotReady',
              notReadyMessage(containers),
            )
          : c,
      );
      written = this.writeStatus(pod, {
        ...pod.status,
        conditions,
        containerStatuses: statuses,
      });
    }
    this.api.delete(
      this.podsT,
      written.metadata.namespace,
      written.metadata.name!,
      {
        gracePeriodSeconds: 0,
        preconditions: { uid: written.metadata.uid },
      },
    );
  }

  /** Starts a bound pod: containers are created, then after the configured delay run (or fail). */
  start(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod || !pod.spec?.nodeName || pod.status?.startTime) return;
    const node = this.api.tryGet(this.nodesT, undefined, pod.spec.nodeName);
    // No kubelet runs on a node that does not exist: the pod stays Pending (delete/10-*).
    if (!node) return;
    const now = nowIso();
    const containers: any[] = pod.spec.containers ?? [];
    const written = this.writeStatus(pod, {
      ...pod.status,
      phase: 'Pending',
      conditions: [
        cond('Initialized', 'True', now),
        cond(
          'Ready',
          'False',
          now,
          'ContainersNotReady',
          notReadyMessage(containers),
        ),
        cond(
          'ContainersReady',
          'False',
          now,
          'ContainersNotReady',
          notReadyMessage(containers),
        ),
        cond('PodScheduled', 'True', now),
      ],
      hostIP: internalIp(node),
      startTime: now,
      containerStatuses: containers.map(c => ({
        name: c.name,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: c.image,
        imageID: '',
        started: false,
      })),
    });
    const host = pod.spec.nodeName;
    for (const c of containers) {
      this.events.record(
        written,
        'Normal',
        'Pulling',
        `Pulling image "${c.image}"`,
        { component: 'kubelet', host },
        `spec.containers{${c.name}}`,
      );
    }
    this.later(pod.metadata.uid!, this.opts.podReadyDelayMs, () =>
      this.run(written),
    );
  }

  private run(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod) return;
    const host = pod.spec.nodeName;
    const containers: any[] = pod.spec.containers ?? [];
    const now = nowIso();
    const job = pod.spec.restartPolicy !== 'Always';
    const statuses = containers.map(c => {
      const behaviour = imageBehaviour(String(c.image ?? ''));
      const fieldPath = `spec.containers{${c.name}}`;
      const src = { component: 'kubelet', host };
      if (behaviour === 'imagepull-fail') {
        const msg = `rpc error: code = NotFound desc = failed to pull and unpack image "${fullImage(
          c.image,
        )}": failed to resolve reference "${fullImage(c.image)}": ${fullImage(
          c.image,
        )}: not found`;
        this.events.record(
          pod,
          'Warning',
          'Failed',
          `Failed to pull image "${c.image}": ${msg}`,
          src,
          fieldPath,
        );
        this.events.record(
          pod,
          'Warning',
          'Failed',
          'Error: ErrImagePull',
          src,
          fieldPath,
        );
        return {
          name: c.name,
          state: { waiting: { reason: 'ErrImagePull', message: msg } },
          lastState: {},
          ready: false,
          restartCount: 0,
          image: c.image,
          imageID: '',
          started: false,
        };
      }
      this.events.record(
        pod,
        'Normal',
        'Pulled',
        `Successfully pulled image "${c.image}" in 1.2s (1.2s including waiting)`,
        src,
        fieldPath,
      );
      this.events.record(
        pod,
        'Normal',
        'Created',
        `Created container ${c.name}`,
        src,
        fieldPath,
      );
      this.events.record(
        pod,
        'Normal',
        'Started',
        `Started container ${c.name}`,
        src,
        fieldPath,
      );
      const base = {
        name: c.name,
        image: c.image,
        imageID: `${fullImage(c.image).split(':')[0]}@sha256:${createHash(
          'sha256',
        )
          .update(c.image)
          .digest('hex')}`,
        containerID: `containerd://${createHash('sha256')
          .update(`${pod.metadata.uid}${c.name}`)
          .digest('hex')}`,
      };
      if (behaviour === 'crashloop') {
        return {
          ...base,
          state: { running: { startedAt: now } },
          lastState: {},
          ready: false,
          restartCount: 0,
          started: true,
        };
      }
      return {
        ...base,
        state: { running: { startedAt: now } },
        lastState: {},
        ready: true,
        restartCount: 0,
        started: true,
      };
    });
    const allReady = statuses.every(s => s.ready);
    const anyPullFail = statuses.some(s => s.state.waiting);
    const conditions = [
      cond('Initialized', 'True', now),
      allReady
        ? cond('Ready', 'True', now)
        : cond(
            'Ready',
            'False',
            now,
            'ContainersNotReady',
            notReadyMessage(containers.filter((_, i) => !statuses[i].ready)),
          ),
      allReady
        ? cond('ContainersReady', 'True', now)
        : cond(
            'ContainersReady',
            'False',
            now,
            'ContainersNotReady',
            notReadyMessage(containers.filter((_, i) => !statuses[i].ready)),
          ),
      cond('PodScheduled', 'True', now),
    ];
    const written = this.writeStatus(pod, {
      ...pod.status,
      phase: anyPullFail ? 'Pending' : 'Running',
      conditions,
      podIP: podIp(pod),
      podIPs: [{ ip: podIp(pod) }],
      containerStatuses: statuses,
    });
    if (statuses.some(s => imageBehaviour(s.image) === 'crashloop')) {
      this.later(
        pod.metadata.uid!,
        Math.max(50, this.opts.crashLoopBackoffMs / 2),
        () => this.crash(written),
      );
    } else if (anyPullFail) {
      this.later(pod.metadata.uid!, this.opts.crashLoopBackoffMs, () =>
        this.pullBackOff(written, 1),
      );
    } else if (job) {
      this.later(pod.metadata.uid!, this.opts.jobRunMs, () =>
        this.complete(written),
      );
    }
  }

  /**
   * A crash-looping container exits, restarts with a growing back-off, and exits again; in a pod
   * with restartPolicy Never it is not restarted (see `exited`).
   */
  private crash(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod) return;
    if (pod.spec?.restartPolicy === 'Never') {
      this.exited(pod);
      return;
    }
    const now = nowIso();
    const host = pod.spec.nodeName;
    let restarts = 0;
    const statuses = (pod.status?.containerStatuses ?? []).map((s: any) => {
      if (imageBehaviour(s.image) !== 'crashloop') return s;
      const startedAt =
        s.state?.running?.startedAt ??
        s.lastState?.terminated?.finishedAt ??
        now;
      restarts = s.restartCount + 1;
      const backoffSec = Math.min(300, 10 * 2 ** Math.min(s.restartCount, 5));
      this.events.record(
        pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${s.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        { component: 'kubelet', host },
        `spec.containers{${s.name}}`,
      );
      return {
        ...s,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${backoffSec}s restarting failed container=${s.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        },
        lastState: {
          terminated: {
            exitCode: 1,
            reason: 'Error',
            startedAt,
            finishedAt: now,
            containerID: s.containerID,
          },
        },
        ready: false,
        restartCount: s.restartCount + 1,
        started: false,
      };
    });
    const written = this.writeStatus(pod, {
      ...pod.status,
      containerStatuses: statuses,
    });
    const delay = Math.min(
      this.opts.crashLoopBackoffMs * 2 ** Math.min(restarts - 1, 5),
      30 * this.opts.crashLoopBackoffMs,
    );
    this.later(pod.metadata.uid!, delay, () => this.restart(written));
  }

  private restart(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod) return;
    const now = nowIso();
    const host = pod.spec.nodeName;
    const statuses = (pod.status?.containerStatuses ?? []).map((s: any) => {
      if (imageBehaviour(s.image) !== 'crashloop') return s;
      this.events.record(
        pod,
        'Normal',
        'Pulled',
        `Container image "${s.image}" already present on machine`,
        { component: 'kubelet', host },
        `spec.containers{${s.name}}`,
      );
      return { ...s, state: { running: { startedAt: now } }, started: true };
    });
    const written = this.writeStatus(pod, {
      ...pod.status,
      containerStatuses: statuses,
    });
    this.later(
      pod.metadata.uid!,
      Math.max(50, this.opts.crashLoopBackoffMs / 2),
      () => this.crash(written),
    );
  }

  private pullBackOff(stale: KubeObject, attempt: number) {
    const pod = this.current(stale);
    if (!pod) return;
    const host = pod.spec.nodeName;
    const backOff = attempt % 2 === 1;
    const statuses = (pod.status?.containerStatuses ?? []).map((s: any) => {
      if (imageBehaviour(s.image) !== 'imagepull-fail') return s;
      const src = { component: 'kubelet', host };
      const fieldPath = `spec.containers{${s.name}}`;
      if (backOff) {
        this.events.record(
          pod,
          'Normal',
          'BackOff',
          `Back-off pulling image "${s.image}"`,
          src,
          fieldPath,
        );
        this.events.record(
          pod,
          'Warning',
          'Failed',
          'Error: ImagePullBackOff',
          src,
          fieldPath,
        );
        return {
          ...s,
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${s.image}"`,
            },
          },
        };
      }
      this.events.record(
        pod,
        'Warning',
        'Failed',
        'Error: ErrImagePull',
        src,
        fieldPath,
      );
      return {
        ...s,
        state: {
          waiting: {
            reason: 'ErrImagePull',
            message: `rpc error: code = NotFound desc = failed to pull and unpack image "${fullImage(
              s.image,
            )}": not found`,
          },
        },
      };
    });
    const written = this.writeStatus(pod, {
      ...pod.status,
      containerStatuses: statuses,
    });
    this.later(
      pod.metadata.uid!,
      this.opts.crashLoopBackoffMs * Math.min(2 ** Math.floor(attempt / 2), 30),
      () => this.pullBackOff(written, attempt + 1),
    );
  }

  /**
   * The crash-looping containers of a pod with restartPolicy Never exit with code 1 and stay
   * terminated; once every container has terminated the pod is `Failed`, which it never leaves.
   */
  private exited(pod: KubeObject) {
    const now = nowIso();
    const statuses = (pod.status?.containerStatuses ?? []).map((s: any) =>
      imageBehaviour(s.image) !== 'crashloop'
        ? s
        : {
            ...s,
            state: {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                startedAt: s.state?.running?.startedAt ?? now,
                finishedAt: now,
                containerID: s.containerID,
              },
            },
            ready: false,
            started: false,
          },
    );
    const failed = statuses.every((s: any) => s.state?.terminated);
    const unready = (pod.spec?.containers ?? []).filter(
      (c: any) => !statuses.find((s: any) => s.name === c.name)?.ready,
    );
    const notReady = (type: string) =>
      failed
        ? cond(type, 'False', now, 'PodFailed')
        : cond(
            type,
            'False',
            now,
            'ContainersNotReady',
            notReadyMessage(unready),
          );
    this.writeStatus(pod, {
      ...pod.status,
      ...(failed ? { phase: 'Failed' } : {}),
      conditions: (pod.status?.conditions ?? []).map((c: any) =>
        c.type === 'Ready' || c.type === 'ContainersReady'
          ? notReady(c.type)
          : c,
      ),
      containerStatuses: statuses,
    });
  }

  private complete(stale: KubeObject) {
    const pod = this.current(stale);
    if (!pod) return;
    const now = nowIso();
    const statuses = (pod.status?.containerStatuses ?? []).map((s: any) => ({
      ...s,
      state: {
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          startedAt: s.state?.running?.startedAt ?? now,
          finishedAt: now,
          containerID: s.containerID,
        },
      },
      ready: false,
      started: false,
    }));
    this.writeStatus(pod, {
      ...pod.status,
      phase: 'Succeeded',
      conditions: [
        cond('Initialized', 'True', now, 'PodCompleted'),
        cond('Ready', 'False', now, 'PodCompleted'),
        cond('ContainersReady', 'False', now, 'PodCompleted'),
        cond('PodScheduled', 'True', now),
      ],
      containerStatuses: statuses,
    });
  }

  /* ---------------- pods/log ---------------- */

  podLog(
    pod: KubeObject,
    container: string,
    opts: { previous: boolean; tailLines?: number },
  ): string[] {
    const status = (pod.status?.containerStatuses ?? []).find(
      (s: any) => s.name === container,
    );
    const spec = (pod.spec?.containers ?? []).find(
      (c: any) => c.name === container,
    );
    const waiting = status?.state?.waiting?.reason;
    if (opts.previous) {
      if (!status?.lastState?.terminated) {
        throw errors.badRequest(
          `previous terminated container "${container}" in pod "${pod.metadata.name}" not found`,
        );
      }
    } else if (!status || (waiting && waiting !== 'CrashLoopBackOff')) {
      throw errors.badRequest(
        `container "${container}" in pod "${
          pod.metadata.name
        }" is waiting to start: ${
          waiting === 'ErrImagePull' || waiting === 'ImagePullBackOff'
            ? 'trying and failing to pull image'
            : waiting ?? 'ContainerCreating'
        }`,
      );
    }
    const image = String(spec?.image ?? status?.image ?? '');
    const start =
      status?.state?.running?.startedAt ??
      status?.lastState?.terminated?.startedAt ??
      pod.status?.startTime ??
      nowIso();
    const t0 = Date.parse(start);
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const lines = [
      `${at(0)} INFO  starting ${container} (image ${image})`,
      `${at(0.2)} INFO  loaded configuration from environment`,
      `${at(0.4)} INFO  listening on :8080`,
    ];
    if (imageBehaviour(image) === 'crashloop') {
      lines.push(
        `${at(0.6)} INFO  connecting to database at db:5432`,
        `${at(
          1.6,
        )} ERROR dial tcp 10.96.0.42:5432: connect: connection refused`,
        `${at(
          1.7,
        )} FATAL could not reach the database after 3 attempts; exiting`,
        'panic: dial tcp 10.96.0.42:5432: connect: connection refused',
      );
    } else if (
      pod.status?.phase === 'Running' ||
      pod.status?.phase === 'Succeeded'
    ) {
      const n = 3 + Math.floor(stableFraction(pod.metadata.uid ?? '') * 5);
      for (let i = 1; i <= n; i++) {
        lines.push(`${at(5 * i)} INFO  GET /healthz 200 ${1 + (i % 3)}ms`);
      }
      if (pod.status?.phase === 'Succeeded')
        lines.push(`${at(5 * n + 1)} INFO  done`);
    }
    return opts.tailLines !== undefined && opts.tailLines >= 0
      ? lines.slice(Math.max(0, lines.length - opts.tailLines))
      : lines;
  }

  /* ---------------- metrics.k8s.io ---------------- */

  /** Simulated usage of one container: a stable 30–80% of its request (or a small default). */
  containerUsage(pod: KubeObject, c: any) {
    const f = 0.3 + 0.5 * stableFraction(`${pod.metadata.uid}/${c.name}`);
    const reqCpu = parseQuantity(
      c.resources?.requests?.cpu ?? c.resources?.limits?.cpu,
    );
    const reqMem = parseQuantity(
      c.resources?.requests?.memory ?? c.resources?.limits?.memory,
    );
    const cpu = Number.isNaN(reqCpu) ? 0.005 + 0.045 * f : reqCpu * f;
    const memory = Number.isNaN(reqMem) ? (20 + 60 * f) * 2 ** 20 : reqMem * f;
    return { cpu, memory: Math.round(memory / 1024) * 1024 };
  }

  podMetrics(pods: KubeObject[]): KubeObject[] {
    const now = nowIso();
    return pods
      .filter(p => p.status?.phase === 'Running')
      .map(p => ({
        kind: 'PodMetrics',
        apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: {
          name: p.metadata.name,
          namespace: p.metadata.namespace,
          creationTimestamp: now,
          labels: p.metadata.labels,
        },
        timestamp: now,
        window: '30s',
        containers: (p.spec?.containers ?? []).map((c: any) => {
          const u = this.containerUsage(p, c);
          return {
            name: c.name,
            usage: {
              cpu: `${Math.max(1, Math.round(u.cpu * 1e9))}n`,
              memory: `${u.memory / 1024}Ki`,
            },
          };
        }),
      }));
  }

  nodeMetrics(nodes: KubeObject[]): KubeObject[] {
    const now = nowIso();
    const usage = new Map<string, { cpu: number; memory: number }>();
    for (const p of this.api.store.list(this.podsT)) {
      if (p.status?.phase !== 'Running' || !p.spec?.nodeName) continue;
      const u = usage.get(p.spec.nodeName) ?? { cpu: 0, memory: 0 };
      for (const c of p.spec.containers ?? []) {
        const cu = this.containerUsage(p, c);
        u.cpu += cu.cpu;
        u.memory += cu.memory;
      }
      usage.set(p.spec.nodeName, u);
    }
    return nodes.map(n => {
      const u = usage.get(n.metadata.name!) ?? { cpu: 0, memory: 0 };
      return {
        kind: 'NodeMetrics',
        apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: {
          name: n.metadata.name,
          creationTimestamp: now,
          labels: n.metadata.labels,
        },
        timestamp: now,
        window: '20s',
        usage: {
          cpu: formatCpu(u.cpu + 0.1),
          memory: formatBytes(
            Math.round((u.memory + 512 * 2 ** 20) / 1024) * 1024,
          ),
        },
      };
    });
  }
}

function cond(
  type: string,
  status: string,
  time: string,
  reason?: string,
  message?: string,
) {
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: time,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

function notReadyMessage(containers: any[]) {
  return `containers with unready status: [${containers
    .map(c => c.name)
    .join(' ')}]`;
}

function internalIp(node: KubeObject | undefined) {
  return (
    (node?.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')
      ?.address ?? '10.0.0.1'
  );
}

function podIp(pod: KubeObject) {
  const h = createHash('md5')
    .update(pod.metadata.uid ?? '')
    .digest();
  return `10.244.${h[0]}.${(h[1] % 253) + 2}`;
}
