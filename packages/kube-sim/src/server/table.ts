import { ResourceType, typeId } from './resources';
import { KubeObject } from './types';

/** Whether a request's Accept header asks for `meta.k8s.io` Table output (what `kubectl get` sends). */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

type Column = {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  /** The real server's column description (empty where kube-sim has no recording of it). */
  description?: string;
  cell: (o: KubeObject) => unknown;
};

// Column descriptions as a v1.26 server sends them (../shared/reference/kube-api/metadata/05-*-as-Table.json).
const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names';
const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** `a=b,c in (d)`: a label selector as kubectl and the server print it. */
function selectorString(sel: any): string {
  if (!sel) return '<none>';
  const parts = Object.entries(sel.matchLabels ?? {}).map(
    ([k, v]) => `${k}=${v}`,
  );
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.sort().join(',') : '<none>';
}

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
  description: AGE_DESCRIPTION,
  cell: o => humanAge(o.metadata.creationTimestamp),
};
const name: Column = {
  name: 'Name',
  description: NAME_DESCRIPTION,
  cell: o => o.metadata.name,
};

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
      description:
        'The aggregate readiness state of this pod for accepting traffic.',
      cell: p => {
        const s: any[] = p.status?.containerStatuses ?? [];
        return `${s.filter(c => c.ready).length}/${
          (p.spec?.containers ?? []).length
        }`;
      },
    },
    {
      name: 'Status',
      description: 'The aggregate status of the containers in this pod.',
      cell: podStatus,
    },
    {
      name: 'Restarts',
      description:
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      cell: podRestarts,
    },
    age,
    {
      name: 'IP',
      priority: 1,
      description:
        'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      cell: p => p.status?.podIP ?? '<none>',
    },
    {
      name: 'Node',
      priority: 1,
      description:
        'NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.',
      cell: p => p.spec?.nodeName ?? '<none>',
    },
    {
      name: 'Nominated Node',
      priority: 1,
      description:
        'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
      cell: p => p.status?.nominatedNodeName ?? '<none>',
    },
    {
      name: 'Readiness Gates',
      priority: 1,
      description:
        'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
      cell: p => {
        const gates: any[] = p.spec?.readinessGates ?? [];
        if (!gates.length) return '<none>';
        const conditions: any[] = p.status?.conditions ?? [];
        const met = gates.filter(g =>
          conditions.some(
            c => c.type === g.conditionType && c.status === 'True',
          ),
        ).length;
        return `${met}/${gates.length}`;
      },
    },
  ],
  // All columns are declared `string`, the counts are JSON numbers all the same (as recorded).
  'deployments.apps': [
    name,
    {
      name: 'Ready',
      description: 'Number of the pod with ready state',
      cell: d => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
    },
    {
      name: 'Up-to-date',
      description:
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      cell: d => d.status?.updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      description:
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      cell: d => d.status?.availableReplicas ?? 0,
    },
    age,
    {
      name: 'Containers',
      priority: 1,
      description: 'Names of each container in the template.',
      cell: d =>
        (d.spec?.template?.spec?.containers ?? [])
          .map((c: any) => c.name)
          .join(','),
    },
    {
      name: 'Images',
      priority: 1,
      description: 'Images referenced by each container in the template.',
      cell: d =>
        (d.spec?.template?.spec?.containers ?? [])
          .map((c: any) => c.image)
          .join(','),
    },
    {
      name: 'Selector',
      priority: 1,
      description:
        'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      cell: d => selectorString(d.spec?.selector),
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

/** The value at a simple JSONPath (`.spec.size`, `.status.conditions[0].type`), or null. */
function jsonPathValue(o: unknown, path: string): unknown {
  let cur: any = o;
  for (const part of path.replace(/^\./, '').split('.')) {
    const m = part.match(/^([^[\]]*)((?:\[\d+\])*)$/);
    if (!m) return null;
    if (m[1]) cur = cur?.[m[1]];
    for (const i of m[2].match(/\d+/g) ?? []) cur = cur?.[Number(i)];
    if (cur === undefined) return null;
  }
  return cur;
}

/**
 * A custom resource's columns: Name, then its version's `additionalPrinterColumns` with the descriptions the
 * server gives them (crd/12-cr-list-as-table.json); dates print as ages, as kubectl shows them.
 */
function printerColumns(type: ResourceType): Column[] | undefined {
  const cols = type.custom?.printerColumns;
  if (!cols?.length) return undefined;
  return [
    name,
    ...cols.map(c => ({
      name: c.name,
      type: c.type,
      format: c.format,
      priority: c.priority,
      description:
        c.description ??
        `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      cell: (o: KubeObject) => {
        const v = jsonPathValue(o, c.jsonPath);
        return c.type === 'date' && typeof v === 'string' ? humanAge(v) : v;
      },
    })),
  ];
}

/** A row's `object`: `includeObject=None` null, `Object` the object, otherwise its PartialObjectMetadata. */
function rowObject(o: KubeObject, includeObject: string | undefined) {
  if (includeObject === 'None') return null;
  if (includeObject === 'Object') return o;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: o.metadata,
  };
}

/** Renders objects as a `meta.k8s.io/v1` Table: the columns `kubectl get` prints. */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  /** `includeObject`: `Metadata` (default) a PartialObjectMetadata per row, `Object` the object, `None` null. */
  includeObject?: string,
) {
  const columns = printerColumns(type) ??
    COLUMNS[typeId(type)] ?? [
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
      format: c === name ? 'name' : c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map(o => ({
      cells: columns.map(c => c.cell(o)),
      object: rowObject(o, includeObject),
    })),
  };
}
