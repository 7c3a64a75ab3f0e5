import {
  PlanFilter,
  PlanResource,
  PlanSortKey,
} from '@kubechart/plugin-assistant-common';
import { DateTime } from 'luxon';
import { TextStart, textStart } from '../redaction/redact';

/** A Kubernetes object as it comes off the wire. */
export type KubeObject = {
  metadata?: {
    name?: string;
    namespace?: string;
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind?: string; name?: string; uid?: string }>;
    generation?: number;
    uid?: string;
  };
  spec?: any;
  status?: any;
  [key: string]: any;
};

export function age(
  timestamp: string | Date | undefined,
  now = DateTime.now(),
): string {
  if (!timestamp) return '<unknown>';
  const then =
    timestamp instanceof Date
      ? DateTime.fromJSDate(timestamp)
      : DateTime.fromISO(String(timestamp));
  if (!then.isValid) return '<unknown>';
  const seconds = Math.max(0, Math.floor(now.diff(then, 'seconds').seconds));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function time(value: unknown): number {
  if (!value) return 0;
  const ms =
    value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isNaN(ms) ? 0 : ms;
}

type ContainerStatus = {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
};

function containerStatuses(pod: KubeObject): ContainerStatus[] {
  return (pod.status?.containerStatuses ?? []) as ContainerStatus[];
}

export function podRestarts(pod: KubeObject): number {
  return containerStatuses(pod).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/** What `kubectl get pods` shows in STATUS. */
export function podStatus(pod: KubeObject): string {
  if (pod.metadata && (pod.metadata as any).deletionTimestamp)
    return 'Terminating';
  for (const c of containerStatuses(pod)) {
    const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (reason && reason !== 'Completed') return reason;
  }
  return pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
}

function podReady(pod: KubeObject): string {
  const statuses = containerStatuses(pod);
  const total = statuses.length || (pod.spec?.containers?.length ?? 0);
  return `${statuses.filter(c => c.ready).length}/${total}`;
}

function isPodReady(pod: KubeObject): boolean {
  if (pod.status?.phase === 'Succeeded') return true;
  const statuses = containerStatuses(pod);
  return statuses.length > 0 && statuses.every(c => c.ready);
}

function conditionTrue(obj: KubeObject, type: string): boolean {
  return (obj.status?.conditions ?? []).some(
    (c: any) => c.type === type && c.status === 'True',
  );
}

function nodePressures(node: KubeObject): string[] {
  return (node.status?.conditions ?? [])
    .filter(
      (c: any) => /Pressure$|Unavailable$/.test(c.type) && c.status === 'True',
    )
    .map((c: any) => c.type);
}

function workloadReady(obj: KubeObject): boolean {
  const want = obj.spec?.replicas ?? obj.status?.desiredNumberScheduled ?? 1;
  const have =
    obj.status?.availableReplicas ??
    obj.status?.readyReplicas ??
    obj.status?.numberReady ??
    0;
  return have >= want;
}

/** Applies a plan's filter to listed objects. */
export function applyFilter(
  resource: PlanResource,
  items: KubeObject[],
  filter: PlanFilter | undefined,
): KubeObject[] {
  if (!filter) return items;
  switch (filter) {
    case 'crash-looping':
      return items.filter(o =>
        containerStatuses(o).some(
          c => c.state?.waiting?.reason === 'CrashLoopBackOff',
        ),
      );
    case 'restarting':
      return items.filter(o => podRestarts(o) > 0);
    case 'pending':
      return items.filter(o => o.status?.phase === 'Pending');
    case 'failed':
      if (resource === 'jobs') {
        return items.filter(
          o => (o.status?.failed ?? 0) > 0 || conditionTrue(o, 'Failed'),
        );
      }
      return items.filter(o => o.status?.phase === 'Failed');
    case 'pressure':
      return items.filter(
        o => nodePressures(o).length > 0 || !conditionTrue(o, 'Ready'),
      );
    case 'not-ready':
      if (resource === 'pods') return items.filter(o => !isPodReady(o));
      if (resource === 'nodes')
        return items.filter(o => !conditionTrue(o, 'Ready'));
      if (resource === 'jobs') return items.filter(o => !o.status?.succeeded);
      return items.filter(o => !workloadReady(o));
    default:
      return items;
  }
}

function eventTime(e: KubeObject): number {
  return Math.max(
    time(e.lastTimestamp),
    time(e.eventTime),
    time(e.firstTimestamp),
    time(e.metadata?.creationTimestamp),
  );
}

/** What a sort compares of each object, and how (undefined: the order they were read in). */
type SortOrder<K = any> = {
  key: (o: KubeObject) => K;
  compare: (a: K, b: K) => number;
};

/** How {@link applySort} orders objects: like kubectl, but the interesting end first. */
function sortOrder(
  resource: PlanResource,
  sortBy: PlanSortKey | undefined,
): SortOrder | undefined {
  switch (sortBy) {
    case 'restarts':
      return { key: podRestarts, compare: (a, b) => b - a };
    case 'age':
    case 'time':
      // An event's age is when it last happened, as kubectl's
      // `--sort-by=.lastTimestamp` shows it.
      return {
        key:
          resource === 'events'
            ? eventTime
            : o => time(o.metadata?.creationTimestamp),
        compare: (a, b) => b - a,
      };
    case 'name':
      return {
        key: o => o.metadata?.name ?? '',
        compare: (a, b) => a.localeCompare(b),
      };
    default:
      return undefined;
  }
}

/** Sorts like kubectl, but the interesting end first. */
export function applySort(
  resource: PlanResource,
  items: KubeObject[],
  sortBy: PlanSortKey | undefined,
): KubeObject[] {
  const order = sortOrder(resource, sortBy);
  if (!order) return [...items];
  return items
    .map(item => ({ item, key: order.key(item) }))
    .sort((a, b) => order.compare(a.key, b.key))
    .map(({ item }) => item);
}

type Column = { title: string; value: (o: KubeObject) => string };

const name: Column = { title: 'NAME', value: o => o.metadata?.name ?? '' };
const ageColumn: Column = {
  title: 'AGE',
  value: o => age(o.metadata?.creationTimestamp),
};

function ports(svc: KubeObject): string {
  return (
    (svc.spec?.ports ?? [])
      .map(
        (p: any) =>
          `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${
            p.protocol ?? 'TCP'
          }`,
      )
      .join(',') || '<none>'
  );
}

/** Endpoints named in a cell; the rest are counted, as kubectl does (`… + 5 more...`). */
const MAX_ENDPOINTS_SHOWN = 3;

/**
 * `10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...`: each ready address with each port, as kubectl
 * prints them, the first three named. Counted, not written out: 1,000 addresses by 3,000 ports are
 * three million endpoints.
 */
function endpointAddresses(ep: KubeObject): string {
  const out: string[] = [];
  let total = 0;
  for (const subset of ep.subsets ?? []) {
    const addresses: any[] = subset.addresses ?? [];
    const subsetPorts: any[] = subset.ports?.length ? subset.ports : [{}];
    total += addresses.length * subsetPorts.length;
    for (const address of addresses) {
      if (out.length >= MAX_ENDPOINTS_SHOWN) break;
      for (const port of subsetPorts) {
        if (out.length >= MAX_ENDPOINTS_SHOWN) break;
        out.push(port.port ? `${address.ip}:${port.port}` : address.ip);
      }
    }
  }
  if (!out.length) return '<none>';
  const rest = total - out.length;
  return `${out.join(',')}${rest > 0 ? ` + ${rest} more...` : ''}`;
}

const COLUMNS: Partial<Record<PlanResource, Column[]>> = {
  pods: [
    name,
    { title: 'READY', value: podReady },
    { title: 'STATUS', value: podStatus },
    { title: 'RESTARTS', value: o => String(podRestarts(o)) },
    ageColumn,
    { title: 'NODE', value: o => o.spec?.nodeName ?? '<none>' },
  ],
  deployments: [
    name,
    {
      title: 'READY',
      value: o => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    },
    { title: 'UP-TO-DATE', value: o => String(o.status?.updatedReplicas ?? 0) },
    {
      title: 'AVAILABLE',
      value: o => String(o.status?.availableReplicas ?? 0),
    },
    ageColumn,
  ],
  statefulsets: [
    name,
    {
      title: 'READY',
      value: o => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    },
    ageColumn,
  ],
  replicasets: [
    name,
    { title: 'DESIRED', value: o => String(o.spec?.replicas ?? 0) },
    { title: 'CURRENT', value: o => String(o.status?.replicas ?? 0) },
    { title: 'READY', value: o => String(o.status?.readyReplicas ?? 0) },
    ageColumn,
  ],
  daemonsets: [
    name,
    {
      title: 'DESIRED',
      value: o => String(o.status?.desiredNumberScheduled ?? 0),
    },
    { title: 'READY', value: o => String(o.status?.numberReady ?? 0) },
    ageColumn,
  ],
  services: [
    name,
    { title: 'TYPE', value: o => o.spec?.type ?? 'ClusterIP' },
    { title: 'CLUSTER-IP', value: o => o.spec?.clusterIP ?? '<none>' },
    { title: 'PORT(S)', value: ports },
    ageColumn,
  ],
  endpoints: [
    name,
    { title: 'ENDPOINTS', value: endpointAddresses },
    ageColumn,
  ],
  events: [
    {
      title: 'LAST SEEN',
      value: o => age(new Date(eventTime(o)).toISOString()),
    },
    { title: 'TYPE', value: o => o.type ?? '' },
    { title: 'REASON', value: o => o.reason ?? '' },
    {
      title: 'OBJECT',
      value: o =>
        `${(o.involvedObject?.kind ?? '').toLowerCase()}/${
          o.involvedObject?.name ?? ''
        }`,
    },
    { title: 'MESSAGE', value: o => o.message ?? '' },
  ],
  nodes: [
    name,
    {
      title: 'STATUS',
      value: o =>
        [
          conditionTrue(o, 'Ready') ? 'Ready' : 'NotReady',
          ...(o.spec?.unschedulable ? ['SchedulingDisabled'] : []),
        ].join(','),
    },
    { title: 'PRESSURE', value: o => nodePressures(o).join(',') || '<none>' },
    ageColumn,
    { title: 'VERSION', value: o => o.status?.nodeInfo?.kubeletVersion ?? '' },
  ],
  namespaces: [
    name,
    { title: 'STATUS', value: o => o.status?.phase ?? '' },
    ageColumn,
  ],
  jobs: [
    name,
    {
      title: 'COMPLETIONS',
      value: o => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`,
    },
    { title: 'FAILED', value: o => String(o.status?.failed ?? 0) },
    ageColumn,
  ],
  secrets: [
    name,
    { title: 'TYPE', value: o => o.type ?? '' },
    // Only the number of keys: values never leave the backend.
    { title: 'DATA', value: o => String(Object.keys(o.data ?? {}).length) },
    ageColumn,
  ],
  resourcequotas: [
    name,
    {
      title: 'REQUEST',
      value: o =>
        Object.entries(o.status?.hard ?? o.spec?.hard ?? {})
          .map(([k, hard]) => `${k}: ${o.status?.used?.[k] ?? '0'}/${hard}`)
          .join(', '),
    },
    ageColumn,
  ],
};

/** The columns of a table of `resource` like `kubectl get`, NAMESPACE first when asked. */
function tableColumns(
  resource: PlanResource,
  withNamespace: boolean,
): Column[] {
  const columns = [...(COLUMNS[resource] ?? [name, ageColumn])];
  if (withNamespace) {
    columns.unshift({
      title: 'NAMESPACE',
      value: o => o.metadata?.namespace ?? '',
    });
  }
  return columns;
}

/** Turns listed objects into table columns and rows like `kubectl get`. */
export function toTable(
  resource: PlanResource,
  items: KubeObject[],
  withNamespace: boolean,
): { columns: string[]; rows: string[][] } {
  const columns = tableColumns(resource, withNamespace);
  return {
    columns: columns.map(c => c.title),
    rows: items.map(item => columns.map(c => c.value(item))),
  };
}

/** A row held by {@link TableRows}: its sort key, and its object until its cells are made. */
type HeldRow = { key?: unknown; item?: KubeObject; cells?: TextStart[] };

/**
 * A table like `kubectl get` made page by page as a list is read, the same as {@link toTable} of
 * every object read, filtered ({@link applyFilter}), sorted ({@link applySort}) and cut to `max`
 * rows: of each page it keeps the cells (what is shown of them: {@link textStart}) of the rows that
 * may still be shown, and counts the rest, so the objects read are not held past their page. It
 * never holds more than `max` rows.
 */
export class TableRows {
  readonly columns: string[];
  readonly #columns: Column[];
  readonly #order: SortOrder | undefined;
  #rows: HeldRow[] = [];
  #matched = 0;

  constructor(
    private readonly resource: PlanResource,
    private readonly options: {
      filter?: PlanFilter;
      sortBy?: PlanSortKey;
      withNamespace: boolean;
      /** Rows shown at most. */
      max: number;
      /** Characters of a cell shown at most (see {@link textStart}). */
      cellChars: number;
    },
  ) {
    this.#columns = tableColumns(resource, options.withNamespace);
    this.columns = this.#columns.map(c => c.title);
    this.#order = sortOrder(resource, options.sortBy);
  }

  /** Objects read that the filter kept, shown or not. */
  get matched(): number {
    return this.#matched;
  }

  /** Rows whose cells are held now. */
  get held(): number {
    return this.#rows.length;
  }

  /** Takes the next objects read (a page of a list, in the order the cluster sent them). */
  add(items: KubeObject[]): void {
    const kept = applyFilter(this.resource, items, this.options.filter);
    this.#matched += kept.length;
    const order = this.#order;
    if (!order) {
      // In the order read: the first ones are the table.
      const room = Math.max(0, this.options.max - this.#rows.length);
      this.#rows.push(...kept.slice(0, room).map(item => ({ item })));
    } else {
      // A stable sort of the rows held (read before) and these: as the whole list sorted at once.
      this.#rows = [
        ...this.#rows,
        ...kept.map(item => ({ item, key: order.key(item) })),
      ]
        .sort((a, b) => order.compare(a.key, b.key))
        .slice(0, this.options.max);
    }
    for (const row of this.#rows) {
      if (!row.item) continue;
      const item = row.item;
      row.cells = this.#columns.map(c =>
        textStart(c.value(item), this.options.cellChars),
      );
      delete row.item;
    }
  }

  /** The rows to show, in order: each cell as what is shown of it. */
  rows(): TextStart[][] {
    return this.#rows.map(row => row.cells!);
  }
}
