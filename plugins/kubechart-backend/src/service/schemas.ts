import { InputError } from '@backstage/errors';
import {
  codePointName,
  hiddenCharacters,
  RUN_KINDS,
  RUN_STATUSES,
} from '@kubechart/plugin-kubechart-common';
import { RECORDED_RUN_LIMITS } from '@kubechart/plugin-kubechart-node';
import { z } from 'zod';
import { storableText } from '../database/storableText';

/*
 * zod validates every item of an array or record, and every key of a strict object, even past its
 * `.max()`, and reports a problem for each: a 2 MB body of 900,000 items cost seconds of the event
 * loop and a 48 MB answer. Each list, record and closed object here is therefore counted first (an
 * array's length, an object's keys, native and cheap) and refused with one problem naming its bound
 * before zod looks at any item; `parse` lists the first problems only.
 */

/** Most top-level keys of a `values` or `input` object (its nested ones are bounded by the body's nodes). */
export const MAX_VALUES_KEYS = 1000;
/** Most quantities in a quota's `hard`, `defaultLimits` or `defaultRequests`. */
export const MAX_QUANTITIES = 100;
/** Most problems a refusal lists; the others are counted. */
const MAX_PROBLEMS = 10;
/** Longest problem a refusal shows (a path and message quoting a long key or value are cut). */
const MAX_PROBLEM_CHARS = 300;
/** Most unknown keys a refusal names. */
const MAX_KEYS_NAMED = 10;
const MAX_KEY_CHARS = 20;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `schema`, run only once `check` found nothing (a problem it adds is the only one reported). */
const checkedFirst = <T extends z.ZodTypeAny>(
  check: (value: unknown, ctx: z.RefinementCtx) => void,
  schema: T,
) => z.unknown().superRefine(check).pipe(schema);

/** An array of at most `max` items (`min` at least), counted before any item is validated. */
function list<T extends z.ZodTypeAny>(item: T, max: number, min = 0) {
  return checkedFirst((v, ctx) => {
    if (Array.isArray(v) && v.length > max)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `at most ${max} items, not ${v.length}`,
      });
  }, z.array(item).min(min).max(max));
}

/** A record of at most `max` keys, counted before any entry is validated. */
function record<T extends z.ZodTypeAny>(value: T, max: number) {
  return checkedFirst((v, ctx) => {
    if (!isObject(v)) return;
    const keys = Object.keys(v).length;
    if (keys > max)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `at most ${max} keys, not ${keys}`,
      });
  }, z.record(value));
}

/**
 * Refuses an object holding keys outside `known` once it holds more keys than `known` does, naming
 * a few of them and counting the rest, before zod walks them (it would list them all). An object
 * of at most as many keys is left to zod, whose walk is then as short.
 */
function knownKeysOnly(known: ReadonlySet<string>) {
  return (v: unknown, ctx: z.RefinementCtx) => {
    if (!isObject(v)) return;
    const keys = Object.keys(v);
    if (keys.length <= known.size) return;
    const unknown: string[] = [];
    for (const key of keys) {
      if (known.has(key)) continue;
      unknown.push(key);
      if (unknown.length === MAX_KEYS_NAMED) break;
    }
    let knownPresent = 0;
    for (const key of known)
      if (Object.prototype.hasOwnProperty.call(v, key)) knownPresent++;
    const more = keys.length - knownPresent - unknown.length;
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `Unrecognized key(s) in object: ${unknown
        .map(k => `'${cut(k, MAX_KEY_CHARS)}'`)
        .join(', ')}${more > 0 ? ` and ${more} more` : ''}`,
    });
  };
}

/** A strict object, its keys counted (and unknown ones refused) before zod walks them. */
export function closed<T extends z.ZodRawShape>(shape: T) {
  return checkedFirst(
    knownKeysOnly(new Set(Object.keys(shape))),
    z.object(shape).strict(),
  );
}

/** Strict objects told apart by `kind`, their keys counted before zod walks them. */
function closedUnion<
  T extends [
    z.ZodDiscriminatedUnionOption<'kind'>,
    ...z.ZodDiscriminatedUnionOption<'kind'>[],
  ],
>(options: T) {
  return checkedFirst(
    knownKeysOnly(new Set(options.flatMap(o => Object.keys(o.shape)))),
    z.discriminatedUnion('kind', options),
  );
}

/** `text` in at most `max` characters, ending in `…` when cut (never within a surrogate pair). */
function cut(text: string, max: number) {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

const releaseSpec = closed({
  name: z.string().min(1).max(53),
  chart: z.string().min(1).max(512),
  repo: z.string().max(2048).optional(),
  version: z.string().max(64).optional(),
  values: record(z.unknown(), MAX_VALUES_KEYS).optional(),
});

const common = {
  cluster: z.string().min(1).max(253),
  entityRef: z.string().max(255).optional(),
  template: z.string().max(255).optional(),
  onBehalfOf: z.string().max(255).optional(),
};
const namespace = z.string().min(1).max(63);
/** Texts the caller holds as secret (task secrets), removed from what is kept; never kept themselves. */
const secretValues = list(z.string().max(65_536), 100).optional();
const quantities = record(z.string().max(64), MAX_QUANTITIES);

/** Body of POST /runs/:id/approve and /reject: a comment is required. */
export const decideRunSchema = closed({
  comment: z.string().trim().min(1, 'a comment is required').max(2000),
});

/** Body of POST /runs/:id/withdraw: the requester's reason, optional; `onBehalfOf` as for POST /runs. */
export const withdrawRunSchema = closed({
  comment: z.string().trim().max(2000).optional(),
  onBehalfOf: z.string().max(255).optional(),
});

/**
 * A name shown beside another (a tenant's display name, before its code, and as its catalog
 * entity's title): refused when it holds a character a browser does not show as it is (a U+202E
 * reverses the code shown after it; a zero-width space makes two names look the same), naming it.
 */
const shownName = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const [first] = hiddenCharacters(text);
      if (!first) return;
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `holds a hidden character (${codePointName(
          first.char,
        )}), which would change how it or what follows it reads; write it without`,
      });
    });

/** Body of POST /runs. */
export const createRunSchema = closedUnion([
  z
    .object({
      kind: z.literal('tenant'),
      ...common,
      tenant: z.string().max(64),
      displayName: shownName(255).optional(),
      owner: z.string().max(255).optional(),
      quota: closed({
        hard: quantities.optional(),
        defaultLimits: quantities.optional(),
        defaultRequests: quantities.optional(),
      }).optional(),
      releases: list(releaseSpec, 20),
      credentials: list(z.string().max(63), 20).optional(),
      waitTimeoutSeconds: z.number().int().min(10).max(3600).optional(),
      pruneReleases: z.boolean().optional(),
      secretValues,
    })
    .strict(),
  z
    .object({
      kind: z.literal('chart'),
      ...common,
      namespace,
      release: releaseSpec,
      waitTimeoutSeconds: z.number().int().min(10).max(3600).optional(),
      secretValues,
    })
    .strict(),
  z
    .object({
      kind: z.literal('manifests'),
      ...common,
      namespace,
      manifests: z.string().min(1).max(1_000_000),
      secretValues,
    })
    .strict(),
  z
    .object({
      kind: z.literal('rollback'),
      ...common,
      namespace,
      release: z.string().max(53),
      revision: z.number().int().min(1),
      fromRunId: z.string().min(1).max(64).optional(),
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
export const recordRunSchema = closed({
  kind: z.enum(RUN_KINDS as [string, ...string[]]),
  target: closed({
    cluster: z.string().min(1).max(253),
    namespace,
    release: z.string().max(53).optional(),
  }),
  entityRef: z.string().max(255).optional(),
  template: z.string().max(255).optional(),
  action: z.string().max(255).optional(),
  input: record(z.unknown(), MAX_VALUES_KEYS).optional(),
  onBehalfOf: z.string().max(255).optional(),
});

export const appendEventsSchema = closed({
  events: list(
    closed({
      level: z.enum(['info', 'warn', 'error']).optional(),
      message: z.string().max(10_000),
      step: z.string().max(255).optional(),
      stepStatus: z
        .enum(['started', 'succeeded', 'skipped', 'failed'])
        .optional(),
    }),
    1000,
    1,
  ),
});

export const finishRunSchema = closed({
  status: z.enum(['succeeded', 'failed']),
  failureReason: z.string().max(10_000).optional(),
  helmRevision: z.number().int().min(1).optional(),
  // The same bound, and words, as the handle `recordRun` returns checks it with before sending.
  manifest: z
    .string()
    .superRefine((manifest, ctx) => {
      const max = RECORDED_RUN_LIMITS.maxManifestCharacters;
      if (manifest.length > max)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `${manifest.length} characters; a recorded run may report at most ${max} (RECORDED_RUN_LIMITS.maxManifestCharacters)`,
        });
    })
    .optional(),
  values: record(z.unknown(), MAX_VALUES_KEYS).optional(),
});

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

export const listApprovalsQuery = z
  .object({ cursor: z.string().max(500).optional() })
  .strict();

/** Query of GET /tenants/:code/health: the cluster of the tenant, when its code is on several. */
export const tenantHealthQuery = z
  .object({ cluster: z.string().min(1).max(253).optional() })
  .strict();

export const eventsQuery = z
  .object({
    // Bounded as the column is: PostgreSQL refuses to compare `seq` with a larger number (a 500).
    after: z.coerce.number().int().min(0).max(MAX_EVENT_SEQ).optional(),
    follow: z.enum(['true', 'false']).optional(),
  })
  .strict();

const policyCheckShapes = [
  {
    cluster: z.string().max(253).optional(),
    namespace,
    release: releaseSpec,
  },
  {
    cluster: z.string().max(253).optional(),
    namespace,
    manifests: z.string().min(1).max(1_000_000),
  },
] as const;
export const policyCheckSchema = checkedFirst(
  knownKeysOnly(new Set(policyCheckShapes.flatMap(Object.keys))),
  z.union([
    z.object(policyCheckShapes[0]).strict(),
    z.object(policyCheckShapes[1]).strict(),
  ]),
);

/**
 * Parses with zod; a failure is an InputError listing the first problems (each cut short) and
 * counting the others, so a refusal stays a few hundred characters whatever the input holds.
 */
export function parse<S extends z.ZodTypeAny>(
  schema: S,
  data: unknown,
  what: string,
): z.output<S> {
  const r = schema.safeParse(data);
  if (!r.success) {
    const { issues } = r.error;
    const listed = issues
      .slice(0, MAX_PROBLEMS)
      .map(i =>
        cut(`${i.path.join('.') || '(root)'}: ${i.message}`, MAX_PROBLEM_CHARS),
      );
    if (issues.length > MAX_PROBLEMS)
      listed.push(`and ${issues.length - MAX_PROBLEMS} more problems`);
    throw new InputError(`Invalid ${what}: ${listed.join('; ')}`);
  }
  return r.data;
}
