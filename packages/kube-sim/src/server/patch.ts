import { applyKeysFor, isSetList, itemKey, mergeKeyFor } from './listKeys';
import { errors } from './status';
import { deepClone, deepEqual, isPlainObject } from './types';

/** RFC 7386 JSON merge patch. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return deepClone(patch);
  const out: Record<string, any> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(s: string) {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointerParts(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw errors.badRequest(`invalid JSON pointer: "${path}"`);
  return path.slice(1).split('/').map(unescapePointer);
}

function patchFailure(message: string) {
  return errors.invalid('Patch', '', '', [{ field: 'patch', message }]);
}

/** RFC 6902 JSON patch. Throws a Status error for a patch that cannot apply. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw errors.badRequest(
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  }
  let root: any = deepClone(doc);
  const parentOf = (parts: string[]) => {
    let cur = root;
    for (const p of parts.slice(0, -1)) {
      if (Array.isArray(cur)) cur = cur[Number(p)];
      else if (isPlainObject(cur)) cur = cur[p];
      else cur = undefined;
      if (cur === undefined)
        throw patchFailure(`doc is missing path: "/${parts.join('/')}"`);
    }
    return cur;
  };
  const read = (path: string) => {
    const parts = pointerParts(path);
    let cur = root;
    for (const p of parts) {
      if (Array.isArray(cur)) cur = cur[Number(p)];
      else cur = isPlainObject(cur) ? cur[p] : undefined;
      if (cur === undefined)
        throw patchFailure(`doc is missing path: "${path}"`);
    }
    return cur;
  };
  const remove = (path: string) => {
    const parts = pointerParts(path);
    if (parts.length === 0) {
      const old = root;
      root = undefined;
      return old;
    }
    const parent = parentOf(parts);
    const last = parts[parts.length - 1];
    if (Array.isArray(parent)) {
      const i = Number(last);
      if (!(i >= 0 && i < parent.length))
        throw patchFailure(`unable to remove nonexistent key: ${last}`);
      return parent.splice(i, 1)[0];
    }
    if (!Object.prototype.hasOwnProperty.call(parent, last)) {
      throw patchFailure(
        `unable to remove nonexistent key: ${last}: missing value`,
      );
    }
    const old = parent[last];
    delete parent[last];
    return old;
  };
  const add = (path: string, value: unknown, replace: boolean) => {
    const parts = pointerParts(path);
    if (parts.length === 0) {
      root = deepClone(value);
      return;
    }
    const parent = parentOf(parts);
    const last = parts[parts.length - 1];
    if (Array.isArray(parent)) {
      if (last === '-' && !replace) {
        parent.push(deepClone(value));
        return;
      }
      const i = Number(last);
      if (
        !(
          Number.isInteger(i) &&
          i >= 0 &&
          i <= parent.length - (replace ? 1 : 0)
        )
      ) {
        throw patchFailure(
          `add operation does not apply: doc is missing path: "${path}"`,
        );
      }
      parent.splice(i, replace ? 1 : 0, deepClone(value));
      return;
    }
    if (!isPlainObject(parent))
      throw patchFailure(`doc is missing path: "${path}"`);
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last)) {
      throw patchFailure(
        `replace operation does not apply: doc is missing key: ${path}`,
      );
    }
    parent[last] = deepClone(value);
  };
  for (const op of ops) {
    if (
      !isPlainObject(op) ||
      typeof op.op !== 'string' ||
      typeof op.path !== 'string'
    ) {
      throw errors.badRequest('invalid JSON patch operation');
    }
    switch (op.op) {
      case 'add':
        add(op.path, op.value, false);
        break;
      case 'replace':
        add(op.path, op.value, true);
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'move':
        add(op.path, remove(op.from), false);
        break;
      case 'copy':
        add(op.path, read(op.from), false);
        break;
      case 'test':
        if (!deepEqual(read(op.path), op.value)) {
          throw patchFailure(`testing value ${op.path} failed: test failed`);
        }
        break;
      default:
        throw errors.badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return root;
}

/**
 * A JSON, merge or strategic-merge patch applied to a copy of `current`, with the 400s a real server
 * answers when a merge patch is not an object or the result is not one.
 */
export function patchedCopy(
  current: unknown,
  patchType: 'json' | 'merge' | 'strategic',
  patch: unknown,
): Record<string, any> {
  const base = deepClone(current);
  let next: unknown;
  if (patchType === 'json') next = jsonPatch(base, patch);
  else if (!isPlainObject(patch)) {
    throw errors.badRequest('the patch is not a JSON object');
  } else if (patchType === 'merge') next = jsonMergePatch(base, patch);
  else next = strategicMergePatch(base, patch);
  if (!isPlainObject(next))
    throw errors.badRequest('the patch produced a non-object');
  return next;
}

/**
 * Strategic merge patch with the list keys of the real OpenAPI documents (see listKeys.ts: containers
 * by name, container ports by containerPort, …); other lists are replaced. Supports `$patch: delete`,
 * `$patch: replace`, null-deletes and `$setElementOrder`; `$retainKeys` is dropped.
 *
 * Order of a merged list (`ordered`, the default) is the API server's: items named in the patch keep
 * the patch's order and come before live items that the live order does not place ahead of them,
 * so an item new to the list comes first. Server-side apply merges with `ordered: false`: items are
 * appended, and lists are keyed by their list-map keys (container ports by containerPort and protocol).
 * Sets of scalars (`metadata.finalizers`) are merged value by value; `field` is the name of the field that
 * holds `patch` and `parent` that of the field holding its object, which tells such a set apart.
 */
export function strategicMergePatch(
  target: unknown,
  patch: unknown,
  field = '',
  ordered = true,
  parent?: string,
): unknown {
  if (Array.isArray(patch)) {
    return mergeList(
      Array.isArray(target) ? target : [],
      patch,
      field,
      ordered,
      parent,
    );
  }
  if (!isPlainObject(patch)) return deepClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch, ...rest } = patch;
    return deepClone(rest);
  }
  const out: Record<string, any> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (
      k.startsWith('$setElementOrder/') ||
      k === '$retainKeys' ||
      k === '$patch'
    )
      continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const name = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[name]) && Array.isArray(v)) {
        out[name] = out[name].filter(
          (x: unknown) => !v.some(d => deepEqual(d, x)),
        );
      }
      continue;
    }
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v, k, ordered, field);
  }
  if (ordered) applySetElementOrder(out, target, patch);
  return out;
}

/** `$setElementOrder/<field>`: the listed items in that order, live-only items placed among them. */
function applySetElementOrder(
  out: Record<string, any>,
  target: unknown,
  patch: Record<string, any>,
) {
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = k.slice('$setElementOrder/'.length);
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const key = mergeKeyFor(
      field,
      order.find(isPlainObject) ?? list.find(isPlainObject),
    );
    const keyOf = (x: unknown): string | undefined => {
      if (!key) return JSON.stringify(x);
      return isPlainObject(x) && key in x ? JSON.stringify(x[key]) : undefined;
    };
    const live =
      isPlainObject(target) && Array.isArray(target[field])
        ? target[field]
        : [];
    out[field] = normalizeOrder(list, order.map(keyOf), live.map(keyOf), keyOf);
  }
}

/**
 * The API server's `normalizeElementOrder`: `merged` split into items named in `patchOrder` (sorted by
 * it) and live-only items (sorted by `serverOrder`), then interleaved: a live-only item goes before a
 * patch item only when the live order puts it there.
 */
function normalizeOrder(
  merged: unknown[],
  patchOrder: Array<string | undefined>,
  serverOrder: Array<string | undefined>,
  keyOf: (x: unknown) => string | undefined,
): unknown[] {
  const inPatch = new Set(patchOrder.filter(k => k !== undefined));
  const pIdx = (x: unknown) => patchOrder.indexOf(keyOf(x));
  const sIdx = (x: unknown) => {
    const k = keyOf(x);
    return k === undefined ? -1 : serverOrder.indexOf(k);
  };
  const isPatchItem = (x: unknown) => {
    const k = keyOf(x);
    return k !== undefined && inPatch.has(k);
  };
  const patchItems = merged
    .filter(isPatchItem)
    .sort((a, b) => pIdx(a) - pIdx(b));
  const serverOnly = merged
    .filter(x => !isPatchItem(x))
    .sort((a, b) => sIdx(a) - sIdx(b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(serverOnly[i++]);
    else {
      const li = sIdx(serverOnly[i]);
      const ri = sIdx(patchItems[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

const isScalar = (x: unknown) => x === null || typeof x !== 'object';

function mergeList(
  target: unknown[],
  patch: unknown[],
  field: string,
  ordered: boolean,
  parent: string | undefined,
): unknown[] {
  // A set of scalars: strategic merge (for `merge` lists) and server-side apply add the values the patch names
  // to the live ones; strategic merge then orders them as it orders keyed items (new values first).
  if (
    patch.every(isScalar) &&
    target.every(isScalar) &&
    isSetList(field, parent, ordered)
  ) {
    const out: unknown[] = [];
    for (const x of [...target, ...patch])
      if (!out.some(y => deepEqual(x, y))) out.push(x);
    if (!ordered) return out;
    const valueKey = (x: unknown) => JSON.stringify(x);
    return normalizeOrder(
      out,
      patch.map(valueKey),
      target.map(valueKey),
      valueKey,
    );
  }
  const sample = patch.find(isPlainObject) ?? target.find(isPlainObject);
  let keyOf: ((x: unknown) => string | undefined) | undefined;
  if (ordered) {
    const key = mergeKeyFor(field, sample);
    if (key)
      keyOf = x =>
        isPlainObject(x) && key in x ? JSON.stringify(x[key]) : undefined;
  } else {
    const keys = applyKeysFor(field, sample);
    if (keys)
      keyOf = x => {
        const k = itemKey(x, keys);
        return k ? JSON.stringify(k) : undefined;
      };
  }
  if (!keyOf) {
    if (patch.some(p => isPlainObject(p) && p.$patch === 'replace')) {
      return deepClone(patch.filter(p => !(isPlainObject(p) && p.$patch)));
    }
    return deepClone(patch);
  }
  if (patch.some(p => isPlainObject(p) && p.$patch === 'replace')) {
    return deepClone(
      patch.filter(p => !(isPlainObject(p) && p.$patch === 'replace')),
    );
  }
  const out = target.map(x => x);
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const k = keyOf(item);
    const idx = k === undefined ? -1 : out.findIndex(x => keyOf!(x) === k);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    // The item's fields are held in the list's field (`containers`).
    if (idx >= 0)
      out[idx] = strategicMergePatch(out[idx], item, field, ordered, parent);
    else out.push(strategicMergePatch({}, item, field, ordered, parent));
  }
  if (!ordered) return out;
  const patchOrder = patch
    .filter(p => isPlainObject(p) && p.$patch !== 'delete')
    .map(keyOf);
  return normalizeOrder(out, patchOrder, target.map(keyOf), keyOf);
}

/* ---------- field sets, as server-side apply tracks them ---------- */

/**
 * A field path, encoded as a string so it can live in a Set: steps joined by U+0001, where a list
 * item is addressed by its key as U+0002 JSON({key: value, …}) (`{"containerPort":80,"protocol":"TCP"}`),
 * and a value of a set of scalars by itself as U+0003 JSON(value) (`"example.com/hold"`).
 */
export type FieldPath = string;

const SEP = '\u0001';
const ITEM = '\u0002';
const VALUE = '\u0003';

/** A field, a keyed item of the list in `field` (`key`), or a value of the set in `field` (`value`, as JSON). */
type Step = { field: string; key?: Record<string, unknown>; value?: string };

function join(prefix: string, step: string) {
  return prefix ? `${prefix}${SEP}${step}` : step;
}

/** Whether an item of list `field` has this key (a missing key field counts as its schema default). */
function hasKey(x: unknown, key: Record<string, unknown>, field: string) {
  if (!isPlainObject(x)) return false;
  const defaults = applyKeysFor(field, x)?.defaults ?? {};
  return Object.entries(key).every(([k, v]) =>
    deepEqual(x[k] ?? defaults[k], v),
  );
}

/** The leaf fields an object sets; keyed lists are walked per item, others are atomic. */
export function leafFields(obj: unknown, prefix = '', field = ''): FieldPath[] {
  if (isPlainObject(obj)) {
    const entries = Object.entries(obj).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return prefix ? [prefix] : [];
    return entries.flatMap(([k, v]) => leafFields(v, join(prefix, k), k));
  }
  if (Array.isArray(obj)) {
    if (
      obj.length > 0 &&
      obj.every(isScalar) &&
      isSetList(field, parsePath(prefix).slice(-2)[0]?.field)
    ) {
      return [
        ...new Set(obj.map(v => `${prefix}${VALUE}${JSON.stringify(v)}`)),
      ];
    }
    const keys = applyKeysFor(field, obj.find(isPlainObject));
    const itemKeys = keys ? obj.map(x => itemKey(x, keys)) : [];
    if (!keys || obj.length === 0 || itemKeys.some(k => !k)) return [prefix];
    return obj.flatMap((item, i) => {
      const p = `${prefix}${ITEM}${JSON.stringify(itemKeys[i])}`;
      const present = keys.names.filter(k => item[k] !== undefined);
      const rest = Object.fromEntries(
        Object.entries(item).filter(([k]) => !keys.names.includes(k)),
      );
      return [
        ...present.map(k => join(p, k)),
        ...leafFields(rest, p, '').filter(x => x !== p),
      ];
    });
  }
  return [prefix];
}

function parsePath(path: FieldPath): Step[] {
  return path.split(SEP).map(part => {
    const i = part.indexOf(ITEM);
    if (i >= 0)
      return { field: part.slice(0, i), key: JSON.parse(part.slice(i + 1)) };
    const v = part.indexOf(VALUE);
    return v < 0
      ? { field: part }
      : { field: part.slice(0, v), value: part.slice(v + 1) };
  });
}

function keyText(key: Record<string, unknown>) {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
}

/**
 * A field path as the API prints it in conflict messages, e.g. `.spec.containers[name="app"].image`,
 * `.metadata.finalizers[="example.com/hold"]`.
 */
export function describeField(path: FieldPath): string {
  const item = (s: Step) => {
    if (s.key !== undefined) return `[${keyText(s.key)}]`;
    return s.value !== undefined ? `[=${s.value}]` : '';
  };
  return parsePath(path)
    .map(s => `.${s.field}${item(s)}`)
    .join('');
}

/** Builds a field path from a readable list of steps (used when reading fieldsV1 back). */
function pathFromSteps(steps: Step[]): FieldPath {
  return steps
    .map(s => {
      if (s.key !== undefined)
        return `${s.field}${ITEM}${JSON.stringify(s.key)}`;
      return s.value !== undefined ? `${s.field}${VALUE}${s.value}` : s.field;
    })
    .join(SEP);
}

/** Reads the value at a field path; undefined when any step is missing. */
export function readField(obj: unknown, path: FieldPath): unknown {
  let cur: any = obj;
  for (const s of parsePath(path)) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[s.field];
    if (s.key !== undefined) {
      if (!Array.isArray(cur)) return undefined;
      const key = s.key;
      cur = cur.find(x => hasKey(x, key, s.field));
    } else if (s.value !== undefined) {
      if (!Array.isArray(cur)) return undefined;
      const value = JSON.parse(s.value);
      cur = cur.some(x => deepEqual(x, value)) ? value : undefined;
    }
  }
  return cur;
}

/** Removes the value at a field path, then prunes list items and maps it left empty. */
export function removeField(obj: any, path: FieldPath): void {
  const steps = parsePath(path);
  const walk = (cur: any, i: number): void => {
    if (!isPlainObject(cur)) return;
    const s = steps[i];
    if (s.value !== undefined) {
      // A value of a set: the set goes once its last value has.
      const value = JSON.parse(s.value);
      if (!Array.isArray(cur[s.field])) return;
      cur[s.field] = cur[s.field].filter((x: unknown) => !deepEqual(x, value));
      if (cur[s.field].length === 0) delete cur[s.field];
      return;
    }
    if (i === steps.length - 1 && s.key === undefined) {
      // An item's key fields stay while it has others; the item goes once only its keys are left.
      const parentKey = steps[i - 1]?.key;
      if (!parentKey || !(s.field in parentKey)) delete cur[s.field];
      return;
    }
    let next = cur[s.field];
    if (s.key !== undefined) {
      if (!Array.isArray(next)) return;
      const key = s.key;
      const idx = next.findIndex(x => hasKey(x, key, s.field));
      if (idx < 0) return;
      if (i === steps.length - 1) {
        next.splice(idx, 1);
        return;
      }
      const item = next[idx];
      walk(item, i + 1);
      if (Object.keys(item).every(k => k in key)) next.splice(idx, 1);
      if (next.length === 0) delete cur[s.field];
      return;
    }
    walk(next, i + 1);
    next = cur[s.field];
    if (isPlainObject(next) && Object.keys(next).length === 0)
      delete cur[s.field];
  };
  walk(obj, 0);
}

/** Renders a set of field paths as the `fieldsV1` trie the API shows in managedFields. */
export function toFieldsV1(
  paths: Iterable<FieldPath>,
): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const path of paths) {
    let cur = root;
    for (const s of parsePath(path)) {
      const f = `f:${s.field}`;
      cur[f] = cur[f] ?? {};
      cur = cur[f];
      const item =
        s.key !== undefined
          ? `k:${JSON.stringify(s.key)}`
          : s.value && `v:${s.value}`;
      if (item) {
        cur[item] = cur[item] ?? {};
        cur = cur[item];
      }
    }
  }
  return root;
}

/**
 * The nodes above a field path that a write creating it creates too: the fields holding it, the lists holding
 * it and the list items it is in (`spec`, `spec.containers`, `spec.containers[name="app"]` for an image).
 */
export function ancestorsOf(path: FieldPath): FieldPath[] {
  const steps = parsePath(path);
  const out: FieldPath[] = [];
  steps.forEach((s, i) => {
    const last = i === steps.length - 1;
    if (s.key !== undefined || s.value !== undefined) {
      out.push(pathFromSteps([...steps.slice(0, i), { field: s.field }]));
      if (!last && s.key !== undefined)
        out.push(pathFromSteps(steps.slice(0, i + 1)));
    } else if (!last) out.push(pathFromSteps(steps.slice(0, i + 1)));
  });
  return out;
}

/** The field path of a `fieldsV1` trie member (`f:labels`, `k:{"name":"app"}`, `v:"a"`) under `parent`. */
export function trieChildPath(
  parent: FieldPath,
  member: string,
): FieldPath | undefined {
  try {
    if (member.startsWith('f:')) return join(parent, member.slice(2));
    const steps = parent ? parsePath(parent) : [];
    const last = steps[steps.length - 1];
    if (!last || last.key !== undefined || last.value !== undefined)
      return undefined;
    if (member.startsWith('k:')) {
      const key = JSON.parse(member.slice(2));
      if (!isPlainObject(key)) return undefined;
      return pathFromSteps([...steps.slice(0, -1), { field: last.field, key }]);
    }
    if (member.startsWith('v:')) {
      const value = JSON.stringify(JSON.parse(member.slice(2)));
      return pathFromSteps([
        ...steps.slice(0, -1),
        { field: last.field, value },
      ]);
    }
  } catch {
    // A member we cannot read.
  }
  return undefined;
}

/** The nodes a `fieldsV1` trie marks as members themselves (`.`): what an Update manager's writes created. */
export function dotNodesOf(trie: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: unknown, at: FieldPath) => {
    if (!isPlainObject(node)) return;
    if (at && '.' in node) out.push(at);
    for (const k of Object.keys(node)) {
      if (k === '.') continue;
      const child = trieChildPath(at, k);
      if (child !== undefined) walk(node[k], child);
    }
  };
  walk(trie, '');
  return out;
}

/** Reads a `fieldsV1` trie back into field paths. */
export function fromFieldsV1(trie: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: unknown, steps: Step[]) => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node).filter(k => k !== '.');
    if (keys.length === 0) {
      if (steps.length) out.push(pathFromSteps(steps));
      return;
    }
    for (const k of keys) {
      if (k.startsWith('f:')) {
        walk(node[k], [...steps, { field: k.slice(2) }]);
      } else if (k.startsWith('k:') && steps.length) {
        try {
          const key = JSON.parse(k.slice(2));
          if (!isPlainObject(key)) continue;
          const last = steps[steps.length - 1];
          walk(node[k], [...steps.slice(0, -1), { field: last.field, key }]);
        } catch {
          // An item key we cannot read is left unowned.
        }
      } else if (k.startsWith('v:') && steps.length) {
        try {
          const value = JSON.stringify(JSON.parse(k.slice(2)));
          const last = steps[steps.length - 1];
          walk(node[k], [...steps.slice(0, -1), { field: last.field, value }]);
        } catch {
          // A value we cannot read is left unowned.
        }
      }
    }
  };
  walk(trie, []);
  return out;
}
