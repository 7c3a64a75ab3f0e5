/** One field of a run's input that differs from another run's: absent on the side that lacks it. */
export type InputChange = { path: string; before?: string; after?: string };

/** Nesting followed before a value is compared as a whole (inputs are small; this bounds hostile ones). */
const MAX_DEPTH = 16;
/** Fields listed at most; the rest is counted as truncated. */
export const MAX_INPUT_CHANGES = 200;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys written as they are in a path: any other is quoted, so no two fields share a path. */
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * `path.key`, or `path["key"]` for a key a dot, bracket, quote or anything else would make
 * ambiguous: `{ "a.b": 1 }` is `["a.b"]`, never the `a.b` of `{ a: { b: 1 } }`.
 */
function keyPath(path: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** `{ a: { b: [1] } }` → `a.b[0]` → `1`; empty objects and lists are leaves of their own. */
function flatten(
  value: unknown,
  path: string,
  out: Map<string, string>,
  depth: number,
) {
  let nested: Array<readonly [string, unknown]> | undefined;
  if (isPlainObject(value)) {
    nested = Object.entries(value).map(
      ([k, v]) => [keyPath(path, k), v] as const,
    );
  } else if (Array.isArray(value)) {
    nested = value.map((v, i) => [`${path}[${i}]`, v] as const);
  }
  if (!nested || !nested.length || depth >= MAX_DEPTH) {
    out.set(path || '(input)', JSON.stringify(value) ?? String(value));
    return;
  }
  for (const [childPath, child] of nested) {
    flatten(child, childPath, out, depth + 1);
  }
}

/**
 * The fields in which two run inputs (as recorded: secrets redacted) differ, by path (keys that
 * are not plain words quoted, as `a["b.c"]`), in path order; at most {@link MAX_INPUT_CHANGES}, with `truncated` saying whether more differ.
 */
export function inputChanges(
  before: unknown,
  after: unknown,
): { changes: InputChange[]; truncated: boolean } {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a, 0);
  flatten(after, '', b, 0);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: InputChange[] = [];
  for (const path of paths) {
    if (a.get(path) !== b.get(path)) {
      changes.push({ path, before: a.get(path), after: b.get(path) });
    }
  }
  return {
    changes: changes.slice(0, MAX_INPUT_CHANGES),
    truncated: changes.length > MAX_INPUT_CHANGES,
  };
}
