import { ExecutionResult, Plan } from '@kubechart/plugin-assistant-common';
import { NodeMetricsList, PodMetricsList } from '@kubernetes/client-node';
import { clusterAnswerOf } from './clusterAnswer';
import { KubeObject } from './tables';

const METRICS_API = '/apis/metrics.k8s.io/v1beta1';

/**
 * Why the metrics API could not be read, as the user is told it: a cluster that answers 404 does
 * not serve it (metrics-server is not installed); else what it answered, as every other error of
 * the cluster is told (`clusterAnswerOf`: a Status's message, or the HTTP status and the answer's
 * text, bounded and scrubbed, never the answer's headers, which the client's error message holds).
 */
function metricsFailure(error: unknown): string {
  if ((error as { code?: unknown } | undefined)?.code === 404) {
    return 'The metrics API is not available on this cluster (metrics-server is not installed).';
  }
  const said =
    clusterAnswerOf(error) ?? (error as Error)?.message ?? String(error);
  return `The metrics API (metrics-server) did not answer: ${said}`;
}

/**
 * kubectl top: current CPU and memory from the metrics API, sorted and capped
 * like kubectl's table. The metrics API is read with `reads.get`, the GET every
 * other read of the plan goes through, so it is given up with them at the
 * deadline (client-node's `Metrics` sends its requests without a signal).
 */
export async function topTable(
  plan: Plan,
  reads: {
    /** GETs the JSON at an API path (`/apis/metrics.k8s.io/v1beta1/nodes`). */
    get(path: string): Promise<unknown>;
    list(plan: Plan): Promise<KubeObject[]>;
    namespace: string | undefined;
    maxRows: number;
  },
): Promise<ExecutionResult> {
  let rows: Array<{
    namespace?: string;
    name: string;
    cpu: number;
    memory: number;
  }>;
  try {
    if (plan.resource === 'nodes') {
      const metrics = (await reads.get(
        `${METRICS_API}/nodes`,
      )) as NodeMetricsList;
      rows = metrics.items.map(m => ({
        name: m.metadata.name,
        cpu: cpuCores(m.usage.cpu),
        memory: bytes(m.usage.memory),
      }));
    } else {
      const metrics = (await reads.get(
        reads.namespace
          ? `${METRICS_API}/namespaces/${encodeURIComponent(
              reads.namespace,
            )}/pods`
          : `${METRICS_API}/pods`,
      )) as PodMetricsList;
      let items = metrics.items;
      if (plan.labelSelector) {
        const pods = await reads.list(plan);
        const names = new Set(
          pods.map(p => `${p.metadata?.namespace}/${p.metadata?.name}`),
        );
        items = items.filter(m =>
          names.has(`${m.metadata.namespace}/${m.metadata.name}`),
        );
      }
      rows = items.map(m => ({
        namespace: m.metadata.namespace,
        name: m.metadata.name,
        cpu: m.containers.reduce((n, c) => n + cpuCores(c.usage.cpu), 0),
        memory: m.containers.reduce((n, c) => n + bytes(c.usage.memory), 0),
      }));
    }
  } catch (error) {
    throw new Error(metricsFailure(error));
  }
  if (plan.name) rows = rows.filter(r => r.name === plan.name);
  if (plan.sortBy === 'cpu') rows.sort((a, b) => b.cpu - a.cpu);
  if (plan.sortBy === 'memory') rows.sort((a, b) => b.memory - a.memory);
  const cap = Math.min(plan.limit ?? Infinity, reads.maxRows);
  const withNamespace = plan.resource === 'pods' && !reads.namespace;
  const shown = rows.slice(0, cap);
  return {
    type: 'table',
    columns: [
      ...(withNamespace ? ['NAMESPACE'] : []),
      'NAME',
      'CPU(cores)',
      'MEMORY(bytes)',
    ],
    rows: shown.map(r => [
      ...(withNamespace ? [r.namespace ?? ''] : []),
      r.name,
      `${Math.round(r.cpu * 1000)}m`,
      `${Math.round(r.memory / (1024 * 1024))}Mi`,
    ]),
    totalRows: rows.length,
    ...(rows.length > shown.length
      ? { truncated: `Showing ${shown.length} of ${rows.length} rows.` }
      : {}),
  };
}

function cpuCores(quantity: string): number {
  if (quantity.endsWith('n')) return Number(quantity.slice(0, -1)) / 1e9;
  if (quantity.endsWith('u')) return Number(quantity.slice(0, -1)) / 1e6;
  if (quantity.endsWith('m')) return Number(quantity.slice(0, -1)) / 1e3;
  return Number(quantity) || 0;
}

const BYTE_UNITS: Record<string, number> = {
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

function bytes(quantity: string): number {
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity);
  if (!m) return 0;
  return Number(m[1]) * (BYTE_UNITS[m[2]] ?? 1);
}
