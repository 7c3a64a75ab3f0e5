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
 * JSON, not a JSON object, names the object it changes (which comes from the plan), or sets a key
 * twice in one object (JSON keeps only the last, so the text would show a change that is not
 * sent).
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
  const twice = keySetTwice(text!);
  if (twice) {
    const key = JSON.stringify(twice.key);
    return `The patch sets ${
      key.length > 100 ? `${key.slice(0, 100)}…` : key
    } twice (${
      twice.path ? `at ${twice.path}` : 'at the top level'
    }): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.`;
  }
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

/**
 * The first key JSON text (valid JSON) sets twice in one object, as decoded (`"a"` and `"\u0061"`
 * are one key), and where (`spec.template.spec.containers[0]`; empty at the top level). Read in one
 * pass without recursion, however deep the text nests.
 */
function keySetTwice(text: string): { key: string; path: string } | undefined {
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
        if (top.keys.has(key)) return { key, path: pathOf(levels) };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
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

/** Where the innermost of `levels` stands: the keys and indexes of those around it. */
function pathOf(levels: Level[]): string {
  let path = '';
  for (const level of levels.slice(0, -1)) {
    if ('keys' in level) path += `${path ? '.' : ''}${level.key ?? ''}`;
    else path += `[${level.index}]`;
  }
  return path;
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
