import {
  PLAN_FILTERS,
  PLAN_RESOURCES,
  PLAN_SORT_KEYS,
  PLAN_VERBS,
  ROLLOUT_ACTIONS,
  MAX_PLAN_LIMIT,
} from './plan';

const nullable = (schema: Record<string, unknown>, description: string) => ({
  anyOf: [schema, { type: 'null' }],
  description,
});

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

/**
 * JSON Schema of a provider's answer (`{ plan, explanation }`), for models
 * that accept a schema for structured output (Ollama's `format`, OpenAI's
 * `response_format`). Optional fields may be null or left out.
 *
 * @public
 */
export const planAnswerJsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['plan', 'explanation'],
  properties: {
    plan: {
      type: 'object',
      additionalProperties: false,
      required: ['verb', 'resource'],
      properties: {
        verb: { type: 'string', enum: [...PLAN_VERBS] },
        resource: { type: 'string', enum: [...PLAN_RESOURCES] },
        name: nullable({ type: 'string' }, 'Name of a single resource'),
        namespace: nullable({ type: 'string' }, 'Namespace (-n)'),
        allNamespaces: nullable({ type: 'boolean' }, 'All namespaces (-A)'),
        labelSelector: nullable(
          { type: 'string' },
          'Label selector (-l); not with name, not for top nodes or the events verb',
        ),
        fieldSelector: nullable(
          { type: 'string' },
          'Field selector, e.g. type=Warning or status.phase=Pending; for get, describe, delete, label, annotate, rollout (the events verb: type only); not with name',
        ),
        filter: nullable(
          { type: 'string', enum: [...PLAN_FILTERS] },
          'For verb get: condition applied to listed rows',
        ),
        sortBy: nullable(
          { type: 'string', enum: [...PLAN_SORT_KEYS] },
          'Sort key: for get (not cpu/memory), top (cpu or memory), events (time)',
        ),
        limit: nullable(
          { type: 'integer', minimum: 1, maximum: MAX_PLAN_LIMIT },
          'Maximum rows, for get, top and events (log lines: tailLines)',
        ),
        output: nullable(
          { type: 'string', enum: ['wide', 'yaml', 'json'] },
          'For verb get of one named object: yaml or json (-o)',
        ),
        container: nullable(
          { type: 'string' },
          'Container (-c), for logs and exec',
        ),
        tailLines: nullable(
          { type: 'integer', minimum: 1 },
          'For verb logs: log lines (--tail)',
        ),
        previous: nullable(
          { type: 'boolean' },
          'For verb logs: the previous container (--previous)',
        ),
        rolloutAction: nullable(
          { type: 'string', enum: [...ROLLOUT_ACTIONS] },
          'For verb rollout',
        ),
        replicas: nullable({ type: 'integer', minimum: 0 }, 'For verb scale'),
        labels: nullable(stringMap, 'For verb label'),
        annotations: nullable(stringMap, 'For verb annotate'),
        command: nullable(
          { type: 'array', items: { type: 'string' } },
          'For verb exec',
        ),
        patch: nullable(
          { type: 'string' },
          'For verb patch: a JSON merge patch',
        ),
      },
    },
    explanation: {
      type: 'string',
      description: 'One paragraph explaining what the command shows or does',
    },
  },
} as const;

/**
 * Drops `null` values recursively, so a model's "not set" (null) reads as
 * an absent optional field.
 *
 * @public
 */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(stripNulls);
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && v !== undefined) out[k] = stripNulls(v);
    }
    return out;
  }
  return value;
}
