import { selectorMatches } from '../labels';
import { mainContainersOf, podLabelsOf, podSpecPath } from '../podSpec';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
import { groupOf, perContainer } from './util';

const RUN_TO_COMPLETION = new Set(['Job', 'CronJob']);
const isRunToCompletion = (obj: KubeObject) =>
  RUN_TO_COMPLETION.has(String(obj.kind)) ||
  podSpecPath(obj)?.[1] === 'jobTemplate';

/** PodDisruptionBudgets in the object's namespace that select its pods. */
function pdbsFor(obj: KubeObject, ctx: PolicyContext): KubeObject[] {
  const labels = podLabelsOf(obj);
  const ns = ctx.namespaceOf(obj);
  return ctx.objects.filter(
    o =>
      o?.kind === 'PodDisruptionBudget' &&
      ctx.namespaceOf(o) === ns &&
      // policy/v1: an empty selector selects every pod of the namespace; v1beta1: none.
      selectorMatches(o.spec?.selector, labels, o.apiVersion === 'policy/v1'),
  );
}

const isZero = (v: unknown) => v === 0 || v === '0' || v === '0%';

/** Reliability and efficiency rules (Polaris: requests/limits, probes, replicas, PDBs). */
export const reliabilityRules: PolicyRule[] = [
  {
    id: 'resource-requests',
    defaultSeverity: 'warning',
    description: 'containers request CPU and memory',
    fix: 'Set resources.requests.cpu and resources.requests.memory on every container.',
    check: obj =>
      perContainer(
        obj,
        c => {
          const missing = ['cpu', 'memory'].filter(
            r => c?.resources?.requests?.[r] === undefined,
          );
          return missing.length
            ? `missing requests: ${missing.join(', ')}`
            : undefined;
        },
        mainAndInit,
      ),
  },
  {
    id: 'resource-limits',
    defaultSeverity: 'warning',
    description: 'containers limit CPU and memory',
    fix: 'Set resources.limits.cpu and resources.limits.memory on every container.',
    check: obj =>
      perContainer(
        obj,
        c => {
          const missing = ['cpu', 'memory'].filter(
            r => c?.resources?.limits?.[r] === undefined,
          );
          return missing.length
            ? `missing limits: ${missing.join(', ')}`
            : undefined;
        },
        mainAndInit,
      ),
  },
  {
    id: 'probes',
    defaultSeverity: 'warning',
    description: 'long-running containers have liveness and readiness probes',
    fix: 'Add livenessProbe and readinessProbe (httpGet, tcpSocket or exec) to each container.',
    check: obj =>
      isRunToCompletion(obj)
        ? undefined
        : perContainer(
            obj,
            c => {
              const missing = ['livenessProbe', 'readinessProbe'].filter(
                p => !c?.[p],
              );
              return missing.length
                ? `missing ${missing.join(' and ')}`
                : undefined;
            },
            mainContainersOf,
          ),
  },
  {
    id: 'replicas',
    defaultSeverity: 'warning',
    description: 'Deployments run at least 2 replicas',
    fix: 'Set replicas (or replicaCount) to 2 or more, or use a HorizontalPodAutoscaler with minReplicas >= 2.',
    check: (obj, ctx) => {
      if (obj.kind !== 'Deployment') return undefined;
      const ns = ctx.namespaceOf(obj);
      const hpa = ctx.objects.find(
        o =>
          o?.kind === 'HorizontalPodAutoscaler' &&
          ctx.namespaceOf(o) === ns &&
          o.spec?.scaleTargetRef?.kind === 'Deployment' &&
          o.spec?.scaleTargetRef?.name === obj.metadata?.name,
      );
      if (hpa) {
        return (hpa.spec?.minReplicas ?? 1) >= 2
          ? []
          : ['HorizontalPodAutoscaler minReplicas < 2'];
      }
      const replicas = obj.spec?.replicas ?? 1;
      return replicas >= 2 ? [] : [`replicas is ${replicas}`];
    },
  },
  {
    id: 'pod-disruption-budget',
    defaultSeverity: 'warning',
    description:
      'Deployments and StatefulSets are covered by a PodDisruptionBudget in their namespace',
    fix: 'Add a PodDisruptionBudget in the same namespace whose selector (matchLabels/matchExpressions) matches the pod labels (e.g. minAvailable: 1).',
    check: (obj, ctx) => {
      if (obj.kind !== 'Deployment' && obj.kind !== 'StatefulSet')
        return undefined;
      return pdbsFor(obj, ctx).length
        ? []
        : ['no PodDisruptionBudget in its namespace selects its pods'];
    },
  },
  {
    id: 'pdb-allows-disruption',
    defaultSeverity: 'warning',
    description: 'PodDisruptionBudgets allow at least one pod to be evicted',
    fix: 'Use maxUnavailable: 1 (or minAvailable below the replica count) so node drains and upgrades can proceed.',
    check: (obj, ctx) => {
      if (
        obj.kind !== 'PodDisruptionBudget' ||
        groupOf(obj.apiVersion) !== 'policy'
      )
        return undefined;
      const { maxUnavailable, minAvailable } = obj.spec ?? {};
      if (isZero(maxUnavailable))
        return [
          `maxUnavailable is ${maxUnavailable}: no pod may ever be evicted`,
        ];
      if (minAvailable === '100%')
        return ['minAvailable is 100%: no pod may ever be evicted'];
      if (typeof minAvailable !== 'number') return [];
      const ns = ctx.namespaceOf(obj);
      const out: string[] = [];
      for (const w of ctx.objects) {
        if (
          (w?.kind !== 'Deployment' && w?.kind !== 'StatefulSet') ||
          ctx.namespaceOf(w) !== ns
        )
          continue;
        const replicas =
          typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1;
        if (
          minAvailable >= replicas &&
          selectorMatches(
            obj.spec?.selector,
            podLabelsOf(w),
            obj.apiVersion === 'policy/v1',
          )
        ) {
          out.push(
            `minAvailable ${minAvailable} is not below the ${replicas} replica(s) of ${w.kind}/${w.metadata?.name}`,
          );
        }
      }
      return out;
    },
  },
];

function mainAndInit(spec: any): any[] {
  return [
    ...(Array.isArray(spec?.initContainers) ? spec.initContainers : []),
    ...(Array.isArray(spec?.containers) ? spec.containers : []),
  ].filter(c => c && typeof c === 'object');
}
