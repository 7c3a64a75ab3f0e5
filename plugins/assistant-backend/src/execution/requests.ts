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
  let body: unknown;
  try {
    body = JSON.parse(text ?? '');
  } catch {
    throw new InputError('The patch is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('The patch must be a JSON object');
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
    throw new InputError(
      `The patch may not set ${named.join(
        ', ',
      )}: which object is changed comes from the plan, not from the body`,
    );
  }
  return record;
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
