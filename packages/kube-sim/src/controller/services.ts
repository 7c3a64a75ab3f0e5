import { KubeApi } from '../server/api';
import { parseQuantity } from '../server/quantity';
import { ResourceType } from '../server/resources';
import {
  matchesLabels,
  selectorObjectToRequirements,
} from '../server/selectors';
import { deepClone, deepEqual, KubeObject, nowIso } from '../server/types';
import { transitionedCondition } from './conditions';
import { isPodReady, Kubelets } from './kubelet';

/** The endpoints controller and a read-only horizontal pod autoscaler (it reports, it does not scale). */
export class ServiceControllers {
  private readonly t: Record<string, ResourceType>;
  private readonly ctx = { manager: 'kube-controller-manager' };

  constructor(
    private readonly api: KubeApi,
    private readonly kubelets: Kubelets,
  ) {
    const f = (g: string, v: string, p: string) => api.registry.find(g, v, p)!;
    this.t = {
      pods: f('', 'v1', 'pods'),
      services: f('', 'v1', 'services'),
      endpoints: f('', 'v1', 'endpoints'),
      hpas: f('autoscaling', 'v2', 'horizontalpodautoscalers'),
      deployments: f('apps', 'v1', 'deployments'),
      statefulsets: f('apps', 'v1', 'statefulsets'),
      replicasets: f('apps', 'v1', 'replicasets'),
    };
  }

  /** Keeps the Endpoints of a Service in step with the pods its selector matches. */
  reconcileEndpoints(ns: string, name: string) {
    const svc = this.api.tryGet(this.t.services, ns, name);
    const existing = this.api.tryGet(this.t.endpoints, ns, name);
    if (!svc || !svc.spec?.selector || svc.spec.type === 'ExternalName') {
      if (existing && !svc) this.api.delete(this.t.endpoints, ns, name, {});
      return;
    }
    const reqs = Object.entries<string>(svc.spec.selector).map(
      ([key, value]) => ({
        op: 'in' as const,
        key,
        values: [value],
      }),
    );
    const pods = this.api
      .select(this.t.pods, ns, { labels: reqs })
      .filter(p => p.status?.podIP && !p.metadata.deletionTimestamp);
    const address = (p: KubeObject) => ({
      ip: p.status!.podIP,
      nodeName: p.spec?.nodeName,
      targetRef: {
        kind: 'Pod',
        namespace: ns,
        name: p.metadata.name,
        uid: p.metadata.uid,
      },
    });
    const ready = pods.filter(isPodReady).map(address);
    const notReady = pods.filter(p => !isPodReady(p)).map(address);
    const ports = (svc.spec.ports ?? []).map((sp: any) => {
      let port = sp.targetPort ?? sp.port;
      if (typeof port === 'string') {
        const named = pods
          .flatMap(p => p.spec?.containers ?? [])
          .flatMap((c: any) => c.ports ?? [])
          .find((cp: any) => cp.name === port);
        port = named?.containerPort ?? sp.port;
      }
      return {
        ...(sp.name ? { name: sp.name } : {}),
        port,
        protocol: sp.protocol ?? 'TCP',
      };
    });
    const subsets =
      pods.length === 0
        ? undefined
        : [
            {
              ...(ready.length ? { addresses: ready } : {}),
              ...(notReady.length ? { notReadyAddresses: notReady } : {}),
              ports,
            },
          ];
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns, labels: svc.metadata.labels },
      ...(subsets ? { subsets } : {}),
    };
    if (!existing) {
      this.api.create(this.t.endpoints, ns, body, this.ctx);
      return;
    }
    if (
      deepEqual(existing.subsets, body.subsets) &&
      deepEqual(existing.metadata.labels, body.metadata.labels)
    )
      return;
    const next = deepClone(existing);
    next.metadata.labels = body.metadata.labels;
    if (subsets) next.subsets = subsets;
    else delete next.subsets;
    this.api.commitUpdate(
      this.t.endpoints,
      existing,
      next,
      this.ctx,
      undefined,
      'Update',
    );
  }

  /** Reports current replicas and CPU utilization of an HPA's target; it never changes the target's scale. */
  reconcileHpa(ns: string, name: string) {
    const hpa = this.api.tryGet(this.t.hpas, ns, name);
    if (!hpa) return;
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const targetType = (
      {
        Deployment: this.t.deployments,
        StatefulSet: this.t.statefulsets,
        ReplicaSet: this.t.replicasets,
      } as Record<string, ResourceType>
    )[ref.kind];
    const target = targetType
      ? this.api.tryGet(targetType, ns, ref.name)
      : undefined;
    const now = nowIso();
    const prev: any[] = hpa.status?.conditions ?? [];
    const cond = (
      type: string,
      status: string,
      reason: string,
      message: string,
    ) => transitionedCondition(prev, type, status, reason, message, now);
    let status: Record<string, unknown>;
    if (!target) {
      status = {
        currentReplicas: 0,
        desiredReplicas: 0,
        conditions: [
          cond(
            'AbleToScale',
            'False',
            'FailedGetScale',
            `the HPA controller was unable to get the target's current scale: ${ref.kind?.toLowerCase()}s "${
              ref.name
            }" not found`,
          ),
        ],
      };
    } else {
      const pods = this.api
        .select(this.t.pods, ns, {
          labels: selectorObjectToRequirements(target.spec?.selector),
        })
        .filter(p => p.status?.phase === 'Running');
      let used = 0;
      let requested = 0;
      for (const p of pods) {
        for (const c of p.spec?.containers ?? []) {
          const req = parseQuantity(c.resources?.requests?.cpu);
          if (Number.isNaN(req)) continue;
          requested += req;
          used += this.kubelets.containerUsage(p, c).cpu;
        }
      }
      const current = target.status?.replicas ?? 0;
      const min = hpa.spec?.minReplicas ?? 1;
      const max = hpa.spec?.maxReplicas ?? current;
      const desired = Math.min(max, Math.max(min, current));
      const cpuMetric = (hpa.spec?.metrics ?? []).find(
        (m: any) => m.type === 'Resource' && m.resource?.name === 'cpu',
      );
      status = {
        currentReplicas: current,
        desiredReplicas: desired,
        ...(cpuMetric && requested > 0 && pods.length > 0
          ? {
              currentMetrics: [
                {
                  type: 'Resource',
                  resource: {
                    name: 'cpu',
                    current: {
                      averageValue: `${Math.round(
                        (used / pods.length) * 1000,
                      )}m`,
                      averageUtilization: Math.round((used / requested) * 100),
                    },
                  },
                },
              ],
            }
          : {}),
        conditions: [
          cond(
            'AbleToScale',
            'True',
            'ReadyForNewScale',
            'recommended size matches current size',
          ),
          requested > 0
            ? cond(
                'ScalingActive',
                'True',
                'ValidMetricFound',
                'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
              )
            : cond(
                'ScalingActive',
                'False',
                'FailedGetResourceMetric',
                'the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu',
              ),
          cond(
            'ScalingLimited',
            current < min || current > max ? 'True' : 'False',
            current < min ? 'TooFewReplicas' : 'DesiredWithinRange',
            current < min
              ? 'the desired replica count is less than the minimum replica count'
              : 'the desired count is within the acceptable range',
          ),
        ],
      };
    }
    if (deepEqual(hpa.status, status)) return;
    const next = deepClone(hpa);
    next.status = status;
    this.api.commitUpdate(this.t.hpas, hpa, next, this.ctx, 'status', 'Update');
  }

  servicesSelecting(
    ns: string,
    labels: Record<string, string> | undefined,
  ): string[] {
    return this.api
      .select(this.t.services, ns)
      .filter(
        s =>
          s.spec?.selector &&
          matchesLabels(
            labels,
            Object.entries<string>(s.spec.selector).map(([key, value]) => ({
              op: 'in' as const,
              key,
              values: [value],
            })),
          ),
      )
      .map(s => s.metadata.name!);
  }

  hpasTargeting(ns: string, kind: string, name: string): string[] {
    return this.api
      .select(this.t.hpas, ns)
      .filter(
        h =>
          h.spec?.scaleTargetRef?.kind === kind &&
          h.spec?.scaleTargetRef?.name === name,
      )
      .map(h => h.metadata.name!);
  }
}
