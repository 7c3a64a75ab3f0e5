import { InputError } from '@backstage/errors';
import { RUN_KINDS, RUN_STATUSES } from '@kubechart/plugin-kubechart-common';
import { z } from 'zod';
import { storableText } from '../database/storableText';

const releaseSpec = z
  .object({
    name: z.string().min(1).max(53),
    chart: z.string().min(1).max(512),
    repo: z.string().max(2048).optional(),
    version: z.string().max(64).optional(),
    values: z.record(z.unknown()).optional(),
  })
  .strict();

const common = {
  cluster: z.string().min(1).max(253),
  entityRef: z.string().max(255).optional(),
  template: z.string().max(255).optional(),
  onBehalfOf: z.string().max(255).optional(),
};
const namespace = z.string().min(1).max(63);
const quantities = z.record(z.string().max(64));

/** Body of POST /runs/:id/approve and /reject: a comment is required. */
export const decideRunSchema = z
  .object({
    comment: z.string().trim().min(1, 'a comment is required').max(2000),
  })
  .strict();

/** Body of POST /runs. */
export const createRunSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('tenant'),
      ...common,
      tenant: z.string().max(64),
      displayName: z.string().max(255).optional(),
      owner: z.string().max(255).optional(),
      quota: z
        .object({
          hard: quantities.optional(),
          defaultLimits: quantities.optional(),
          defaultRequests: quantities.optional(),
        })
        .strict()
        .optional(),
      releases: z.array(releaseSpec).max(20),
      credentials: z.array(z.string().max(63)).max(20).optional(),
      waitTimeoutSeconds: z.number().int().min(10).max(3600).optional(),
      pruneReleases: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('chart'),
      ...common,
      namespace,
      release: releaseSpec,
      waitTimeoutSeconds: z.number().int().min(10).max(3600).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('manifests'),
      ...common,
      namespace,
      manifests: z.string().min(1).max(1_000_000),
    })
    .strict(),
  z
    .object({
      kind: z.literal('rollback'),
      ...common,
      namespace,
      release: z.string().max(53),
      revision: z.number().int().min(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('tenant-delete'),
      ...common,
      tenant: z.string().max(64),
    })
    .strict(),
]);

/** Body of POST /runs/record. */
export const recordRunSchema = z
  .object({
    kind: z.enum(RUN_KINDS as [string, ...string[]]),
    target: z
      .object({
        cluster: z.string().min(1).max(253),
        namespace,
        release: z.string().max(53).optional(),
      })
      .strict(),
    entityRef: z.string().max(255).optional(),
    template: z.string().max(255).optional(),
    action: z.string().max(255).optional(),
    input: z.record(z.unknown()).optional(),
    onBehalfOf: z.string().max(255).optional(),
  })
  .strict();

export const appendEventsSchema = z
  .object({
    events: z
      .array(
        z
          .object({
            level: z.enum(['info', 'warn', 'error']).optional(),
            message: z.string().max(10_000),
            step: z.string().max(255).optional(),
            stepStatus: z
              .enum(['started', 'succeeded', 'skipped', 'failed'])
              .optional(),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();

export const finishRunSchema = z
  .object({
    status: z.enum(['succeeded', 'failed']),
    failureReason: z.string().max(10_000).optional(),
    helmRevision: z.number().int().min(1).optional(),
    manifest: z.string().max(5_000_000).optional(),
    values: z.record(z.unknown()).optional(),
  })
  .strict();

/**
 * A free-text query filter (an entity ref, an actor, a cluster or namespace), read as the run and
 * drift stores write text (`storableText`: U+0000, which PostgreSQL refuses in a query, and lone
 * surrogates become U+FFFD). A filter then matches the records stored from such text, and `%00`
 * finds nothing instead of failing the request with a 500. Every route reads its text filters
 * through this, so they are cleaned once, where the query is parsed.
 */
export const textFilter = (text: z.ZodString) =>
  text.transform(value => storableText(value));

/** The largest `seq` a run event can have (the column is a 32-bit integer). */
const MAX_EVENT_SEQ = 2_147_483_647;

export const listRunsQuery = z
  .object({
    entityRef: textFilter(z.string().max(255)).optional(),
    kind: z.enum(RUN_KINDS as [string, ...string[]]).optional(),
    status: z.enum(RUN_STATUSES as [string, ...string[]]).optional(),
    actor: textFilter(z.string().max(255)).optional(),
    from: z.string().datetime({ offset: true }).optional(),
    to: z.string().datetime({ offset: true }).optional(),
    cursor: z.string().max(500).optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
  })
  .strict();

export const eventsQuery = z
  .object({
    // Bounded as the column is: PostgreSQL refuses to compare `seq` with a larger number (a 500).
    after: z.coerce.number().int().min(0).max(MAX_EVENT_SEQ).optional(),
    follow: z.enum(['true', 'false']).optional(),
  })
  .strict();

export const policyCheckSchema = z.union([
  z
    .object({
      cluster: z.string().max(253).optional(),
      namespace,
      release: releaseSpec,
    })
    .strict(),
  z
    .object({
      cluster: z.string().max(253).optional(),
      namespace,
      manifests: z.string().min(1).max(1_000_000),
    })
    .strict(),
]);

/** Parses with zod; a failure is an InputError listing each problem. */
export function parse<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    throw new InputError(
      `Invalid ${what}: ${r.error.issues
        .map(i => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return r.data;
}
