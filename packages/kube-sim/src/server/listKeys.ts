import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isPlainObject } from './types';

/**
 * How lists merge, read from the real v1.26 OpenAPI documents (`openapi/list-keys.json`, written by
 * scripts/import-openapi.js): per field name, `x-kubernetes-list-type` with its
 * `x-kubernetes-list-map-keys`, the strategic `x-kubernetes-patch-merge-key`, and the schema defaults of
 * key fields. Fields are looked up by name; where one name has several shapes (`ports` of a container
 * or a Service) the item's fields pick the one that fits.
 */
interface ListKeyEntry {
  /** `map`, `set`, `atomic`, or `strategic` (only the strategic markers). */
  listType: string;
  /** Server-side apply's keys (`map`; for `strategic`, the merge key). Empty: atomic for apply. */
  keys: string[];
  /** Strategic merge patch's key. */
  mergeKey?: string;
  /** Schema defaults of key fields (ports' `protocol: TCP`): a missing key field means this value. */
  defaults?: Record<string, unknown>;
  /** `set`: whether strategic merge patch merges it too (`x-kubernetes-patch-strategy: merge`, `finalizers`). */
  strategicMerge?: boolean;
  /** `set`: the names of the fields that hold the list's parent type (`metadata` for ObjectMeta). */
  parents?: string[];
}

let table: Record<string, ListKeyEntry[]> | undefined;

function entries(field: string): ListKeyEntry[] {
  if (!table) {
    const file = resolve(
      dirname(require.resolve('@internal/kube-sim/package.json')),
      'openapi',
      'list-keys.json',
    );
    table = JSON.parse(readFileSync(file, 'utf8'));
  }
  return table![field] ?? [];
}

function fits(entry: ListKeyEntry, sample: unknown, keys: string[]) {
  if (!isPlainObject(sample)) return true;
  return keys.every(k => k in sample || entry.defaults?.[k] !== undefined);
}

/** Strategic merge patch's merge key for a list field (containers → name, container ports → containerPort). */
export function mergeKeyFor(
  field: string,
  sample: unknown,
): string | undefined {
  const found = entries(field).find(
    e => e.mergeKey && fits(e, sample, [e.mergeKey]),
  );
  return found?.mergeKey;
}

/** A list's keys for server-side apply, with the defaults of key fields the item may leave out. */
export interface ApplyKeys {
  names: string[];
  defaults: Record<string, unknown>;
}

/**
 * Server-side apply's keys for a list field: the list-map keys (container ports by containerPort and
 * protocol), or the merge key of lists with only strategic markers (containers by name). Undefined for
 * atomic lists, which are owned and replaced whole.
 */
export function applyKeysFor(
  field: string,
  sample: unknown,
): ApplyKeys | undefined {
  const found = entries(field)
    .filter(e => e.keys.length > 0)
    .find(e => fits(e, sample, e.keys));
  return found
    ? { names: found.keys, defaults: found.defaults ?? {} }
    : undefined;
}

/** The key of a list item (`{containerPort: 80, protocol: "TCP"}`), or undefined when a key field is missing. */
export function itemKey(
  item: unknown,
  keys: ApplyKeys,
): Record<string, unknown> | undefined {
  if (!isPlainObject(item)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys.names) {
    const v = item[k] ?? keys.defaults[k];
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out;
}

/**
 * Whether list `field` of an object held in field `parent` is a set of scalars: server-side apply owns and
 * merges it value by value (`v:"example.com/hold"` in `fieldsV1`), and with `strategic`, whether strategic
 * merge patch merges it (ObjectMeta `finalizers`) rather than replacing it.
 */
export function isSetList(
  field: string,
  parent: string | undefined,
  strategic = false,
): boolean {
  return entries(field).some(
    e =>
      e.listType === 'set' &&
      (!strategic || e.strategicMerge) &&
      parent !== undefined &&
      (e.parents ?? []).includes(parent),
  );
}
