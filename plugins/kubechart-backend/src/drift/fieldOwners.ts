import {
  FieldDifference,
  PathSegment,
  canonicalKey,
  formatPath,
  valueAt,
} from './compare';
import {
  Pausable,
  runAtOnce,
  runInTurns,
} from '@kubechart/plugin-kubechart-node';

/** One `metadata.managedFields` entry, as the API server returns it. */
export type ManagedFieldsEntry = {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: Record<string, unknown>;
};

/** Who wrote a field last, from the live object's field ownership. */
export type FieldOwner = { manager: string; operation?: string; time?: string };

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The fields of an object's managedFields read between two turns of the event loop when they are
 * read in turns ({@link readOwnership}): a few milliseconds of work.
 */
export const OWNERSHIP_FIELDS_PER_TURN = 2000;

/** Counts the fields read; true at every {@link OWNERSHIP_FIELDS_PER_TURN}-th: where work may pause. */
function pacer(): () => boolean {
  let read = 0;
  return () => ++read % OWNERSHIP_FIELDS_PER_TURN === 0;
}

/**
 * The most fields of one object's managedFields a drift check reads (every level of the entries it
 * reads counted: `f:data` and each `f:<key>` under it): past it, who changed the object's fields and
 * what other managers added to it are not known. An object within the API server's default size
 * limit (1.5 MiB) holds fewer (a field takes at least 9 bytes of it); anyone who may write an object
 * can grow its ownership, with a field manager name for each write.
 */
export const MAX_OWNERSHIP_FIELDS = 200_000;

/**
 * Whether the entries hold at most `limit` fields, every level counted. Stops counting past it: the
 * work is bounded by `limit`, however large the entries are.
 */
function* fieldsWithin(
  entries: ManagedFieldsEntry[],
  limit: number,
  pause: () => boolean,
): Pausable<boolean> {
  let count = 0;
  for (const entry of entries) {
    const pending: unknown[] = [entry.fieldsV1];
    while (pending.length) {
      const node = pending.pop();
      if (!isMap(node)) continue;
      for (const k of Object.keys(node)) {
        if (++count > limit) return false;
        if (pause()) yield;
        pending.push(node[k]);
      }
    }
  }
  return true;
}

/**
 * The paths asked for, as a tree by fieldsV1 key (`f:<field>`, and `k:` with the canonical string
 * of an item's key), with the owner found so far of each; `keyed` when a list item is asked for
 * under it.
 */
type PathNode = {
  children: Map<string, PathNode>;
  keyed: boolean;
  owner?: FieldOwner;
};

const pathNode = (): PathNode => ({ children: new Map(), keyed: false });

/**
 * The manager that owns the field at each of `paths` (fieldsV1 `f:`/`k:` paths), from one walk of
 * each entry along the paths asked for: linear in the entries and the paths, however many of each
 * there are (a look-up of each path in each entry costs their product). When several own a field
 * (shared ownership after applies of the same value), the one that wrote last. Status entries are
 * ignored: a run's manifest has no status. Entries of other subresources count: `kubectl scale`
 * owns `spec.replicas` through an entry with `subresource: scale`. Undefined when no manager owns
 * the field (it was removed).
 */
function* ownersOf(
  managedFields: ManagedFieldsEntry[] | undefined,
  paths: PathSegment[][],
  pause: () => boolean,
): Pausable<Array<FieldOwner | undefined>> {
  const root = pathNode();
  const ends: PathNode[] = [];
  for (const segments of paths) {
    if (pause()) yield;
    let node = root;
    for (const seg of segments) {
      let token: string;
      if ('field' in seg) token = `f:${seg.field}`;
      else {
        token = `k:${canonicalKey(seg.key)}`;
        node.keyed = true;
      }
      let next = node.children.get(token);
      if (!next) {
        next = pathNode();
        node.children.set(token, next);
      }
      node = next;
    }
    ends.push(node);
  }
  // The later writer of a path owns it; of two at the same time, the first entry (as fieldOwner).
  const claim = (node: PathNode, entry: ManagedFieldsEntry) => {
    if (node.owner && !((entry.time ?? '') > (node.owner.time ?? ''))) return;
    node.owner = {
      manager: entry.manager!,
      ...(entry.operation ? { operation: entry.operation } : {}),
      ...(entry.time ? { time: entry.time } : {}),
    };
  };
  for (const entry of managedFields ?? []) {
    if (!entry.manager || entry.subresource === 'status') continue;
    if (entry.fieldsV1 === undefined) continue;
    claim(root, entry);
    const pending: Array<[unknown, PathNode]> = [[entry.fieldsV1, root]];
    while (pending.length) {
      const [fields, node] = pending.pop()!;
      if (!isMap(fields)) continue;
      // The keys of the items met under this node: a key written twice names its first item only,
      // as a look-up by key finds it.
      const items = node.keyed ? new Set<string>() : undefined;
      for (const k of Object.keys(fields)) {
        if (pause()) yield;
        let token: string;
        if (k.startsWith('f:')) token = k;
        else if (items && k.startsWith('k:')) {
          const key = parseJson(k.slice(2));
          if (!isMap(key)) continue;
          token = `k:${canonicalKey(key)}`;
          if (items.has(token)) continue;
          items.add(token);
        } else continue;
        const next = node.children.get(token);
        if (!next) continue;
        claim(next, entry);
        if (next.children.size) pending.push([fields[k], next]);
      }
    }
  }
  return ends.map(n => n.owner);
}

/** What {@link readOwnership} is asked to read of a live object's field ownership. */
export type OwnershipRequest = {
  /** The paths whose owners are wanted (the changed fields). */
  paths: PathSegment[][];
  /** When given, the fields other managers added are wanted too: see {@link addedFields}. */
  added?: AddedFieldsOptions & {
    applied: Record<string, any>;
    live: Record<string, any>;
  };
  /** The most fields the entries to read may hold; past it none is read (default {@link MAX_OWNERSHIP_FIELDS}). */
  maxFields?: number;
};

/**
 * What {@link readOwnership} read: the owner of each path asked for, in order, and the fields other
 * managers added (none when not asked for); or, when the entries to read hold more fields than
 * `maxFields`, that they were not read.
 */
export type Ownership =
  | { owners: Array<FieldOwner | undefined>; added: AddedField[] }
  | { notRead: { maxFields: number } };

/**
 * Reads a live object's field ownership once for a drift check: the owner of each changed field
 * (see {@link ownersOf}) and the fields other managers added ({@link addedFields}), with a
 * turn of the event loop every {@link OWNERSHIP_FIELDS_PER_TURN} fields read. The entries to read
 * (every one but status entries when owners are asked for, else those of other managers) are
 * first counted, up to `maxFields`: when they hold more, nothing is read and the owners are not
 * known; no owner is guessed from a part of them. Throws as {@link addedFields} does.
 */
export async function readOwnership(
  managedFields: ManagedFieldsEntry[] | undefined,
  request: OwnershipRequest,
): Promise<Ownership> {
  return runInTurns(reading(managedFields, request));
}

function* reading(
  managedFields: ManagedFieldsEntry[] | undefined,
  { paths, added, maxFields = MAX_OWNERSHIP_FIELDS }: OwnershipRequest,
): Pausable<Ownership> {
  const pause = pacer();
  let entries: ManagedFieldsEntry[] = [];
  if (paths.length)
    entries = (managedFields ?? []).filter(
      e => e.manager && e.subresource !== 'status',
    );
  else if (added) entries = otherEntries(managedFields, added.appliers);
  if (!(yield* fieldsWithin(entries, maxFields, pause)))
    return { notRead: { maxFields } };
  const found = added
    ? yield* findAdded(managedFields, added.applied, added.live, added, pause)
    : [];
  const owners = paths.length
    ? yield* ownersOf(managedFields, paths, pause)
    : [];
  return { owners, added: found };
}

/**
 * The field managers of Kubernetes itself: its controllers write fields no manifest sets (a
 * PersistentVolumeClaim's `volumeName` and binding annotations, a HorizontalPodAutoscaler's
 * replicas through `scale`), which are not a change to what a run applied. k3s runs them in one
 * process, whose manager is `k3s`.
 */
export const KUBERNETES_MANAGERS: readonly string[] = [
  'kube-controller-manager',
  'kube-scheduler',
  'kube-apiserver',
  'k3s',
];

/** The field manager helm writes with (`?fieldManager=helm`, helm 3 and 4). */
export const HELM_FIELD_MANAGER = 'helm';

/**
 * The field managers whose writes are what runs applied: KubeChart's own requests (`fieldManager`)
 * and helm's. Drift finds the fields others added with them ({@link addedFields}), and a tenant run
 * takes out the labels and annotations drift reports so (`KubeClient.ensure`).
 */
export function runAppliers(fieldManager: string): string[] {
  return [fieldManager, HELM_FIELD_MANAGER];
}

/** A field another manager set that the run did not apply, with who set it. */
export type AddedField = FieldDifference & FieldOwner;

/**
 * A field another manager may add without it counting as drift: `path` in the drift path syntax
 * (`spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`), `[*]` for any one
 * list item, and the fields under it too; `manager` limits it to that field manager.
 */
export type IgnoredAddedField = { manager?: string; path: string };

/**
 * What other managers add in the ordinary course, which no re-apply removes: the pod template
 * annotation `kubectl rollout restart` sets (whoever restarts), the revision annotation the
 * deployment controller keeps on a Deployment (whatever the controller manager is called), and the
 * CA bundle cert-manager's cainjector writes into webhook configurations and CRD conversion webhooks.
 */
export const DEFAULT_IGNORED_ADDED_FIELDS: readonly IgnoredAddedField[] = [
  {
    path: 'metadata.annotations["deployment.kubernetes.io/revision"]',
  },
  {
    path: 'spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]',
  },
  {
    manager: 'cert-manager-cainjector',
    path: 'webhooks[*].clientConfig.caBundle',
  },
  {
    manager: 'cert-manager-cainjector',
    path: 'spec.conversion.webhook.clientConfig.caBundle',
  },
];

/** An ignore rule read: its path as segment tokens (`f:name`, `k:a=b`, `*`). */
type IgnoreRule = { manager?: string; tokens: string[] };

const PLAIN_FIELD = /^[A-Za-z_$][\w$-]*$/;

/**
 * The tokens of a path in the drift path syntax, or an error saying why it cannot be read: an ignore
 * rule that cannot be read exactly is refused, never guessed at.
 */
function pathTokens(path: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`drift ignore path "${path}" cannot be read: ${why}`);
  };
  while (i < path.length) {
    if (path[i] === '[') {
      if (path[i + 1] === '"') {
        // A JSON string: a field whose name is not plain.
        let j = i + 2;
        while (j < path.length && path[j] !== '"')
          j += path[j] === '\\' ? 2 : 1;
        if (path[j + 1] !== ']') fail(`unterminated [" at ${i}`);
        const name = parseJson(path.slice(i + 1, j + 1));
        if (typeof name !== 'string') fail(`bad field name at ${i}`);
        tokens.push(`f:${name}`);
        i = j + 2;
      } else {
        const j = path.indexOf(']', i);
        if (j < 0) fail(`unterminated [ at ${i}`);
        const inner = path.slice(i + 1, j);
        if (inner === '*') tokens.push('*');
        else if (/^[^=,\]]+=[^,\]]*(,[^=,\]]+=[^,\]]*)*$/.test(inner))
          tokens.push(`k:${inner}`);
        else fail(`"[${inner}]" is neither [*] nor [key=value]`);
        i = j + 1;
      }
    } else {
      if (path[i] === '.') {
        if (i === 0) fail('starts with "."');
        i++;
      }
      const m = /^[^.[]+/.exec(path.slice(i));
      if (!m || !PLAIN_FIELD.test(m[0])) fail(`expected a field name at ${i}`);
      tokens.push(`f:${m![0]}`);
      i += m![0].length;
    }
  }
  if (!tokens.length) fail('empty');
  return tokens;
}

/** The token of one path segment, as {@link pathTokens} reads it from a formatted path. */
function segmentToken(seg: PathSegment): string {
  return 'field' in seg
    ? `f:${seg.field}`
    : `k:${Object.entries(seg.key)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',')}`;
}

/**
 * The ignore rules of `entries`, read. Throws, saying which, for an entry whose path cannot be read
 * (a setting that would be taken to mean something else must not start).
 */
export function readIgnoredAddedFields(
  entries: readonly IgnoredAddedField[],
): IgnoreRule[] {
  return entries.map(e => ({
    ...(e.manager ? { manager: e.manager } : {}),
    tokens: pathTokens(e.path),
  }));
}

function tokenMatches(rule: string, token: string) {
  return rule === '*' ? token.startsWith('k:') : rule === token;
}

/** Whether a rule covers `tokens` (the rule's path or a field under it). */
function covers(rule: IgnoreRule, tokens: string[]) {
  return (
    rule.tokens.length <= tokens.length &&
    rule.tokens.every((t, i) => tokenMatches(t, tokens[i]))
  );
}

/** Whether a rule names a field strictly under `tokens`. */
function reachesBelow(rule: IgnoreRule, tokens: string[]) {
  return (
    rule.tokens.length > tokens.length &&
    tokens.every((t, i) => tokenMatches(rule.tokens[i], t))
  );
}

/** Managedfields times are RFC 3339 (whole seconds); undefined when there is none to read. */
function timeOf(entry: ManagedFieldsEntry): number | undefined {
  const t = Date.parse(entry.time ?? '');
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The fields of `live` that a manager other than `appliers` (and Kubernetes itself) set after the
 * object was created, and that the run's manifest `applied` does not set: a container `kubectl edit`
 * added, a label `kubectl label` put on the pod template. Found from the live object's field
 * ownership, server times against server times: an entry counts when its `time` is later than the
 * object's `metadata.creationTimestamp`, whenever the appliers last wrote the object (a re-apply or a
 * helm upgrade after the edit hides nothing, and a write in the same second as theirs counts). An
 * entry stamped at the creation second is the creator's: it owns the server defaults it was
 * answered with (../shared/reference/kube-api/rollout/01-deployment-create.json) and what a mutating
 * webhook added on create (an injected sidecar), so it does not count. An object taken over from a
 * manager that wrote it again after creating it therefore shows that manager's fields as added
 * until they are removed or ignored. Server-side defaults set on a later write have no owner. Status
 * entries, and metadata but labels and annotations, are not read; nor are fields `ignore` covers.
 * Each is the outermost path the manifest does not set (a whole container, not its fields), with
 * `expected` undefined and the live value as `actual`; a path several managers set names the one
 * that wrote last. A Secret's `data` keys that its applied `stringData` sets count as set. A field
 * under a list item the ownership records by position or in a form not read here is reported as its
 * list (nothing is left uncompared). Throws, saying why, when an entry to read has no time or the
 * object no creation time: which of its fields were added cannot then be told.
 */
export function addedFields(
  managedFields: ManagedFieldsEntry[] | undefined,
  applied: Record<string, any>,
  live: Record<string, any>,
  options: AddedFieldsOptions,
): AddedField[] {
  return runAtOnce(findAdded(managedFields, applied, live, options, pacer()));
}

/** Whose fields {@link addedFields} does not report, and which it leaves out. */
type AddedFieldsOptions = {
  appliers: readonly string[];
  ignore?: readonly IgnoreRule[];
};

/** The entries {@link addedFields} reads: of managers other than `appliers` and Kubernetes, status aside. */
function otherEntries(
  managedFields: ManagedFieldsEntry[] | undefined,
  appliers: readonly string[],
): ManagedFieldsEntry[] {
  const known = new Set([...appliers, ...KUBERNETES_MANAGERS]);
  return (managedFields ?? []).filter(
    e => e.manager && !known.has(e.manager) && e.subresource !== 'status',
  );
}

/** {@link addedFields}, pausing where `pause` says. */
function* findAdded(
  managedFields: ManagedFieldsEntry[] | undefined,
  applied: Record<string, any>,
  live: Record<string, any>,
  options: AddedFieldsOptions,
  pause: () => boolean,
): Pausable<AddedField[]> {
  const ignore = options.ignore ?? [];
  const others = otherEntries(managedFields, options.appliers);
  if (!others.length) return [];
  // When the object was created, as the API server recorded it (whole seconds, like entry times).
  const created = Date.parse(live.metadata?.creationTimestamp ?? '');
  if (Number.isNaN(created))
    throw new Error(
      'the live object has no creationTimestamp: the fields other managers added cannot be told',
    );
  const view = appliedView(applied);
  const found = new Map<string, AddedField>();
  // The items of a set list as JSON, written once per list: a list of many items, each named by a
  // `v:` entry, is not written again for each of them.
  const texts = new WeakMap<unknown[], Set<string>>();
  const itemTexts = (list: unknown[]) => {
    let written = texts.get(list);
    if (!written) {
      written = new Set(list.map(i => JSON.stringify(i)));
      texts.set(list, written);
    }
    return written;
  };
  const ignored = (segments: PathSegment[], manager: string) => {
    if (!ignore.length) return false;
    const tokens = segments.map(segmentToken);
    return ignore.some(
      r => (!r.manager || r.manager === manager) && covers(r, tokens),
    );
  };
  const ignoredBelow = (segments: PathSegment[], manager: string) => {
    if (!ignore.length) return false;
    const tokens = segments.map(segmentToken);
    return ignore.some(
      r => (!r.manager || r.manager === manager) && reachesBelow(r, tokens),
    );
  };
  const add = (segments: PathSegment[], entry: ManagedFieldsEntry) => {
    if (ignored(segments, entry.manager!)) return;
    const actual = valueAt(live, segments);
    if (actual === undefined || actual === null) return;
    const path = formatPath(segments);
    const seen = found.get(path);
    if (seen && (seen.time ?? '') >= (entry.time ?? '')) return;
    found.set(path, {
      segments,
      expected: valueAt(view, segments),
      actual,
      manager: entry.manager!,
      ...(entry.operation ? { operation: entry.operation } : {}),
      ...(entry.time ? { time: entry.time } : {}),
    });
  };
  function* walk(
    node: unknown,
    path: PathSegment[],
    entry: ManagedFieldsEntry,
  ): Pausable<void> {
    if (!isMap(node)) return;
    for (const [k, child] of Object.entries(node)) {
      if (pause()) yield;
      if (k === '.') continue;
      if (
        path.length === 0 &&
        ['f:apiVersion', 'f:kind', 'f:status'].includes(k)
      )
        continue;
      if (
        path.length === 1 &&
        'field' in path[0] &&
        path[0].field === 'metadata' &&
        k !== 'f:labels' &&
        k !== 'f:annotations'
      )
        continue;
      let segment: PathSegment | undefined;
      if (k.startsWith('f:')) segment = { field: k.slice(2) };
      else if (k.startsWith('k:')) {
        const key = parseJson(k.slice(2));
        if (isMap(key)) segment = { key };
      } else if (k.startsWith('v:')) {
        // An item of a set list: added when the applied list lacks it.
        const value = parseJson(k.slice(2));
        const appliedList = valueAt(view, path);
        const liveList = valueAt(live, path);
        const text = value === undefined ? undefined : JSON.stringify(value);
        const has = (list: unknown) =>
          Array.isArray(list) &&
          text !== undefined &&
          itemTexts(list).has(text);
        if (has(liveList) && !has(appliedList)) add(path, entry);
        continue;
      }
      if (!segment) {
        // Read in no form here (an item by position): the list it is in counts as set by this manager.
        add(path, entry);
        continue;
      }
      const at = [...path, segment];
      if (valueAt(live, at) === undefined) continue;
      const set = valueAt(view, at);
      if (set !== undefined && set !== null) yield* walk(child, at, entry);
      // An ignored field inside: what else is in it is reported field by field.
      else if (ignoredBelow(at, entry.manager!)) yield* walk(child, at, entry);
      else add(at, entry);
    }
  }
  for (const entry of others) {
    const t = timeOf(entry);
    if (t === undefined)
      throw new Error(
        `the managedFields entry of ${entry.manager} has no time: whether it was written after the object was created cannot be told`,
      );
    // An entry stamped at the creation second is the creator's (what it set and the defaults it
    // was answered with); a later one is a write after the object was created.
    if (!(t > created)) continue;
    yield* walk(entry.fieldsV1, [], entry);
  }
  // The outermost path only: a path under another reported one is part of it. Each path's
  // prefixes are looked up (linear in the fields found, not quadratic).
  const result: AddedField[] = [];
  for (const [, a] of found) {
    if (pause()) yield;
    let inside = false;
    for (let i = 1; i < a.segments.length && !inside; i++)
      inside = found.has(formatPath(a.segments.slice(0, i)));
    if (!inside) result.push(a);
  }
  return result;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What a run's object sets, as the API server stores it: a Secret's `stringData` keys are `data` keys. */
function appliedView(applied: Record<string, any>): Record<string, any> {
  if (applied.kind !== 'Secret' || !isMap(applied.stringData)) return applied;
  return {
    ...applied,
    data: {
      ...(isMap(applied.data) ? applied.data : {}),
      ...applied.stringData,
    },
  };
}
