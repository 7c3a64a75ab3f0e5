import { InputError } from '@backstage/errors';
import { Plan } from '@kubechart/plugin-assistant-common';

/** Fields a patch body may not set: they come from the plan's typed fields. */
const IDENTITY_FIELDS = ['apiVersion', 'kind'];
const IDENTITY_METADATA = ['name', 'namespace', 'generateName', 'uid'];

/**
 * The merge-patch body a change plan sends, built only from the plan's typed
 * fields (replicas, labels, annotations, unschedulable, the restart stamp, a
 * patch body that cannot name another object). The object it is sent to —
 * kind, name and namespace — is added by the caller from the plan and the
 * object found, never from the body.
 */
export function changeBody(plan: Plan, now: Date = new Date()): object {
  switch (plan.verb) {
    case 'scale':
      return { spec: { replicas: plan.replicas } };
    case 'label':
      return { metadata: { labels: { ...plan.labels } } };
    case 'annotate':
      return { metadata: { annotations: { ...plan.annotations } } };
    case 'cordon':
      return { spec: { unschedulable: true } };
    case 'uncordon':
      return { spec: { unschedulable: null } };
    case 'rollout':
      if (plan.rolloutAction !== 'restart') break;
      return {
        spec: {
          template: {
            metadata: {
              annotations: {
                'kubectl.kubernetes.io/restartedAt': now.toISOString(),
              },
            },
          },
        },
      };
    case 'patch':
      return patchBody(plan.patch);
    default:
      break;
  }
  throw new InputError(`"${plan.verb}" is not a change the assistant sends`);
}

function patchBody(text: string | undefined): object {
  const problem = patchProblem(text);
  if (problem) throw new InputError(problem);
  return JSON.parse(text!);
}

/**
 * Why the text of a patch cannot be sent as it is shown, or undefined when it can: it is not
 * JSON, not a JSON object, names the object it changes (which comes from the plan), sets a key
 * twice in one object (JSON keeps only the last, so the text would show a change that is not
 * sent), or holds a number that would be sent as another (a whole number beyond 2^53 - 1, a
 * decimal with more digits than a JavaScript number keeps: the body sent is `JSON.stringify` of
 * the parsed text).
 */
export function patchProblem(text: string | undefined): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text ?? '');
  } catch {
    return 'The patch is not valid JSON';
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return 'The patch must be a JSON object';
  }
  const twice = firstInText(text!, { key: keySetTwice });
  if (twice) {
    const key = JSON.stringify(twice.key);
    return `The patch sets ${
      key.length > 100 ? `${key.slice(0, 100)}…` : key
    } twice (${
      twice.path ? `at ${twice.path}` : 'at the top level'
    }): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.`;
  }
  const inexact = firstInText(text!, { number: numberNotSentAsWritten });
  if (inexact) return inexact;
  const record = body as Record<string, unknown>;
  const named = IDENTITY_FIELDS.filter(k => k in record);
  const metadata = record.metadata;
  if (metadata && typeof metadata === 'object') {
    named.push(
      ...IDENTITY_METADATA.filter(k => k in metadata).map(k => `metadata.${k}`),
    );
  }
  if (named.length) {
    return `The patch may not set ${named.join(
      ', ',
    )}: which object is changed comes from the plan, not from the body`;
  }
  return undefined;
}

/** A string of JSON text, from its opening quote to its closing one, where it starts. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/y;

/** An object or a list of JSON text being read: the keys it has (an object), where it stands. */
type Level =
  | { keys: Set<string>; key?: string; expectKey: boolean }
  | { index: number };

/** What {@link firstInText} asks of each key and number of JSON text, until one answers. */
type TextVisitor<T> = {
  key?: (key: string, levels: Level[]) => T | undefined;
  number?: (literal: string, levels: Level[]) => T | undefined;
};

/** A number of JSON text, where it starts. */
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * The first answer `visit` gives for a key (as decoded: `"a"` and `"\u0061"` are one key) or a
 * number (as written) of JSON text (valid JSON), in the text's order, with the objects and lists
 * around it. Read in one pass without recursion, however deep the text nests.
 */
function firstInText<T>(text: string, visit: TextVisitor<T>): T | undefined {
  const levels: Level[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const top = levels[levels.length - 1];
    if (c === '"') {
      JSON_STRING.lastIndex = i;
      const literal = JSON_STRING.exec(text)?.[0];
      if (!literal) return undefined;
      i += literal.length;
      if (top && 'keys' in top && top.expectKey) {
        const key = JSON.parse(literal) as string;
        const found = visit.key?.(key, levels);
        if (found !== undefined) return found;
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      JSON_NUMBER.lastIndex = i;
      const literal = JSON_NUMBER.exec(text)?.[0];
      if (!literal) return undefined;
      i += literal.length;
      const found = visit.number?.(literal, levels);
      if (found !== undefined) return found;
      continue;
    }
    if (c === '{') levels.push({ keys: new Set(), expectKey: true });
    else if (c === '[') levels.push({ index: 0 });
    else if (c === '}' || c === ']') levels.pop();
    else if (c === ',' && top) {
      if ('keys' in top) top.expectKey = true;
      else top.index++;
    }
    i++;
  }
  return undefined;
}

/** A key set a second time in the object being read, and where (`spec.template.spec.containers[0]`; empty at the top level). */
function keySetTwice(
  key: string,
  levels: Level[],
): { key: string; path: string } | undefined {
  const top = levels[levels.length - 1];
  return top && 'keys' in top && top.keys.has(key)
    ? { key, path: pathOf(levels) }
    : undefined;
}

/**
 * The exact value of a JSON number's text, written one way only (`-123e2` for `-12300`, `-12.3e3`
 * and `-1.23e4`), or the text itself when it is not a number (`null`, what `JSON.stringify` makes
 * of a number beyond any). Linear in the text.
 */
function exactValue(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal;
  const all = m[2] + (m[3] ?? '');
  let start = 0;
  while (start < all.length && all[start] === '0') start++;
  let end = all.length;
  while (end > start && all[end - 1] === '0') end--;
  if (start === end) return '0';
  // A longer exponent than a number can have is beyond any, as its text shows.
  const exponent =
    BigInt(m[4] ?? 0) - BigInt(m[3]?.length ?? 0) + BigInt(all.length - end);
  return `${m[1]}${all.slice(start, end)}e${exponent}`;
}

/**
 * Why a number of a patch is not sent as written, naming where it stands: the body sent is the
 * parsed text, in which a number is a JavaScript number (a double), so the cluster would get
 * another number than the one shown. A whole number beyond 2^53 - 1 is refused even when it
 * happens to be sent exactly (2^53, `1e20`): beyond it, whole numbers are not all kept.
 */
function numberNotSentAsWritten(
  literal: string,
  levels: Level[],
): string | undefined {
  const value = Number(literal);
  const exact = exactValue(literal);
  const whole = !exact.includes('e-');
  if (whole && !Number.isSafeInteger(value)) {
    return `The patch sets ${fieldOf(levels)} to a whole number beyond ${
      Number.MAX_SAFE_INTEGER
    } (2^53 - 1), the largest the assistant sends exactly: the cluster would get another number than the one shown. Write a smaller one, or run this patch with kubectl yourself.`;
  }
  if (exact !== exactValue(JSON.stringify(value))) {
    return `The patch sets ${fieldOf(
      levels,
    )} to a number the assistant cannot send as written (it would be rounded): the cluster would get another number than the one shown. Write it with fewer digits, or run this patch with kubectl yourself.`;
  }
  return undefined;
}

/** The field a value stands in: the keys and indexes of `levels`, the innermost's included. */
function fieldOf(levels: Level[]): string {
  let path = '';
  for (const level of levels) {
    if ('keys' in level) path += `${path ? '.' : ''}${level.key ?? ''}`;
    else path += `[${level.index}]`;
  }
  return path;
}

/** Where the innermost of `levels` stands: the keys and indexes of those around it. */
function pathOf(levels: Level[]): string {
  return fieldOf(levels.slice(0, -1));
}

/** The full request body: the change, addressed to exactly one object. */
export function addressed(
  body: object,
  target: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace?: string;
  },
): object {
  const b = body as { metadata?: Record<string, unknown> };
  return {
    ...b,
    apiVersion: target.apiVersion,
    kind: target.kind,
    metadata: {
      ...(b.metadata ?? {}),
      name: target.name,
      ...(target.namespace ? { namespace: target.namespace } : {}),
    },
  };
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * A JSON merge patch that turns `current` into exactly `target`: keys
 * missing from `target` are set to null (a plain merge would keep them).
 */
export function mergePatchTo(current: unknown, target: unknown): unknown {
  if (!isMap(current) || !isMap(target)) return target;
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(target)) {
    patch[key] = mergePatchTo(current[key], value);
  }
  for (const key of Object.keys(current)) {
    if (!(key in target)) patch[key] = null;
  }
  return patch;
}
