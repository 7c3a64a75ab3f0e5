import { MAX_SELECTOR_REQUIREMENTS } from '../labels';
import { MAX_MESSAGES_PER_RESULT, moreMessages } from '../messages';
import { MAX_SELECTOR_STEPS, objectIndex } from '../objectIndex';
import { mainContainersOf, runsToCompletion } from '../podSpec';
import { PolicyRule } from '../types';
import { groupOf, perContainer } from './util';

const PDB_KINDS = ['PodDisruptionBudget'];
const PDB_WORKLOAD_KINDS = ['Deployment', 'StatefulSet'];

/** Why the PodDisruptionBudget rules did not compare everything (fail closed). */
const OVER_BUDGET = `the manifest's PodDisruptionBudgets and workloads need more than the ${MAX_SELECTOR_STEPS} label comparisons one policy check makes; split it into smaller runs`;

/** `PodDisruptionBudget/a, PodDisruptionBudget/b and 3 more`. */
const pdbNames = (names: string[]) => {
  const shown = names
    .slice(0, MAX_MESSAGES_PER_RESULT)
    .map(n => `PodDisruptionBudget/${n}`)
    .join(', ');
  return names.length > MAX_MESSAGES_PER_RESULT
    ? `${shown} and ${names.length - MAX_MESSAGES_PER_RESULT} more`
    : shown;
};

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
      runsToCompletion(obj)
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
      const name = obj.metadata?.name;
      const hpa =
        typeof name === 'string'
          ? objectIndex(ctx).autoscalerOf(ctx.namespaceOf(obj), name)
          : undefined;
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
      const index = objectIndex(ctx);
      const tooLarge: string[] = [];
      for (const pdb of index.ofKinds(PDB_KINDS, ctx.namespaceOf(obj))) {
        const selects = index.selects(pdb, obj);
        if (selects) return [];
        if (selects !== undefined) continue;
        if (index.selectorBudgetSpent())
          return [
            `whether a PodDisruptionBudget in its namespace selects its pods is not checked: ${OVER_BUDGET}`,
          ];
        tooLarge.push(String(pdb.metadata?.name));
      }
      return [
        `no PodDisruptionBudget in its namespace selects its pods${
          tooLarge.length
            ? ` (${pdbNames(tooLarge)} ${
                tooLarge.length === 1 ? 'has a selector' : 'have selectors'
              } too large to evaluate)`
            : ''
        }`,
      ];
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
      const index = objectIndex(ctx);
      const { requirements } = index.pdbSelector(obj);
      if (requirements > MAX_SELECTOR_REQUIREMENTS)
        return [
          `its selector has ${requirements} requirements, more than the ${MAX_SELECTOR_REQUIREMENTS} the policy evaluates: which pods it covers is not checked`,
        ];
      const { maxUnavailable, minAvailable } = obj.spec ?? {};
      if (isZero(maxUnavailable))
        return [
          `maxUnavailable is ${maxUnavailable}: no pod may ever be evicted`,
        ];
      if (minAvailable === '100%')
        return ['minAvailable is 100%: no pod may ever be evicted'];
      if (typeof minAvailable !== 'number') return [];
      const out: string[] = [];
      let more = 0;
      for (const w of index.ofKinds(PDB_WORKLOAD_KINDS, ctx.namespaceOf(obj))) {
        const replicas = index.replicas(w);
        if (minAvailable < replicas) continue;
        const selects = index.selects(obj, w);
        if (selects === undefined) {
          out.unshift(
            `which workloads it selects is not checked: ${OVER_BUDGET}`,
          );
          break;
        }
        if (!selects) continue;
        // Counted, not written, past the messages a result shows.
        if (out.length < MAX_MESSAGES_PER_RESULT)
          out.push(
            `minAvailable ${minAvailable} is not below the ${replicas} replica(s) of ${w.kind}/${w.metadata?.name}`,
          );
        else more++;
      }
      return more ? [...out, moreMessages(more)] : out;
    },
  },
];

function mainAndInit(spec: any): any[] {
  return [
    ...(Array.isArray(spec?.initContainers) ? spec.initContainers : []),
    ...(Array.isArray(spec?.containers) ? spec.containers : []),
  ].filter(c => c && typeof c === 'object');
}
