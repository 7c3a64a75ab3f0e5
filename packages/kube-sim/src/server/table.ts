import { ResourceType, typeId } from './resources';
import { KubeObject } from './types';

/** Whether a request's Accept header asks for `meta.k8s.io` Table output (what `kubectl get` sends). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

type Column = {
  name: string;
  type?: 'string' | 'integer' | 'date';
  priority?: number;
  cell: (o: KubeObject) => unknown;
};

/** Human-readable age, as the API server prints it (`5s`, `3m12s`, `2d4h`). */
export function humanAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 && d < 8 ? `${d}d${h % 24}h` : `${d}d`;
}

const age: Column = {
  name: 'Age',
  cell: o => humanAge(o.metadata.creationTimestamp),
};
const name: Column = { name: 'Name', cell: o => o.metadata.name };

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const s of pod.status?.containerStatuses ?? []) {
    if (s.state?.waiting?.reason) return s.state.waiting.reason;
    if (s.state?.terminated?.reason && pod.status?.phase !== 'Succeeded')
      return s.state.terminated.reason;
  }
  if (pod.status?.phase === 'Succeeded') return 'Completed';
  return pod.status?.phase ?? 'Pending';
}

function podRestarts(pod: KubeObject): string {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const count = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
  const last = statuses
    .map(s => s.lastState?.terminated?.finishedAt)
    .filter(Boolean)
    .sort()
    .pop();
  return last && count ? `${count} (${humanAge(last)} ago)` : String(count);
}

function servicePorts(svc: KubeObject): string {
  const ports: any[] = svc.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports
    .map(
      p =>
        `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`,
    )
    .join(',');
}

const COLUMNS: Record<string, Column[]> = {
  pods: [
    name,
    {
      name: 'Ready',
      cell: p => {
        const s: any[] = p.status?.containerStatuses ?? [];
        return `${s.filter(c => c.ready).length}/${
          (p.spec?.containers ?? []).length
        }`;
      },
    },
    { name: 'Status', cell: podStatus },
    { name: 'Restarts', cell: podRestarts },
    age,
    { name: 'IP', priority: 1, cell: p => p.status?.podIP ?? '<none>' },
    { name: 'Node', priority: 1, cell: p => p.spec?.nodeName ?? '<none>' },
  ],
  'deployments.apps': [
    name,
    {
      name: 'Ready',
      cell: d => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      cell: d => d.status?.updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      cell: d => d.status?.availableReplicas ?? 0,
    },
    age,
    {
      name: 'Images',
      priority: 1,
      cell: d =>
        (d.spec?.template?.spec?.containers ?? [])
          .map((c: any) => c.image)
          .join(','),
    },
  ],
  'replicasets.apps': [
    name,
    { name: 'Desired', type: 'integer', cell: r => r.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', cell: r => r.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: r => r.status?.readyReplicas ?? 0 },
    age,
  ],
  'statefulsets.apps': [
    name,
    {
      name: 'Ready',
      cell: s => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`,
    },
    age,
  ],
  'daemonsets.apps': [
    name,
    {
      name: 'Desired',
      type: 'integer',
      cell: d => d.status?.desiredNumberScheduled ?? 0,
    },
    {
      name: 'Current',
      type: 'integer',
      cell: d => d.status?.currentNumberScheduled ?? 0,
    },
    { name: 'Ready', type: 'integer', cell: d => d.status?.numberReady ?? 0 },
    {
      name: 'Up-to-date',
      type: 'integer',
      cell: d => d.status?.updatedNumberScheduled ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      cell: d => d.status?.numberAvailable ?? 0,
    },
    age,
  ],
  'jobs.batch': [
    name,
    {
      name: 'Completions',
      cell: j => `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`,
    },
    age,
  ],
  services: [
    name,
    { name: 'Type', cell: s => s.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', cell: s => s.spec?.clusterIP ?? '<none>' },
    { name: 'External-IP', cell: () => '<none>' },
    { name: 'Port(s)', cell: servicePorts },
    age,
  ],
  nodes: [
    name,
    {
      name: 'Status',
      cell: n => {
        const ready = (n.status?.conditions ?? []).find(
          (c: any) => c.type === 'Ready',
        );
        const base = ready?.status === 'True' ? 'Ready' : 'NotReady';
        return n.spec?.unschedulable ? `${base},SchedulingDisabled` : base;
      },
    },
    { name: 'Roles', cell: () => '<none>' },
    age,
    { name: 'Version', cell: n => n.status?.nodeInfo?.kubeletVersion ?? '' },
  ],
  namespaces: [
    name,
    { name: 'Status', cell: n => n.status?.phase ?? 'Active' },
    age,
  ],
  configmaps: [
    name,
    {
      name: 'Data',
      type: 'integer',
      cell: c =>
        Object.keys(c.data ?? {}).length +
        Object.keys(c.binaryData ?? {}).length,
    },
    age,
  ],
  secrets: [
    name,
    { name: 'Type', cell: s => s.type ?? 'Opaque' },
    {
      name: 'Data',
      type: 'integer',
      cell: s => Object.keys(s.data ?? {}).length,
    },
    age,
  ],
  events: [
    { name: 'Last Seen', cell: e => humanAge(e.lastTimestamp ?? e.eventTime) },
    { name: 'Type', cell: e => e.type },
    { name: 'Reason', cell: e => e.reason },
    {
      name: 'Object',
      cell: e =>
        `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${
          e.involvedObject?.name ?? ''
        }`,
    },
    { name: 'Message', cell: e => e.message },
  ],
};

/** Renders objects as a `meta.k8s.io/v1` Table: the columns `kubectl get` prints. */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
) {
  const columns = COLUMNS[typeId(type)] ?? [
    name,
    {
      name: 'Created At',
      type: 'date',
      cell: o => o.metadata.creationTimestamp,
    },
  ];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map(c => ({
      name: c.name,
      type: c.type ?? 'string',
      format: c === name ? 'name' : '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map(o => ({
      cells: columns.map(c => c.cell(o)),
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: o.metadata,
      },
    })),
  };
}
