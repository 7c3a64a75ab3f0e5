import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEvent,
  AuditEventFilters,
  AuditEventInput,
  AuditEventPage,
  AuditEventQuery,
  AuditGap,
  AuditGapInfo,
  AuditPruneCheckpoint,
  AuditPruneResult,
  AuditVerifyResult,
  describeGap,
} from '@kubechart/plugin-audit-log-common';
import { createGapEvent } from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import {
  AuditAppendResult,
  AuditChainHead,
  AuditEventCheck,
  AuditPruneCut,
  AuditStore,
  AuditVerifyOptions,
} from './AuditStore';
import {
  canonicalParts,
  chainFields,
  checkStoredHash,
  EventRow,
  HASHED_COLUMNS,
  hashNumbered,
  KEYED_CHAIN_VERSION,
  linkRow,
  postgresCanonicalTextV2,
  postgresContentDigest,
  postgresHashExpression,
  signText,
  storedHashMatches,
  toIso,
} from './chain';
import { anchorBroken } from './anchorCheck';
import { CHAIN_KEY_EVENT_ID, ChainKeyring } from './chainKeys';
import { decodeCursor, encodeCursor } from './cursor';
import { inputToRow, placeholderFor, rowToEvent } from './rows';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-audit-log-backend',
  'migrations',
);

const EVENTS = 'audit_log_events';
const HEAD = 'audit_log_chain_head';
/**
 * PostgreSQL: each event's {@link PG_SEARCH_TEXT}, copied behind the appends (seq, body), with the
 * trigram index of the free-text search (migration 20261212000000_search_text).
 */
const SEARCH_TEXT = 'audit_log_search_text';
/** PostgreSQL: the single row (id 1) whose `indexed_through` is the newest event copied. */
const SEARCH_STATE = 'audit_log_search_state';
/** PostgreSQL: the BRIN index on the copied text's `seq` a ranged search is ANDed with. */
const SEARCH_WINDOW_INDEX = 'audit_log_search_text_seq_brin';
/** PostgreSQL: the copied text's trigram index. */
const SEARCH_TRIGRAM_INDEX = 'audit_log_search_text_trgm';
/** SQLite: the FTS5 (trigram) table of the free-text search. */
const SEARCH = 'audit_log_events_search';
/**
 * PostgreSQL: the text the free-text search matches, the searched columns joined by chr(31). Equal
 * to the text migration 20261212000000_search_text copies into {@link SEARCH_TEXT}.
 */
const PG_SEARCH_TEXT = `(${[
  'actor',
  'plugin_id',
  'event_id',
  'target_entity_ref',
  'target_cluster',
  'target_namespace',
  'target_resource',
  'request_path',
  'meta',
  'error',
]
  .map(c => `coalesce(${c}, '')`)
  .join(' || chr(31) || ')})`;

/** The columns of an event row and their PostgreSQL types, for the `unnest` insert. */
const INSERTED_COLUMNS: Array<{ name: keyof EventRow; type: string }> = [
  ...HASHED_COLUMNS,
  'prev_hash' as const,
  'hash' as const,
  'chain_version' as const,
  'chain_key_id' as const,
].map(name => ({
  name,
  type:
    { seq: 'bigint', occurred_at: 'timestamptz', chain_version: 'smallint' }[
      name as string
    ] ?? 'text',
}));

/** The columns of an event row that do not depend on its place in the chain (all but seq). */
const CONTENT_COLUMNS = HASHED_COLUMNS.filter(
  (name): name is Exclude<(typeof HASHED_COLUMNS)[number], 'seq'> =>
    name !== 'seq',
);

/**
 * PostgreSQL: one statement appends a batch and moves the chain head. Its parameters are the
 * first sequence number, the batch's chain_version and chain_key_id, one array per
 * {@link CONTENT_COLUMNS} column (built before the chain head is locked), the prev_hash and hash
 * arrays, and the head's new last_seq and last_hash.
 */
const PG_APPEND = `WITH inserted AS (
  INSERT INTO ${EVENTS} (seq, ${CONTENT_COLUMNS.join(
  ', ',
)}, prev_hash, hash, chain_version, chain_key_id)
  SELECT ?::bigint + r.n - 1, ${CONTENT_COLUMNS.map(c => `r.${c}`).join(
    ', ',
  )}, r.prev_hash, r.hash, ?::smallint, ?::text
  FROM unnest(${CONTENT_COLUMNS.map(
    c => `?::${c === 'occurred_at' ? 'timestamptz' : 'text'}[]`,
  ).join(', ')}, ?::text[], ?::text[])
    WITH ORDINALITY AS r(${CONTENT_COLUMNS.join(', ')}, prev_hash, hash, n)
)
UPDATE ${HEAD} SET last_seq = ?, last_hash = ? WHERE id = 1`;

const ARRAY_ELEMENT_ESCAPED = /["\\]/g;

/**
 * A PostgreSQL array literal of text values: each element quoted (`"` and `\` escaped), NULL for
 * null. node-postgres makes the same text of a JavaScript array; this one is made before the chain
 * head is locked.
 */
export function textArrayLiteral(
  values: ReadonlyArray<string | null | undefined>,
): string {
  const elements = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    elements[i] =
      value === null || value === undefined
        ? 'NULL'
        : `"${value.replace(ARRAY_ELEMENT_ESCAPED, '\\$&')}"`;
  }
  return `{${elements.join(',')}}`;
}

/** Rows per INSERT statement on SQLite; keeps well under the bind-parameter limits. */
const INSERT_CHUNK = 500;
/** Events per verify range when every event comes back to this process (hashed here, or keyed). */
const VERIFY_BATCH = 10000;
/**
 * Events per verify range when the server hashes an unkeyed chain and returns only the range's ends
 * and its breaks: fewer, larger ranges cost less (1M events on two cores: 1.29–1.46 s against
 * 1.52–1.69 s with ranges of 10,000, measured with `store.verify()` on the same database).
 */
const VERIFY_BATCH_ON_SERVER = 50000;
/** Ranges in flight during verify. */
const VERIFY_PREFETCH = 3;
const STREAM_BATCH = 1000;
const DELETE_BATCH = 10000;
const DEFAULT_PAGE_SIZE = 50;
/** Gap records verify lists in detail, and how many it sums up. */
const MAX_REPORTED_GAPS = 100;
const MAX_SUMMED_GAPS = 1000;
const MAX_PAGE_SIZE = 500;

/**
 * What verify needs of an event. On PostgreSQL only the events worth a look come back from the
 * server: the first of each range, the last, and any that does not continue the chain.
 */
type LinkRow = {
  seq: number | string;
  prev_hash: string;
  hash: string;
  chain_version: number | string;
  /**
   * Whether the hash recomputed from the row's content and its own prev_hash, in the form its
   * chain_version names, equals `hash`. Version 3 events are always checked in JavaScript.
   */
  intact: boolean;
  /** Version 3: the event names a key that is not configured (then `intact` is false). */
  unknownKey?: boolean;
  chain_key_id?: string | null;
  /** Tell a version 3 event that starts the keyed part of the chain (see verify). */
  plugin_id?: string;
  event_id?: string;
  /**
   * PostgreSQL: the event stored just before this one in the range, when this one is not the
   * range's first. Every event between the previous row returned and this one was found by the
   * server to follow its predecessor (next seq, prev_hash = its hash, content intact).
   */
  before_seq?: number | string | null;
  before_hash?: string | null;
};

/** The hash on PostgreSQL: a version 4 event's from the database's `content_digest` column. */
const POSTGRES_HASH_FROM_DIGEST = postgresHashExpression(undefined, 'column');
/** The same with every event's text built from its columns (the column is not trusted). */
const POSTGRES_HASH = postgresHashExpression();
const POSTGRES_V2_TEXT = postgresCanonicalTextV2();
/** Where verify hashes: on the database server, with or without its content digests, or here. */
type VerifyHashing = 'server-digests' | 'server' | 'here';

type HeadRow = {
  id: number;
  last_seq: number | string;
  last_hash: string;
  checkpoint_seq: number | string;
  checkpoint_hash: string;
  pruned_at: Date | string | null;
};

/**
 * A version 1 or 2 event after a version 3 one: whoever can write the database could otherwise
 * rewrite the tail of a keyed chain in the unkeyed form.
 */
function unkeyedAfterKeyed(
  seq: number,
  firstKeyedSeq: number,
): { failedSeq: number; reason: string } {
  return {
    failedSeq: seq,
    reason: `Event ${seq} is an unkeyed event after keyed events (the chain is signed with a key from event ${firstKeyedSeq} on): it was rewritten without the key, or written by a replica without auditLog.chain.key`,
  };
}

/**
 * A keyed event against the keyed event before it (`last`): keys take over the chain in the order
 * of the configuration (`auditLog.chain.previousKeys` oldest first, then `auditLog.chain.key`,
 * {@link ChainKeyring.rank}) and never go back, and a key's first event after another key's is
 * the `chain-key-configured` event a backend signs when it starts with it. Otherwise whoever holds
 * a retired key could re-sign with it every event signed after it was retired.
 */
function keyOrderBreak(
  keys: ChainKeyring,
  last: { seq: number; keyId: string } | undefined,
  seq: number,
  row: Pick<LinkRow, 'chain_key_id' | 'plugin_id' | 'event_id'>,
): { failedSeq: number; reason: string } | undefined {
  const keyId = row.chain_key_id;
  if (!last || !keyId || keyId === last.keyId) return undefined;
  const rank = keys.rank(keyId);
  const lastRank = keys.rank(last.keyId);
  if (rank === undefined || lastRank === undefined) return undefined;
  const key = `the key of id ${keyId} (${keys.setting(keyId)})`;
  if (rank < lastRank) {
    return {
      failedSeq: seq,
      reason: `Event ${seq} is signed with ${key} after event ${
        last.seq
      } was signed with the newer key of id ${last.keyId} (${keys.setting(
        last.keyId,
      )}): keys take over in the order of auditLog.chain.previousKeys, oldest first, then auditLog.chain.key, and never go back, so it was re-signed with a retired key, written by a replica still configured with it, or auditLog.chain.previousKeys is not listed oldest first`,
    };
  }
  if (
    row.plugin_id !== AUDIT_LOG_PLUGIN_ID ||
    row.event_id !== CHAIN_KEY_EVENT_ID
  ) {
    return {
      failedSeq: seq,
      reason: `Event ${seq}, the first event signed with ${key} after events signed with the key of id ${
        last.keyId
      } (${keys.setting(
        last.keyId,
      )}), is not the ${AUDIT_LOG_PLUGIN_ID} / ${CHAIN_KEY_EVENT_ID} event a backend signs when it starts with a new key: events this key signed before it may have been re-signed with an older key`,
    };
  }
  return undefined;
}

/**
 * An event's row and hashed text, built before the chain-head lock is taken: under it an append
 * only numbers, hashes and inserts.
 */
function prepareRows(events: AuditEventInput[]) {
  return events.map(event => {
    const { seq: _unnumbered, ...row } = inputToRow(event, 0);
    return { row, parts: canonicalParts(row) };
  });
}

type PreparedRow = ReturnType<typeof prepareRows>[number];

/**
 * Events prepared between two turns of the event loop. Preparing is 10–20 µs an event (cleaning,
 * redaction, canonical JSON): a batch of 500 in one go kept the event loop for 5–10 ms, and with
 * it the reply to any append holding the chain-head lock in this process, which every replica
 * waits for.
 */
const PREPARE_SLICE = 50;

/** {@link prepareRows}, giving the event loop a turn after each {@link PREPARE_SLICE} events. */
async function prepareRowsInSlices(
  events: AuditEventInput[],
): Promise<PreparedRow[]> {
  if (events.length <= PREPARE_SLICE) return prepareRows(events);
  const prepared: PreparedRow[] = [];
  for (let i = 0; i < events.length; i += PREPARE_SLICE) {
    if (i > 0) await new Promise(resolve => setImmediate(resolve));
    prepared.push(...prepareRows(events.slice(i, i + PREPARE_SLICE)));
  }
  return prepared;
}

function parseGap(meta: string | null): AuditGapInfo | undefined {
  try {
    const gap = meta ? JSON.parse(meta)?.gap : undefined;
    return gap && typeof gap.dropped === 'number' ? gap : undefined;
  } catch {
    return undefined;
  }
}

const LOSS_ID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The loss of a gap record the queue wrote for a loss it had recorded outside the database
 * (`meta.lossRecorded`, the count of its last loss record there), or undefined: a backend
 * starting meanwhile may have appended a gap record for that loss from the witness file. `cap`
 * is the most such gap records may take off it.
 */
function recordedLossOf(
  event: AuditEventInput,
): { id: string; cap: number } | undefined {
  const meta = event.meta as Record<string, unknown> | undefined;
  return event.plugin === AUDIT_LOG_PLUGIN_ID &&
    event.eventId === AUDIT_GAP_EVENT_ID &&
    typeof meta?.lossRecorded === 'number' &&
    Number.isSafeInteger(meta.lossRecorded) &&
    meta.lossRecorded > 0 &&
    typeof meta.lossId === 'string' &&
    LOSS_ID.test(meta.lossId)
    ? { id: meta.lossId, cap: meta.lossRecorded }
    : undefined;
}

/** `counts` less `held`, the positive differences only; undefined when they do not add up to `total`. */
function countsLess(
  counts: Partial<Record<string, number>> | undefined,
  held: Partial<Record<string, number>> | undefined,
  total: number,
): Record<string, number> | undefined {
  if (!counts) return undefined;
  const rest: Record<string, number> = {};
  let sum = 0;
  for (const [key, count] of Object.entries(counts)) {
    const left = (count ?? 0) - (held?.[key] ?? 0);
    if (left > 0) {
      rest[key] = left;
      sum += left;
    }
  }
  return sum === total ? rest : undefined;
}

/**
 * What `gap` counts beyond `held`, the counts of the gap records the chain holds for the same loss
 * (a loss record is a snapshot of the loss as it grew, so they count a part of it); undefined when
 * they count all of it.
 */
function gapBeyond(
  gap: AuditGapInfo,
  held: AuditGapInfo,
): AuditGapInfo | undefined {
  const dropped = gap.dropped - held.dropped;
  if (dropped <= 0) return undefined;
  const bySeverity = countsLess(gap.bySeverity, held.bySeverity, dropped) as
    | AuditGapInfo['bySeverity']
    | undefined;
  const byEvent = countsLess(gap.byEvent, held.byEvent, dropped);
  return {
    dropped,
    firstOccurredAt: gap.firstOccurredAt,
    lastOccurredAt: gap.lastOccurredAt,
    // the reasons the loss was dropped for, when their counts do not split exactly
    reasons: countsLess(gap.reasons, held.reasons, dropped) ?? gap.reasons,
    ...(bySeverity ? { bySeverity } : {}),
    ...(byEvent ? { byEvent } : {}),
    ...(gap.incomplete ? { incomplete: true } : {}),
  };
}

/** `held` counting at most `cap` events: without its counts per key when it counted more. */
function capGap(held: AuditGapInfo, cap: number): AuditGapInfo {
  return held.dropped <= cap
    ? held
    : { dropped: cap, firstOccurredAt: '', lastOccurredAt: '', reasons: {} };
}

/** The counts of several gap records together (their times are not needed). */
function sumGaps(gaps: AuditGapInfo[]): AuditGapInfo {
  const reasons: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  const byEvent: Record<string, number> = {};
  const add = (into: Record<string, number>, from: object | undefined) => {
    for (const [key, count] of Object.entries(from ?? {})) {
      if (typeof count === 'number') into[key] = (into[key] ?? 0) + count;
    }
  };
  let dropped = 0;
  for (const gap of gaps) {
    dropped += gap.dropped;
    add(reasons, gap.reasons);
    add(bySeverity, gap.bySeverity);
    add(byEvent, gap.byEvent);
  }
  return {
    dropped,
    firstOccurredAt: '',
    lastOccurredAt: '',
    reasons,
    bySeverity,
    byEvent,
  };
}

function checkpointOf(head: HeadRow): AuditPruneCheckpoint | undefined {
  const throughSeq = Number(head.checkpoint_seq);
  if (throughSeq === 0 || !head.pruned_at) {
    return undefined;
  }
  return {
    throughSeq,
    hash: head.checkpoint_hash,
    prunedAt: toIso(head.pruned_at),
  };
}

/** Events sampled to tell a common search text from a rare one. */
const SEARCH_SAMPLE_SIZE = 2000;
const SEARCH_SAMPLE_TTL_MS = 60_000;
/**
 * Events of the sample (1% of a full one) holding the search text from which a search walks the
 * primary key instead of the trigram index: the walk then finds a page within ≈5,000 events.
 */
const COMMON_HITS = 20;

/**
 * Sample events holding the rarest word from which the trigram index is asked for the whole text
 * instead (5%): reading the posting lists of the trigrams every event has costs less than
 * fetching that many candidates.
 */
const KEY_MAX_HITS = 100;

/**
 * Most events (a range of sequence numbers) one search request walks newest first: ≈20–35 ms
 * of matching at 4–7 µs an event, as many as an entity-scoped reader examines. A text common
 * among the newest events may be rare further back, and a text the trigram index cannot narrow
 * (every word of it common, `"index":0,`) has no fast plan at all; either would otherwise walk
 * the whole trail in one request (2.4 s at 1M). A page is then cut short, even empty, with a
 * cursor to go on from, as for entity-scoped readers.
 */
const SEARCH_WALK_SPAN = 5_000;

/**
 * Longest a search through the trigram index may run (statement_timeout) before the request falls
 * back to the bounded walk: the index plan's cost grows with the candidates its key leaves, which
 * the sample only estimates.
 */
const SEARCH_INDEX_TIMEOUT_MS = 500;

/**
 * The trigram index plan asks for one range of sequence numbers at a time (newest first) once the
 * key's word is in this many events of the sample: PostgreSQL rechecks every candidate the index
 * returns in its table page (≈2–4 µs an event and more per page), and a word like `273` has
 * ≈6,000 at 1M events where a page of 51 needs the newest few hundred. A word the sample does
 * not hold is asked for over the whole trail at once (one index scan costs less than several).
 * The newest events are a biased sample of numbers in the text (their `"index":` values all
 * start with 99…), so any hit counts.
 */
const SEARCH_RANGE_KEY_HITS = 1;

/**
 * The first range holds this many times a page of hits by the sample's count of the whole text
 * (plus one: a text the sample does not hold is still in the trail); each further range twice
 * the hits still missing by the share the last range had (1–8× its size), down to the oldest
 * event.
 */
const SEARCH_RANGE_PAGES = 2;

/**
 * Fewest sequence numbers in a range: a smaller one saves less than another index scan costs
 * (a search for a word in no event reads ≈430 pages of the trigram index, 1.5–2 ms at 1M events).
 */
const SEARCH_RANGE_MIN = 10_000;

/** Events whose text one transaction of the search text copy takes. */
const SEARCH_COPY_BATCH = 10_000;

/**
 * How long after an append (or a search that found events not copied) the copy of the search
 * text starts: the appends of that time are copied together, off their path.
 */
const SEARCH_COPY_DELAY_MS = 100;

/** How long before the copy is tried again when another session (a replica) is copying. */
const SEARCH_COPY_RETRY_MS = 1000;

/** PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

/** A word of a search text and how pg_trgm sees it. */
export type SearchWord = {
  /** The word with the character before and after it in `q`, when there is one. */
  text: string;
  word: string;
  /** Whether `q` has a character before (after) the word: pg_trgm then pads that end. */
  before: boolean;
  after: boolean;
};

/**
 * The word of `q` (a run of letters and digits: what pg_trgm makes trigrams of) that `count`
 * finds in the fewest events, longest first among equals, with the character before and after it
 * in `q` (a word boundary gives pg_trgm padded trigrams: ` 0 ` finds the word 0, not every 0).
 * Words under 3 characters count only between two such characters. Undefined when no word does.
 */
export function rarestWord(
  q: string,
  count: (word: SearchWord) => number,
): (SearchWord & { hits: number }) | undefined {
  let best: (SearchWord & { hits: number; length: number }) | undefined;
  for (const match of q.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = match[0];
    // a neighbour only when it is a whole BMP character: half a surrogate pair would reach the
    // database as U+FFFD and match nothing
    const at = match.index!;
    const end = at + word.length;
    const before = at > 0 && !isSurrogate(q.charCodeAt(at - 1));
    const after = end < q.length && !isSurrogate(q.charCodeAt(end));
    const length = [...word].length;
    if (length < 3 && !(before && after)) continue;
    const candidate = {
      text: q.slice(before ? at - 1 : at, after ? end + 1 : end),
      word,
      before,
      after,
    };
    const hits = count(candidate);
    if (
      !best ||
      hits < best.hits ||
      (hits === best.hits && length > best.length)
    ) {
      best = { ...candidate, hits, length };
    }
  }
  if (!best) return undefined;
  const { length: _length, ...rarest } = best;
  return rarest;
}

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}

/**
 * The operator matching `text` case-insensitively: `LIKE` when `text` is ASCII without letters
 * (`-123`, `:123457,`), which no case mapping turns into or out of, so `LIKE` finds exactly what
 * `ILIKE` finds without lower-casing each candidate's whole search text (≈60% of the trigram
 * index plan's recheck time at 1M events); `ILIKE` otherwise. pg_trgm reads the same trigrams
 * for both.
 */
export function caseInsensitiveLike(text: string): 'LIKE' | 'ILIKE' {
  return /^[^A-Za-z\u0080-\uffff]*$/.test(text) ? 'LIKE' : 'ILIKE';
}

/**
 * The cursor of the page after `items`: below its last item when more rows were found than fit,
 * else below the range a bounded search stopped at, if it stopped before the oldest event.
 */
function nextCursorOf(
  items: AuditEvent[],
  more: boolean,
  continueBelow: number | undefined,
): string | undefined {
  if (more) return encodeCursor(items[items.length - 1].seq);
  if (continueBelow !== undefined) return encodeCursor(continueBelow);
  return undefined;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, c => `\\${c}`);
}

/** The newest events, by which a free-text search on PostgreSQL is planned. */
type SearchSample = {
  /** When it was read (Date.now()). */
  at: number;
  /** The newest event's sequence number (0 for an empty trail). */
  newest: number;
  /** Newest first: each event's lower-cased search text and the words in it (once each). */
  events: Array<{ seq: number; text: string; words: string[] }>;
  /** Events per whole word. */
  words: Map<string, number>;
};

/**
 * `previous` with the events read since (`rows`, newest first) added and as many of its oldest
 * dropped: at most {@link SEARCH_SAMPLE_SIZE} events.
 */
function nextSample(
  previous: SearchSample | undefined,
  rows: Array<{ seq: number | string; text: string }>,
  at: number,
): SearchSample {
  const added = rows.map(row => ({
    seq: Number(row.seq),
    text: row.text,
    words: [...new Set(row.text.match(/[\p{L}\p{N}]+/gu))],
  }));
  const kept = (previous?.events ?? []).slice(
    0,
    Math.max(0, SEARCH_SAMPLE_SIZE - added.length),
  );
  const words = new Map(previous?.words);
  const count = (list: typeof added, by: number) => {
    for (const event of list) {
      for (const word of event.words) {
        const n = (words.get(word) ?? 0) + by;
        if (n > 0) words.set(word, n);
        else words.delete(word);
      }
    }
  };
  count(previous?.events.slice(kept.length) ?? [], -1);
  count(added, 1);
  return {
    at,
    newest: added[0]?.seq ?? previous?.newest ?? 0,
    events: [...added, ...kept],
    words,
  };
}

/**
 * Knex-backed {@link AuditStore} for PostgreSQL and SQLite.
 *
 * Appends lock the single chain-head row (`SELECT … FOR UPDATE` on
 * PostgreSQL) so that any number of backend replicas extend one chain with
 * gapless sequence numbers.
 *
 * @public
 */
export class DatabaseAuditStore implements AuditStore {
  readonly #db: Knex;
  readonly #isPostgres: boolean;

  static async create(options: {
    database: DatabaseService;
    /** The keys the chain is signed with (`auditLog.chain`); unkeyed (version 2) without. */
    chainKeys?: ChainKeyring;
  }): Promise<DatabaseAuditStore> {
    const { database, chainKeys } = options;
    const client = await database.getClient();
    if (!database.migrations?.skip) {
      await DatabaseAuditStore.runMigrations(client);
    }
    const store = new DatabaseAuditStore(client, { chainKeys });
    // what replicas appended while none was copying
    store.#copySearchTextSoon();
    return store;
  }

  /** Applies the plugin's migrations to `knex`. */
  static async runMigrations(knex: Knex): Promise<void> {
    await knex.migrate.latest({ directory: migrationsDir });
  }

  /** The directory of the knex migrations. */
  static readonly migrationsDirectory = migrationsDir;

  readonly #verifyBatchSize: number | undefined;
  readonly #searchWalkSpan: number;
  readonly #searchIndexTimeoutMs: number;
  readonly #searchRangeSpan: number | undefined;
  readonly #copiesSearchText: boolean;
  readonly #keys: ChainKeyring | undefined;

  constructor(
    db: Knex,
    options?: {
      /**
       * The keys the chain is signed with: new events are version 3, signed with the current
       * key, and verify needs the newest event to be signed with one of them. Without keys new
       * events are version 2 (unkeyed) and version 3 events fail verify.
       */
      chainKeys?: ChainKeyring;
      verifyBatchSize?: number;
      searchWalkSpan?: number;
      searchIndexTimeoutMs?: number;
      /** Sequence numbers in the trigram index plan's first range (default: by the sample). */
      searchRangeSpan?: number;
      /**
       * PostgreSQL: whether appends (and searches that find events not yet copied) start the copy
       * of the search text themselves, shortly after (default true). Without, only
       * {@link DatabaseAuditStore.copySearchText} copies it; search finds every event either way.
       */
      copySearchTextAfterAppends?: boolean;
    },
  ) {
    this.#db = db;
    this.#verifyBatchSize = options?.verifyBatchSize;
    this.#searchWalkSpan = options?.searchWalkSpan ?? SEARCH_WALK_SPAN;
    this.#searchIndexTimeoutMs =
      options?.searchIndexTimeoutMs ?? SEARCH_INDEX_TIMEOUT_MS;
    this.#searchRangeSpan = options?.searchRangeSpan;
    this.#copiesSearchText = options?.copySearchTextAfterAppends ?? true;
    this.#keys = options?.chainKeys;
    this.#isPostgres = db.client.config.client === 'pg';
  }

  async append(events: AuditEventInput[]): Promise<AuditAppendResult> {
    if (events.length === 0) {
      throw new InputError('Nothing to append');
    }
    // Cleaning, redaction and the canonical JSON are done before the chain head is locked: only
    // numbering, the sha256 of each event and the insert hold the lock every replica waits for.
    const prepared = await prepareRowsInSlices(events);
    const recordedLosses = events.some(event => recordedLossOf(event));
    if (this.#isPostgres && !recordedLosses) {
      const appended = await this.#appendBatchPostgres(prepared);
      if (appended) {
        this.#copySearchTextSoon();
        return appended;
      }
    }
    const result = await this.#db.transaction(async tx => {
      const head = await this.#lockHead(tx);
      if (!recordedLosses) {
        return this.#appendLocked(tx, head, events, prepared);
      }
      const rest = await this.#beyondHeldLosses(tx, head, events, prepared);
      return rest.events.length > 0
        ? this.#appendLocked(tx, head, rest.events, rest.prepared)
        : {
            firstSeq: Number(head.last_seq) + 1,
            lastSeq: Number(head.last_seq),
          };
    });
    this.#copySearchTextSoon();
    return result;
  }

  /**
   * The gap records of each loss id (`meta.lossId`) among `ids` that the chain holds: only the
   * events verify walks (after the checkpoint, up to the head), and only those whose hash
   * matches their content (with a chain key, signed with a configured key). A row a database
   * writer added outside the chain, or rewrote in it, takes nothing off a loss. Run under the
   * chain-head lock.
   */
  async #heldLossGaps(
    tx: Knex.Transaction,
    head: HeadRow,
    ids: Set<string>,
  ): Promise<Map<string, AuditGapInfo[]>> {
    const held = new Map<string, AuditGapInfo[]>();
    if (ids.size === 0) return held;
    const rows: EventRow[] = await tx<EventRow>(EVENTS)
      .where({ plugin_id: AUDIT_LOG_PLUGIN_ID, event_id: AUDIT_GAP_EVENT_ID })
      .where('seq', '>', Number(head.checkpoint_seq))
      .where('seq', '<=', Number(head.last_seq))
      .where(builder => {
        for (const id of ids) {
          // ids are UUIDs: no LIKE wildcard in them
          builder.orWhere('meta', 'like', `%"lossId":"${id}"%`);
        }
      })
      .select(
        ...HASHED_COLUMNS,
        'prev_hash',
        'hash',
        'chain_version',
        'chain_key_id',
      );
    for (const row of rows) {
      if (
        (this.#keys && Number(row.chain_version) !== KEYED_CHAIN_VERSION) ||
        !storedHashMatches(row, this.#keys)
      ) {
        continue;
      }
      const gap = parseGap(row.meta);
      let lossId: unknown;
      try {
        lossId = JSON.parse(row.meta ?? '{}').lossId;
      } catch {
        // not one of ours
      }
      if (gap && typeof lossId === 'string' && ids.has(lossId)) {
        held.set(lossId, [...(held.get(lossId) ?? []), gap]);
      }
    }
    return held;
  }

  /**
   * The batch, with each gap record of a loss recorded outside the database (see
   * {@link recordedLossOf}) that the chain already holds gap records for (another backend
   * appended one from the loss record when it started, or the queue stored an earlier part of
   * the loss) replaced by one for the rest of that loss, or left out when nothing more was
   * dropped: a loss is counted once. The held records take off at most what the queue's loss
   * record counted (`meta.lossRecorded`). Run under the chain-head lock, as
   * {@link DatabaseAuditStore.appendLosses} is.
   */
  async #beyondHeldLosses(
    tx: Knex.Transaction,
    head: HeadRow,
    events: AuditEventInput[],
    prepared: PreparedRow[],
  ): Promise<{ events: AuditEventInput[]; prepared: PreparedRow[] }> {
    const held = await this.#heldLossGaps(
      tx,
      head,
      new Set(events.flatMap(event => recordedLossOf(event)?.id ?? [])),
    );
    if (held.size === 0) {
      return { events, prepared };
    }
    const kept: { events: AuditEventInput[]; prepared: PreparedRow[] } = {
      events: [],
      prepared: [],
    };
    events.forEach((event, i) => {
      const loss = recordedLossOf(event);
      const gaps = loss ? held.get(loss.id) : undefined;
      const gap = (event.meta as { gap?: AuditGapInfo } | undefined)?.gap;
      if (!loss || !gaps || !gap) {
        kept.events.push(event);
        kept.prepared.push(prepared[i]);
        return;
      }
      const rest = gapBeyond(gap, capGap(sumGaps(gaps), loss.cap));
      if (rest) {
        const restEvent = createGapEvent(rest, loss.id);
        kept.events.push(restEvent);
        kept.prepared.push(...prepareRows([restEvent]));
      }
    });
    return kept;
  }

  /**
   * PostgreSQL: appends the batch with the chain head locked for two statements, the insert that
   * also moves the head, and the commit; the arrays of the events' columns are built before.
   * Undefined when the database refused the batch (the transaction is rolled back, nothing is
   * stored): then the caller stores the events one by one.
   */
  async #appendBatchPostgres(
    prepared: PreparedRow[],
  ): Promise<AuditAppendResult | undefined> {
    const key = this.#keys?.current;
    const fields = chainFields(key);
    const columns: string[] = [];
    for (const column of CONTENT_COLUMNS) {
      // occurred_at is the ISO text inputToRow made of it
      columns.push(
        textArrayLiteral(
          prepared.map(({ row }) => row[column] as string | null),
        ),
      );
      // a turn for the event loop between two columns of a large batch, as while preparing
      if (prepared.length > PREPARE_SLICE) {
        await new Promise(resolve => setImmediate(resolve));
      }
    }
    try {
      return await this.#db.transaction(async tx => {
        const head = await this.#lockHead(tx);
        const firstSeq = Number(head.last_seq) + 1;
        const hashes: string[] = new Array(prepared.length);
        let prevHash = head.last_hash;
        for (let i = 0; i < prepared.length; i++) {
          prevHash = hashNumbered(
            prevHash,
            prepared[i].parts,
            firstSeq + i,
            key,
          );
          hashes[i] = prevHash;
        }
        const lastSeq = firstSeq + prepared.length - 1;
        await tx.raw(PG_APPEND, [
          firstSeq,
          fields.chain_version,
          fields.chain_key_id,
          ...columns,
          textArrayLiteral([head.last_hash, ...hashes.slice(0, -1)]),
          textArrayLiteral(hashes),
          lastSeq,
          prevHash,
        ]);
        return { firstSeq, lastSeq };
      });
    } catch {
      // a refused event, or a failure the one-by-one path meets again and reports
      return undefined;
    }
  }

  /**
   * Appends the gap record of each loss a backend recorded outside the database
   * (`meta.lossId` = the loss's id) for what the chain's gap records of that id do not count:
   * the whole loss when it holds none, the events dropped after the part it holds (the queue
   * stored its gap record of the loss as it was, then was killed before the rest), or nothing.
   * Only the gap records verify walks count (see {@link DatabaseAuditStore.#heldLossGaps}).
   * Checked under the chain-head lock, so replicas starting together append each once. A loss
   * older than the oldest event left after a prune is skipped: its gap record may have been
   * pruned. Returns how many gap records were appended.
   */
  async appendLosses(
    losses: Array<{ id: string; at: string; event: AuditEventInput }>,
  ): Promise<number> {
    if (losses.length === 0) {
      return 0;
    }
    const prepared = prepareRows(losses.map(loss => loss.event));
    return this.#db.transaction(async tx => {
      const head = await this.#lockHead(tx);
      const held = await this.#heldLossGaps(
        tx,
        head,
        new Set(losses.map(loss => loss.id)),
      );
      let oldest: string | undefined;
      if (head.pruned_at) {
        // the oldest event kept: not one a failed prune left at or below the checkpoint
        const first = await tx<EventRow>(EVENTS)
          .where('seq', '>', Number(head.checkpoint_seq))
          .orderBy('seq', 'asc')
          .first('occurred_at');
        oldest = first ? toIso(first.occurred_at) : new Date().toISOString();
      }
      const missing: { events: AuditEventInput[]; prepared: PreparedRow[] } = {
        events: [],
        prepared: [],
      };
      losses.forEach((loss, i) => {
        if (oldest !== undefined && loss.at < oldest) return;
        const gaps = held.get(loss.id);
        if (!gaps) {
          missing.events.push(loss.event);
          missing.prepared.push(prepared[i]);
          return;
        }
        const gap = (loss.event.meta as { gap?: AuditGapInfo } | undefined)
          ?.gap;
        const rest = gap ? gapBeyond(gap, sumGaps(gaps)) : undefined;
        if (rest) {
          const restEvent = createGapEvent(rest, loss.id);
          missing.events.push(restEvent);
          missing.prepared.push(...prepareRows([restEvent]));
        }
      });
      if (missing.events.length === 0) {
        return 0;
      }
      await this.#appendLocked(tx, head, missing.events, missing.prepared);
      return missing.events.length;
    });
  }

  /** Numbers, hashes and inserts `events` in `tx` after `head`, whose lock the transaction holds. */
  async #appendLocked(
    tx: Knex.Transaction,
    head: HeadRow,
    events: AuditEventInput[],
    prepared: PreparedRow[],
  ): Promise<AuditAppendResult> {
    const key = this.#keys?.current;
    const fields = chainFields(key);
    const firstSeq = Number(head.last_seq) + 1;
    let seq = firstSeq - 1;
    let prevHash = head.last_hash;
    const link = (event: AuditEventInput): EventRow =>
      linkRow(prevHash, inputToRow(event, seq + 1), key);
    let placeholders = 0;
    try {
      // the whole batch in one savepoint: the common, fast path
      await tx.transaction(async sp => {
        const rows = prepared.map(({ row, parts }) => {
          const linked = {
            ...row,
            seq: seq + 1,
            prev_hash: prevHash,
            hash: hashNumbered(prevHash, parts, seq + 1, key),
            ...fields,
          };
          seq += 1;
          prevHash = linked.hash;
          return linked;
        });
        await this.#insert(sp, rows);
      });
    } catch {
      // Some event was refused. Store them one by one so that only the bad
      // one is replaced by a placeholder; if even the placeholder fails the
      // database itself is in trouble and the batch is retried later.
      seq = firstSeq - 1;
      prevHash = head.last_hash;
      for (const event of events) {
        let row = link(event);
        try {
          await tx.transaction(sp => sp(EVENTS).insert(row));
        } catch (error) {
          row = link(placeholderFor(event, error));
          try {
            await tx.transaction(sp => sp(EVENTS).insert(row));
          } catch (placeholderError) {
            // knex may reject a failed savepoint with a non-Error value
            throw new Error(
              `The database refused an audit event and its placeholder; the batch will be retried: ${String(
                (placeholderError as Error)?.message ?? placeholderError,
              )}`,
            );
          }
          placeholders += 1;
        }
        seq += 1;
        prevHash = row.hash;
      }
    }
    await tx(HEAD)
      .where({ id: 1 })
      .update({ last_seq: seq, last_hash: prevHash });
    return placeholders
      ? { firstSeq, lastSeq: seq, placeholders }
      : { firstSeq, lastSeq: seq };
  }

  async get(seq: number): Promise<AuditEvent | undefined> {
    const row = await this.#db<EventRow>(EVENTS)
      .where({ seq })
      .where('seq', '>', this.#checkpointSeq())
      .where('seq', '<=', this.#headSeq())
      .first();
    return row ? rowToEvent(row) : undefined;
  }

  async checkEvent(seq: number): Promise<AuditEventCheck | undefined> {
    const row = await this.#db<EventRow>(EVENTS)
      .where({ seq })
      .where('seq', '>', this.#checkpointSeq())
      .where('seq', '<=', this.#headSeq())
      .first();
    if (!row) {
      return undefined;
    }
    // with a chain key every event this store appends is signed: an unsigned one was written
    // around it (verify reports it as an unkeyed event after keyed ones)
    const check =
      this.#keys && Number(row.chain_version) !== KEYED_CHAIN_VERSION
        ? 'unkeyed'
        : checkStoredHash(row, this.#keys);
    return { hash: row.hash, check };
  }

  /**
   * The prune checkpoint's sequence number, as a subquery: the events at or below it are pruned,
   * and never read back, even while a prune that failed after it moved the checkpoint left them
   * stored (verify no longer covers them).
   */
  #checkpointSeq(): Knex.QueryBuilder {
    return this.#db(HEAD).select('checkpoint_seq').where({ id: 1 });
  }

  /**
   * The chain head's sequence number, as a subquery: an event is in the chain only up to it. An
   * append stores its events and moves the head in one transaction, so a row above the head was
   * written around the store (it is never read back, and verify reports it).
   */
  #headSeq(): Knex.QueryBuilder {
    return this.#db(HEAD).select('last_seq').where({ id: 1 });
  }

  async query(query: AuditEventQuery): Promise<AuditEventPage> {
    const limit = Math.min(
      Math.max(query.limit ?? DEFAULT_PAGE_SIZE, 1),
      MAX_PAGE_SIZE,
    );
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    let rows: EventRow[];
    let continueBelow: number | undefined;
    if (this.#isPostgres && query.q) {
      ({ rows, continueBelow } = await this.#searchPostgres(
        query,
        query.q,
        before,
        limit + 1,
      ));
    } else {
      const builder = this.#filtered(query)
        .orderBy('seq', 'desc')
        .limit(limit + 1);
      if (before !== undefined) {
        builder.where('seq', '<', before);
      }
      rows = await builder;
    }
    const items = rows.slice(0, limit).map(rowToEvent);
    return {
      items,
      nextCursor: nextCursorOf(items, rows.length > limit, continueBelow),
    };
  }

  async *stream(filters: AuditEventFilters): AsyncIterable<AuditEvent> {
    let before: number | undefined;
    if (this.#isPostgres && filters.q) {
      // page after page of the search, which asks the copied text's trigram index
      for (;;) {
        const { rows, continueBelow } = await this.#searchPostgres(
          filters,
          filters.q,
          before,
          STREAM_BATCH,
        );
        for (const row of rows) {
          yield rowToEvent(row);
        }
        if (rows.length >= STREAM_BATCH) {
          before = Number(rows[rows.length - 1].seq);
        } else if (continueBelow !== undefined) {
          before = continueBelow;
        } else {
          return;
        }
      }
    }
    for (;;) {
      const builder = this.#filtered(filters)
        .orderBy('seq', 'desc')
        .limit(STREAM_BATCH);
      if (before !== undefined) {
        builder.where('seq', '<', before);
      }
      const rows: EventRow[] = await builder;
      for (const row of rows) {
        yield rowToEvent(row);
      }
      if (rows.length < STREAM_BATCH) {
        return;
      }
      before = Number(rows[rows.length - 1].seq);
    }
  }

  async head(): Promise<AuditChainHead> {
    const head = await this.#db<HeadRow>(HEAD).where({ id: 1 }).first();
    if (!head) {
      throw new Error('Audit chain head is missing; migrations not applied?');
    }
    return {
      seq: Number(head.last_seq),
      hash: head.last_hash,
      checkpoint: {
        seq: Number(head.checkpoint_seq),
        hash: head.checkpoint_hash,
      },
    };
  }

  async verify(options: AuditVerifyOptions = {}): Promise<AuditVerifyResult> {
    return this.#verify(options);
  }

  /**
   * {@link DatabaseAuditStore.verify}, hashing where `hashing` says (else where
   * {@link DatabaseAuditStore.#hashesOnServer} decides). A walk that trusted the database's
   * content digests asks again at its end: if the column stopped being computed by the database
   * meanwhile (`DROP EXPRESSION`, after which a column can change while its digest stays), the
   * digests it read may be stale, so the chain is walked again with every text built from its
   * columns.
   */
  async #verify(
    options: AuditVerifyOptions,
    hashing?: VerifyHashing,
  ): Promise<AuditVerifyResult> {
    const head = await this.#db<HeadRow>(HEAD).where({ id: 1 }).first();
    if (!head) {
      throw new Error('Audit chain head is missing; migrations not applied?');
    }
    /** Set once the chain is checked against the anchor (which then is reported). */
    let checkedAnchor: AuditVerifyResult['anchor'];
    const headSeq = Number(head.last_seq);
    const pruned = checkpointOf(head);
    // a walk from an event the chain holds past its checkpoint: that event's link is not checked,
    // its hash must be the one given
    const walkFrom =
      options.from && options.from.seq > Number(head.checkpoint_seq)
        ? options.from
        : undefined;
    let expectedSeq = walkFrom?.seq ?? Number(head.checkpoint_seq) + 1;
    let prevHash = head.checkpoint_hash;
    let firstSeq: number | undefined;
    let checked = 0;
    /** The first version 3 (keyed) event checked: every later one must be keyed too. */
    let firstKeyedSeq: number | undefined;
    /** The last keyed event checked and its key: keys only move forward ({@link keyOrderBreak}). */
    let lastKeyed: { seq: number; keyId: string } | undefined;

    const result = async (failure?: {
      failedSeq: number;
      reason: string;
      anchorMismatch?: AuditVerifyResult['anchorMismatch'];
    }): Promise<AuditVerifyResult> => {
      const lastSeq = checked > 0 ? expectedSeq - 1 : undefined;
      const gaps =
        firstSeq !== undefined && lastSeq !== undefined
          ? await this.#gapsBetween(firstSeq, lastSeq)
          : undefined;
      return {
        ok: !failure,
        checked,
        firstSeq,
        lastSeq,
        headSeq,
        pruned,
        keyed: !failure && firstKeyedSeq !== undefined,
        ...(checkedAnchor ? { anchor: checkedAnchor } : {}),
        ...failure,
        ...gaps,
        verifiedAt: new Date().toISOString(),
      };
    };

    if (expectedSeq > 1 && !pruned && !walkFrom) {
      // A prune records when it ran; a chain that starts later without one lost its beginning.
      return result({
        failedSeq: expectedSeq - 1,
        reason: `The chain starts after event ${
          expectedSeq - 1
        }, but no prune is recorded (the chain head has no prune time): events up to ${
          expectedSeq - 1
        } were removed without a prune`,
      });
    }

    // Consecutive seq ranges, fetched a few ahead so the database hashes the
    // next ranges while this process checks the current one.
    const startSeq = expectedSeq;
    const onServer = hashing ?? (await this.#hashesOnServer());
    // Keyed (version 3) events come back whole, as every event does when hashed here: their
    // ranges stay small, so that the ranges in flight hold little.
    const batch =
      this.#verifyBatchSize ??
      (onServer !== 'here' && !this.#keys
        ? VERIFY_BATCH_ON_SERVER
        : VERIFY_BATCH);
    // the events table as the connection's search path finds it, resolved once for every range
    const table =
      onServer === 'here'
        ? undefined
        : await this.#withCatalogOnly(async (_tx, qualified) => qualified);
    const ranges = Math.max(0, Math.ceil((headSeq - startSeq + 1) / batch));
    const pending: Promise<LinkRow[]>[] = [];
    let requested = 0;
    const requestMore = () => {
      while (requested < ranges && pending.length < VERIFY_PREFETCH) {
        const from = startSeq + requested * batch;
        const to = Math.min(from + batch - 1, headSeq);
        const fetching = this.#fetchLinks(from, to, onServer, table);
        // an early return below leaves some unread; keep them observed
        fetching.catch(() => {});
        pending.push(fetching);
        requested += 1;
      }
    };

    requestMore();
    while (pending.length > 0) {
      const rows = await pending.shift()!;
      requestMore();
      for (const row of rows) {
        if (row.before_seq !== null && row.before_seq !== undefined) {
          // the server checked every event up to this one's predecessor
          const beforeSeq = Number(row.before_seq);
          if (firstKeyedSeq !== undefined && beforeSeq >= expectedSeq) {
            // it returns every version 3 event, so those it passed over are unkeyed
            return result(unkeyedAfterKeyed(expectedSeq, firstKeyedSeq));
          }
          checked += beforeSeq - expectedSeq + 1;
          expectedSeq = beforeSeq + 1;
          prevHash = row.before_hash!;
        }
        const seq = Number(row.seq);
        if (seq !== expectedSeq) {
          return result({
            failedSeq: expectedSeq,
            reason: `Event ${expectedSeq} is missing (the next stored event is ${seq})`,
          });
        }
        if (seq === walkFrom?.seq) {
          if (row.hash !== walkFrom.hash) {
            return result({
              failedSeq: seq,
              reason: `Event ${seq} has hash ${row.hash}, not ${walkFrom.hash}: it was changed`,
            });
          }
        } else if (row.prev_hash !== prevHash) {
          return result({
            failedSeq: seq,
            reason: `Event ${seq} does not link to the previous event: its prev_hash differs from the hash of event ${
              seq - 1
            }`,
          });
        }
        const keyedEvent = Number(row.chain_version) === KEYED_CHAIN_VERSION;
        if (!keyedEvent && firstKeyedSeq !== undefined) {
          return result(unkeyedAfterKeyed(seq, firstKeyedSeq));
        }
        if (row.unknownKey) {
          return result({
            failedSeq: seq,
            reason: `Event ${seq} is signed with an unknown key (key id ${
              row.chain_key_id
            }): ${
              this.#keys
                ? `not auditLog.chain.key nor any of auditLog.chain.previousKeys (key ids ${this.#keys.ids.join(
                    ', ',
                  )})`
                : 'no auditLog.chain.key is configured'
            }, so it cannot be verified`,
          });
        }
        if (
          !row.intact &&
          !(onServer !== 'here' && (await this.#confirmHash(seq)))
        ) {
          return result({
            failedSeq: seq,
            reason: `Event ${seq} was altered: its content does not match its stored hash`,
          });
        }
        if (
          keyedEvent &&
          firstKeyedSeq === undefined &&
          checked > 0 &&
          !(
            row.plugin_id === AUDIT_LOG_PLUGIN_ID &&
            row.event_id === CHAIN_KEY_EVENT_ID
          )
        ) {
          // A backend signs this event before any other when it starts with a key on an unkeyed
          // chain; without the rule, whoever rewrote every keyed event in the unkeyed form would
          // have the next event the backend appends make the chain keyed again.
          return result({
            failedSeq: seq,
            reason: `Event ${seq}, the first keyed event after unkeyed ones, is not the ${AUDIT_LOG_PLUGIN_ID} / ${CHAIN_KEY_EVENT_ID} event a backend signs when it starts with a key: the keyed events before it may have been rewritten without the key`,
          });
        }
        if (keyedEvent && this.#keys) {
          const keyOrder = keyOrderBreak(this.#keys, lastKeyed, seq, row);
          if (keyOrder) return result(keyOrder);
          lastKeyed = { seq, keyId: row.chain_key_id! };
        }
        if (keyedEvent) {
          firstKeyedSeq ??= seq;
        }
        firstSeq ??= seq;
        prevHash = row.hash;
        expectedSeq += 1;
        checked += 1;
      }
    }

    if (expectedSeq <= headSeq) {
      return result({
        failedSeq: expectedSeq,
        reason: `Events ${expectedSeq}–${headSeq} are missing; the chain head records event ${headSeq}`,
      });
    }
    if (prevHash !== head.last_hash) {
      return result({
        failedSeq: headSeq,
        reason: `The hash of event ${headSeq} differs from the one the chain head records`,
      });
    }
    // The anchor first: a chain cut back below it may hold no keyed event at all, and the cut is what to report.
    if (options.anchor) {
      const { seq, at } = options.anchor;
      checkedAnchor = { seq, at };
      const failure = await this.#checkAnchor(
        options.anchor,
        head,
        options.witnessedCheckpoints ?? [],
      );
      if (failure) {
        return result({ ...failure, anchorMismatch: { seq, at } });
      }
    }
    if (this.#keys && firstKeyedSeq === undefined) {
      // Without this, whoever can write the database could rewrite every keyed event in the
      // unkeyed form (or delete them) and leave a valid unkeyed chain. A backend with a key
      // signs an event at start-up when the newest one is not signed with it.
      return result({
        failedSeq: headSeq,
        reason: `The chain holds no event signed with a chain key, although auditLog.chain.key is configured: the events up to ${headSeq} may have been rewritten without the key (a backend with the key signs an event when it starts)`,
      });
    }
    if (this.#keys && lastKeyed && lastKeyed.keyId !== this.#keys.current.id) {
      // A backend signs an event with its key when it starts and the newest one is not signed
      // with it; a chain that ends in an older key's events had the newer ones re-signed.
      return result({
        failedSeq: headSeq,
        reason: `The chain holds no event signed with auditLog.chain.key (key id ${
          this.#keys.current.id
        }), although a backend signs one with it when it starts: the newest keyed event, ${
          lastKeyed.seq
        }, is signed with the older key of id ${
          lastKeyed.keyId
        } (${this.#keys.setting(
          lastKeyed.keyId,
        )}), so the events signed with auditLog.chain.key may have been re-signed with a retired key`,
      });
    }
    if (
      onServer === 'server-digests' &&
      !(await this.#contentDigestsTrusted())
    ) {
      return this.#verify(options, 'server');
    }
    const beyond = await this.#storedBeyondHead();
    if (beyond) {
      return result({
        failedSeq: beyond.seq,
        reason: `Event ${beyond.seq} is stored beyond the chain head (event ${beyond.headSeq}): it is not part of the chain, so it was written around the audit log (it is not shown, and the store cannot append past it)`,
      });
    }
    return result();
  }

  /**
   * The first event stored above the chain head and the head, read in one statement (appends
   * store their events and move the head in one transaction, so one still under way is not seen
   * half done), or undefined when there is none.
   */
  async #storedBeyondHead(): Promise<
    { seq: number; headSeq: number } | undefined
  > {
    const row = await this.#db(`${HEAD} as h`)
      .where('h.id', 1)
      .select(
        'h.last_seq as headSeq',
        this.#db(EVENTS)
          .min('seq')
          .where('seq', '>', this.#db.ref('h.last_seq'))
          .as('beyond'),
      )
      .first();
    if (!row || row.beyond === null || row.beyond === undefined) {
      return undefined;
    }
    return { seq: Number(row.beyond), headSeq: Number(row.headSeq) };
  }

  /**
   * The chain, which verified from its checkpoint to `head`, against a head anchor kept outside
   * the database: it must still hold the anchored event with the anchored hash, or have been
   * pruned up to or past it by a prune the witness recorded. The database holds the only record
   * of how long the chain was; the anchor is what shows a tail cut back below it.
   */
  async #checkAnchor(
    anchor: NonNullable<AuditVerifyOptions['anchor']>,
    head: HeadRow,
    witnessed: NonNullable<AuditVerifyOptions['witnessedCheckpoints']>,
  ): Promise<{ failedSeq: number; reason: string } | undefined> {
    return anchorBroken(
      anchor,
      {
        headSeq: Number(head.last_seq),
        start: {
          seq: Number(head.checkpoint_seq),
          hash: head.checkpoint_hash,
        },
        witnessed,
      },
      async seq =>
        (await this.#db<EventRow>(EVENTS).where({ seq }).first('hash'))?.hash,
      {
        // pruned since the walk?
        startNow: async () => {
          const now = await this.#db<HeadRow>(HEAD).where({ id: 1 }).first();
          return {
            seq: Number(now?.checkpoint_seq ?? 0),
            hash: now?.checkpoint_hash ?? '',
          };
        },
      },
    );
  }

  /**
   * When a chain key is configured and the newest event is not signed with it (the key was
   * just configured or rotated, or the chain is empty), appends an `audit-log` /
   * `chain-key-configured` event signed with it, so that from now on verify can require the
   * chain to end in a keyed event and the trail shows when each key took over. Returns whether
   * it appended one.
   */
  async signChainHead(): Promise<boolean> {
    const key = this.#keys?.current;
    if (!key) return false;
    const newest = await this.#db<EventRow>(EVENTS)
      .where('seq', '<=', this.#headSeq())
      .orderBy('seq', 'desc')
      .first('chain_version', 'chain_key_id');
    if (
      newest &&
      Number(newest.chain_version) === KEYED_CHAIN_VERSION &&
      newest.chain_key_id === key.id
    ) {
      return false;
    }
    await this.append([
      {
        occurredAt: new Date().toISOString(),
        plugin: AUDIT_LOG_PLUGIN_ID,
        eventId: CHAIN_KEY_EVENT_ID,
        severity: 'medium',
        status: 'succeeded',
        target: {},
        meta: {
          keyId: key.id,
          previousKeyIds: this.#keys!.ids.slice(1),
          previousEvent: newest
            ? {
                chainVersion: Number(newest.chain_version),
                keyId: newest.chain_key_id ?? null,
              }
            : null,
        },
      },
    ]);
    return true;
  }

  async prune(options: {
    before: Date;
    witness?: (cut: AuditPruneCut) => Promise<void>;
  }): Promise<AuditPruneResult & { cut?: AuditPruneCut }> {
    const cutoff = options.before.toISOString();
    const current = await this.#db<HeadRow>(HEAD).where({ id: 1 }).first();
    if (!current) {
      throw new Error('Audit chain head is missing; migrations not applied?');
    }
    const checkpointSeq = Number(current.checkpoint_seq);
    // Prune a prefix of the chain: everything before the first event that
    // is inside the retention window.
    const firstKept = await this.#db(EVENTS)
      .where('seq', '>', checkpointSeq)
      .andWhere('occurred_at', '>=', cutoff)
      .orderBy('seq', 'asc')
      .first('seq');
    const throughSeq = firstKept
      ? Number(firstKept.seq) - 1
      : Number(current.last_seq);
    if (throughSeq <= checkpointSeq) {
      // Nothing new to cut; what a prune that failed after it moved the checkpoint left below it
      // is deleted now.
      return {
        deleted: await this.#deleteThrough(checkpointSeq),
        checkpoint: checkpointOf(current),
      };
    }
    const last = await this.#db<EventRow>(EVENTS)
      .where({ seq: throughSeq })
      .first('hash');
    if (!last) {
      throw new Error(`Cannot prune: event ${throughSeq} is missing`);
    }
    const cut: AuditPruneCut = {
      fromSeq: checkpointSeq + 1,
      throughSeq,
      hash: last.hash,
      cutoff,
    };
    // The witness keeps the cut outside this database before anything is
    // deleted; if it cannot, nothing is pruned.
    await options.witness?.(cut);

    // Move the checkpoint under the head lock, then delete outside of it so
    // appends are not blocked by a long delete.
    const { from, through, head } = await this.#db.transaction(async tx => {
      const locked = await this.#lockHead(tx);
      const lockedCheckpoint = Number(locked.checkpoint_seq);
      if (throughSeq <= lockedCheckpoint) {
        // another replica pruned at least as far meanwhile
        return { from: 0, through: lockedCheckpoint, head: locked };
      }
      const update = {
        checkpoint_seq: throughSeq,
        checkpoint_hash: cut.hash,
        pruned_at: new Date().toISOString(),
      };
      await tx(HEAD).where({ id: 1 }).update(update);
      return {
        from: lockedCheckpoint + 1,
        through: throughSeq,
        head: { ...locked, ...update },
      };
    });

    // from the oldest event stored: an earlier prune that failed may have left some below `from`
    const deleted = from > 0 ? await this.#deleteThrough(through) : 0;
    return { deleted, checkpoint: checkpointOf(head), cut };
  }

  /**
   * Deletes the events up to `through` (at or below the checkpoint), oldest first,
   * {@link DELETE_BATCH} at a time and outside the chain-head lock. Returns how many it deleted.
   */
  async #deleteThrough(through: number): Promise<number> {
    const oldest = await this.#db(EVENTS).min({ seq: 'seq' }).first();
    if (oldest?.seq === null || oldest?.seq === undefined) return 0;
    let deleted = 0;
    for (let low = Number(oldest.seq); low <= through; ) {
      const high = Math.min(low + DELETE_BATCH - 1, through);
      deleted += await this.#db(EVENTS)
        .whereBetween('seq', [low, high])
        .delete();
      low = high + 1;
    }
    return deleted;
  }

  /**
   * Inserts chained rows. PostgreSQL gets one statement whose 19 parameters are column arrays
   * (`unnest`), however many rows there are: no 10,000-placeholder statement to build, send
   * and parse. SQLite gets multi-row inserts.
   */
  async #insert(tx: Knex.Transaction, rows: EventRow[]): Promise<void> {
    if (this.#isPostgres) {
      await tx.raw(
        `INSERT INTO ${EVENTS} (${INSERTED_COLUMNS.map(c => c.name).join(', ')})
         SELECT * FROM unnest(${INSERTED_COLUMNS.map(
           c => `?::${c.type}[]`,
         ).join(', ')})`,
        // node-postgres sends each JavaScript array as a PostgreSQL array
        INSERTED_COLUMNS.map(({ name }) =>
          rows.map(row => row[name]),
        ) as unknown as Knex.RawBinding[],
      );
      return;
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await tx(EVENTS).insert(rows.slice(i, i + INSERT_CHUNK));
    }
  }

  /**
   * The gap records among the events [fromSeq, toSeq]: the newest
   * {@link MAX_REPORTED_GAPS} in detail, and totals over all of them.
   */
  async #gapsBetween(
    fromSeq: number,
    toSeq: number,
  ): Promise<
    Pick<AuditVerifyResult, 'gaps' | 'gapCount' | 'droppedEvents'> | undefined
  > {
    const rows: Pick<EventRow, 'seq' | 'meta' | 'error'>[] =
      await this.#db<EventRow>(EVENTS)
        .where({ plugin_id: AUDIT_LOG_PLUGIN_ID, event_id: AUDIT_GAP_EVENT_ID })
        .andWhere('seq', '>=', fromSeq)
        .andWhere('seq', '<=', toSeq)
        .orderBy('seq', 'desc')
        .limit(MAX_SUMMED_GAPS)
        .select('seq', 'meta', 'error');
    if (rows.length === 0) {
      return undefined;
    }
    const gaps: AuditGap[] = [];
    let droppedEvents = 0;
    for (const row of rows) {
      const info = parseGap(row.meta);
      droppedEvents += info?.dropped ?? 0;
      if (gaps.length < MAX_REPORTED_GAPS) {
        gaps.push({
          seq: Number(row.seq),
          dropped: info?.dropped ?? 0,
          firstOccurredAt: info?.firstOccurredAt ?? '',
          lastOccurredAt: info?.lastOccurredAt ?? '',
          reasons: info?.reasons ?? {},
          message: info ? describeGap(info) : row.error ?? 'events dropped',
        });
      }
    }
    let gapCount = rows.length;
    if (rows.length === MAX_SUMMED_GAPS) {
      const counted = await this.#db(EVENTS)
        .where({ plugin_id: AUDIT_LOG_PLUGIN_ID, event_id: AUDIT_GAP_EVENT_ID })
        .andWhere('seq', '>=', fromSeq)
        .andWhere('seq', '<=', toSeq)
        .count({ n: '*' })
        .first();
      gapCount = Number(counted?.n ?? rows.length);
    }
    return { gaps, gapCount, droppedEvents };
  }

  /**
   * Whether verify hashes on the database server: on PostgreSQL whose encoding is UTF8, where
   * `octet_length` counts the UTF-8 bytes the version 2 form is made of. Elsewhere every event
   * is fetched and hashed here.
   */
  async #hashesOnServer(): Promise<VerifyHashing> {
    if (!this.#isPostgres) {
      return 'here';
    }
    const { rows } = await this.#db.raw(
      `SELECT current_setting('server_encoding') AS encoding`,
    );
    if (rows[0]?.encoding !== 'UTF8') return 'here';
    return (await this.#contentDigestsTrusted()) ? 'server-digests' : 'server';
  }

  /**
   * Whether the database computes `content_digest` (version 4 events' content digest) itself,
   * with {@link postgresContentDigest}: then no one can write the column, and changing a column
   * an event is made of changes its digest, so verify may hash the 35 bytes of prev_hash and the
   * digest instead of building each event's text. The column's expression is compared with the
   * one PostgreSQL makes of that expression for a throwaway copy of the table (its own
   * normalised text, which differs between versions of PostgreSQL). Any doubt (the column is no
   * longer generated, its expression changed, the copy cannot be made) makes verify build every
   * event's text from its columns, as without the column.
   */
  async #contentDigestsTrusted(): Promise<boolean> {
    const generatedExpression = `SELECT a.attgenerated AS generated, pg_get_expr(d.adbin, d.adrelid) AS expression
       FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = ?::regclass AND a.attname = 'content_digest' AND NOT a.attisdropped`;
    try {
      return await this.#withCatalogOnly(async (tx, table) => {
        const { rows: stored } = await tx.raw(generatedExpression, [table]);
        if (stored.length !== 1 || stored[0].generated !== 's') return false;
        await tx.raw(
          `CREATE TEMP TABLE audit_log_digest_reference (LIKE ${table}) ON COMMIT DROP`,
        );
        await tx.raw(
          `ALTER TABLE pg_temp.audit_log_digest_reference DROP COLUMN content_digest,
             ADD COLUMN content_digest bytea GENERATED ALWAYS AS (${postgresContentDigest()}) STORED`,
        );
        const { rows: reference } = await tx.raw(generatedExpression, [
          'pg_temp.audit_log_digest_reference',
        ]);
        return (
          reference.length === 1 &&
          reference[0].expression === stored[0].expression
        );
      });
    } catch {
      return false;
    }
  }

  /**
   * Runs `work` in a transaction on PostgreSQL whose search path holds only `pg_catalog` and
   * `pg_temp`, with the events table's name qualified by its schema: the hash expressions verify
   * sends, and the expression of `content_digest` it compares, then use PostgreSQL's own
   * functions and operators only. Otherwise whoever can create objects in a schema on the
   * search path (`public`) could define an operator `||` for (text, varchar), which PostgreSQL
   * prefers to its own for an exact match of types, and make a changed event hash as it did
   * before (its expression printed as `OPERATOR(public.||)` with this path, so the comparison
   * fails instead). The table is the one this store writes to: `audit_log_events` as the
   * connection's own search path finds it, resolved before the path is changed, unless `table`
   * gives it already resolved (a walk resolves it once for all its ranges).
   */
  async #withCatalogOnly<T>(
    work: (tx: Knex.Transaction, table: string) => Promise<T>,
    table?: string,
  ): Promise<T> {
    return this.#db.transaction(async tx => {
      const found = table
        ? undefined
        : (
            await tx.raw(
              `SELECT pg_catalog.to_regclass(?)::pg_catalog.oid AS oid`,
              [EVENTS],
            )
          ).rows[0]?.oid;
      if (!table && !found) {
        throw new Error(`${EVENTS} is not found`);
      }
      await tx.raw(
        `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)`,
      );
      if (table) return work(tx, table);
      const { rows } = await tx.raw(
        `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?`,
        [found],
      );
      return work(tx, rows[0].name);
    });
  }

  /**
   * The links with seq in [fromSeq, toSeq] that verify must look at. On the server, PostgreSQL
   * hashes and checks the links and returns only the range's first and last event and those
   * that break the chain (so 1M events do not travel to this process); otherwise every row is
   * fetched and hashed here. `lead` finds the last event without `count(*) OVER ()`, which
   * would buffer the whole range first.
   */
  async #fetchLinks(
    fromSeq: number,
    toSeq: number,
    hashing: VerifyHashing,
    table: string | undefined,
  ): Promise<LinkRow[]> {
    if (hashing !== 'here') {
      // Version 3 events (keyed) are signed in JavaScript: the server returns every one of them
      // (its hash expression gives NULL for them) with its version 2 text, which it builds as it
      // does to hash version 2 events, so that only that text travels and the key stays here.
      const { rows } = await this.#withCatalogOnly(
        (tx, qualified) =>
          tx.raw(
            `SELECT seq, prev_hash, hash, chain_version, chain_key_id, plugin_id, event_id, intact,
                keyed_text, before_seq, before_hash FROM (
           SELECT seq, prev_hash, hash, chain_version, chain_key_id, plugin_id, event_id,
                  hash = ${
                    hashing === 'server-digests'
                      ? POSTGRES_HASH_FROM_DIGEST
                      : POSTGRES_HASH
                  } AS intact,
                  CASE chain_version WHEN ${KEYED_CHAIN_VERSION} THEN ${POSTGRES_V2_TEXT} END AS keyed_text,
                  lag(seq) OVER w AS before_seq, lag(hash) OVER w AS before_hash,
                  lead(seq) OVER w AS after_seq
           FROM ONLY ${qualified} WHERE seq >= ? AND seq <= ?
           WINDOW w AS (ORDER BY seq)
         ) links
         WHERE before_seq IS NULL OR after_seq IS NULL OR intact IS NOT TRUE
            OR seq IS DISTINCT FROM before_seq + 1
            OR prev_hash IS DISTINCT FROM before_hash
         ORDER BY seq`,
            [fromSeq, toSeq],
          ),
        table,
      );
      return rows.map(
        ({
          keyed_text: text,
          ...row
        }: LinkRow & { keyed_text: string | null }): LinkRow => {
          if (Number(row.chain_version) !== KEYED_CHAIN_VERSION) return row;
          const key = this.#keys?.get(row.chain_key_id);
          return {
            ...row,
            // a mismatch is confirmed from the row's columns before it is reported
            intact: Boolean(
              key &&
                text !== null &&
                signText(row.prev_hash, text, key) === row.hash,
            ),
            unknownKey: Boolean(row.chain_key_id) && !key,
          };
        },
      );
    }
    const rows: EventRow[] = await this.#db<EventRow>(EVENTS)
      .where('seq', '>=', fromSeq)
      .andWhere('seq', '<=', toSeq)
      .orderBy('seq', 'asc');
    return rows.map(row => this.#checkInJs(row));
  }

  /** A stored event checked in JavaScript, with the configured keys. */
  #checkInJs(row: EventRow): LinkRow {
    const check = checkStoredHash(row, this.#keys);
    return {
      seq: row.seq,
      prev_hash: row.prev_hash,
      hash: row.hash,
      chain_version: row.chain_version,
      chain_key_id: row.chain_key_id,
      plugin_id: row.plugin_id,
      event_id: row.event_id,
      intact: check === 'intact',
      unknownKey: check === 'unknown-key',
    };
  }

  /** Re-hashes one stored event in JavaScript, the reference implementation. */
  async #confirmHash(seq: number): Promise<boolean> {
    const row = await this.#db<EventRow>(EVENTS).where({ seq }).first();
    return Boolean(row) && storedHashMatches(row!, this.#keys);
  }

  /**
   * A page of a free-text search on PostgreSQL: the same case-insensitive substring match as
   * {@link DatabaseAuditStore.#filtered} (`q` ILIKE over the searched columns), planned by how
   * common the text is among the newest events (a sample kept a minute):
   *
   * - common (in at least 20 events of the sample of 2,000) or without a word pg_trgm can index:
   *   walk the primary key newest first; a page of 51 is found after about 51 / share events;
   * - otherwise the events whose text is not copied yet ({@link SEARCH_TEXT}, copied behind the
   *   appends) are matched in the events table, newest first; then the copied text through its
   *   trigram index, asking it only for the rarest word of `q` (with the
   *   punctuation next to it), which is implied by the whole text: the trigrams every event has
   *   (`"index":`, `service-`, …) make pg_trgm read posting lists of every event (≈2,000 index
   *   pages, 40–140 ms at 1M), the rarest word alone a few dozen. The whole text is then matched
   *   on the candidates newest first until the page is full, so the results are exactly those of
   *   the full `ILIKE`.
   *   When the key's word is in the sample ({@link SEARCH_RANGE_KEY_HITS}), the index is asked
   *   for one range of sequence numbers at a time, newest first (ANDed with the BRIN index on
   *   the copied text's seq, migrations/20261212000000_search_text.js): the first sized to hold two pages
   *   of hits by the sample's count of the whole text, each next one by the hits the last one
   *   had, until the page is full or the oldest event is reached. Only the candidates of those
   *   ranges are read (PostgreSQL rechecks every event of a table page holding one).
   *   A word of 3 characters or more is the key alone, without the characters beside it.
   * - when even the rarest word is in more than 5% of the sample (`"index":0,`: the index leaves
   *   half the trail as candidates, 2.4 s at 1M), or the index plan runs past
   *   {@link SEARCH_INDEX_TIMEOUT_MS}: the walk.
   *
   * A walk covers at most {@link SEARCH_WALK_SPAN} sequence numbers per request; when that range
   * holds fewer hits than a page, `continueBelow` is where the next request goes on (its cursor).
   * Every plan runs with the planner told which one it is (set_config, local to the transaction).
   */
  async #searchPostgres(
    filters: AuditEventFilters,
    q: string,
    before: number | undefined,
    limit: number,
  ): Promise<{ rows: EventRow[]; continueBelow?: number }> {
    const sample = await this.#searchSample();
    const needle = q.toLocaleLowerCase();
    const hitsIn = (text: string) =>
      sample.events.reduce((n, e) => (e.text.includes(text) ? n + 1 : n), 0);
    // a word between two other characters is looked up as a whole word (as pg_trgm's padded
    // trigrams find it), any other as a substring (which counts at least as many events)
    const rarest = rarestWord(q, word => {
      const lower = word.word.toLocaleLowerCase();
      return word.before && word.after
        ? sample.words.get(lower) ?? 0
        : hitsIn(lower);
    });
    const pattern = `%${escapeLike(q)}%`;
    const scoped = (db: Knex, below: number | undefined) => {
      const builder = this.#filtered({ ...filters, q: undefined }, db);
      if (below !== undefined) {
        builder.where('seq', '<', below);
      }
      return builder;
    };
    const needleHits = hitsIn(needle);
    const indexed =
      rarest !== undefined &&
      rarest.hits <= KEY_MAX_HITS &&
      needleHits < COMMON_HITS;
    if (indexed) {
      const sampled = Math.max(sample.events.length, 1);
      // A word of 3 characters or more is asked for alone: pg_trgm's padded trigrams of its
      // neighbours (`-273`: `  2`, ` 27`) are in most events, and the index spent twice the pages
      // and 3–6× the time on them (1M events) for a key that left as many or half the
      // candidates; the range bounds how many of them are read. A shorter word needs them.
      const key = [...rarest.word].length >= 3 ? rarest.word : rarest.text;
      const span =
        this.#searchRangeSpan ??
        (hitsIn(rarest.word.toLocaleLowerCase()) >= SEARCH_RANGE_KEY_HITS
          ? Math.ceil(
              Math.max(
                SEARCH_RANGE_MIN,
                Math.min(
                  (SEARCH_RANGE_PAGES * limit * sampled) / (needleHits + 1),
                  // no hit in the sample is no estimate: a tenth of the trail first
                  sample.newest / 10,
                ),
              ),
            )
          : Infinity);
      try {
        return {
          rows: await this.#db.transaction(async tx => {
            // The planner cannot know how common the text is (its estimate for ILIKE '%…%' is a
            // constant) and picked a sequential scan in the bench (90–170 ms at 30,000 events);
            // parallel workers cost more to start (≈70 ms measured) than the plan.
            const {
              rows: [state],
            } = await tx.raw(
              `SELECT set_config('enable_seqscan', 'off', true),
                      set_config('max_parallel_workers_per_gather', '0', true),
                      set_config('statement_timeout', ?, true),
                      (SELECT indexed_through FROM ${SEARCH_STATE} WHERE id = 1) AS copied`,
              [String(this.#searchIndexTimeoutMs)],
            );
            const copied = Number(state?.copied ?? 0);
            if (copied < sample.newest) this.#copySearchTextSoon();
            // The events whose text is not copied yet (those appended in the last moments) are
            // matched in the events table itself, newest first: every one is searched. A later
            // statement may see more copied, never less: the copy and indexed_through commit
            // together.
            const rows: EventRow[] = [];
            let below: number;
            if (before === undefined || before > copied + 1) {
              rows.push(
                ...(await scoped(tx, before)
                  .where('seq', '>', copied)
                  .whereRaw(
                    `${PG_SEARCH_TEXT} ${caseInsensitiveLike(q)} ? ESCAPE '\\'`,
                    [pattern],
                  )
                  .orderBy('seq', 'desc')
                  .limit(limit)),
              );
              below = copied + 1;
              if (rows.length >= limit || below <= 1) return rows;
            } else {
              below = before;
            }
            // then the copied text, one range of sequence numbers after another, newest first,
            // until the page is full or the oldest event is reached. Without plain index scans:
            // the copied text's `LIKE` costs the planner so little that it walked the range's
            // primary key and matched every event (68,000 at 1M events, 150 ms) instead of ANDing
            // the trigram and BRIN indexes (10 ms).
            await tx.raw(`SELECT set_config('enable_indexscan', 'off', true)`);
            for (let size = span; ; ) {
              const floor = below - size;
              const found = await this.#indexedRange(tx, {
                filters,
                key,
                q,
                pattern,
                below,
                floor: floor > 1 ? floor : undefined,
                limit: limit - rows.length,
              });
              rows.push(...found);
              if (rows.length >= limit || floor <= 1) return rows;
              below = floor;
              // the next range by the share of hits this one had: twice the hits still missing
              const missing = limit - rows.length;
              size = Math.min(
                8 * size,
                Math.max(
                  size,
                  Math.ceil((2 * missing * size) / Math.max(found.length, 0.5)),
                ),
              );
            }
          }),
        };
      } catch (error) {
        if ((error as { code?: string })?.code !== QUERY_CANCELED) {
          throw error;
        }
        // the key left too many candidates: the bounded walk answers instead
      }
    }
    return this.#db.transaction(async tx => {
      // a walk that stops at the page's end: no bitmap of every match first
      const {
        rows: [head],
      } = await tx.raw(
        `SELECT set_config('enable_seqscan', 'off', true),
                set_config('max_parallel_workers_per_gather', '0', true),
                set_config('enable_bitmapscan', 'off', true),
                last_seq, checkpoint_seq
         FROM ${HEAD} WHERE id = 1`,
      );
      if (!head) {
        throw new Error('Audit chain head is missing; migrations not applied?');
      }
      const start = Math.min(before ?? Infinity, Number(head.last_seq) + 1);
      const floor = start - this.#searchWalkSpan;
      const rows: EventRow[] = await scoped(tx, before)
        .whereRaw(`${PG_SEARCH_TEXT} ${caseInsensitiveLike(q)} ? ESCAPE '\\'`, [
          pattern,
        ])
        .where('seq', '>=', floor)
        .orderBy('seq', 'desc')
        .limit(limit);
      // events below the walked range remain: the next page starts there
      const more =
        rows.length < limit && floor > Number(head.checkpoint_seq) + 1;
      return more ? { rows, continueBelow: floor } : { rows };
    });
  }

  /**
   * The newest `limit` events matching `q` and `filters` below `below` and at or above `floor`
   * (all of them without one) among those whose text is copied, through the trigram index asked
   * for `key`: the candidates whose copied text holds the key (from the index, ANDed with the
   * BRIN index on seq when there is a floor; never from a primary key walk that a rare text
   * would take to the oldest event) ...
   */
  async #indexedRange(
    tx: Knex.Transaction,
    range: {
      filters: AuditEventFilters;
      key: string;
      q: string;
      pattern: string;
      below: number;
      floor: number | undefined;
      limit: number;
    },
  ): Promise<EventRow[]> {
    const hits = tx(SEARCH_TEXT)
      .select('seq', 'body')
      .whereRaw(`body ${caseInsensitiveLike(range.key)} ? ESCAPE '\\'`, [
        `%${escapeLike(range.key)}%`,
      ])
      .where('seq', '<', range.below);
    if (range.floor !== undefined) {
      hits.where('seq', '>=', range.floor);
    }
    // ... newest first, matched against the whole text only until the page is full: the whole
    // text's ILIKE costs ≈8 µs an event (lower-casing its search text), so it is not paid for the
    // ~1,000 older candidates of a text like `service-123`
    const page = tx
      .withMaterialized('search_hits', hits)
      .select('e.*')
      .from(
        tx('search_hits').select('seq', 'body').orderBy('seq', 'desc').as('h'),
      )
      .join(`${EVENTS} as e`, 'e.seq', 'h.seq')
      .whereRaw(`h.body ${caseInsensitiveLike(range.q)} ? ESCAPE '\\'`, [
        range.pattern,
      ]);
    return this.#applyFilters(page, { ...range.filters, q: undefined }, 'e.')
      .orderBy('h.seq', 'desc')
      .limit(range.limit);
  }

  /**
   * The lower-cased search text of the newest events. The first search reads it (concurrent ones
   * share that read); later, once it is a minute old, the next search starts a refresh in the
   * background and is planned by the sample it has: a refresh never delays a search, and a
   * failed one is tried again by a later search. A refresh reads only the events appended since.
   */
  async #searchSample(): Promise<SearchSample> {
    const sample = this.#sample;
    if (!sample) {
      await this.#refreshSample();
      return this.#sample!;
    }
    if (Date.now() - sample.at > SEARCH_SAMPLE_TTL_MS) {
      this.#refreshSample().catch(() => {
        // the search is planned by the previous sample; the next search tries again
      });
    }
    return sample;
  }

  /** Reads the events appended since the sample's newest (one read at a time). */
  #refreshSample(): Promise<void> {
    if (!this.#sampleRead) {
      this.#sampleRead = this.#readSample().finally(() => {
        this.#sampleRead = undefined;
      });
    }
    return this.#sampleRead;
  }

  async #readSample(): Promise<void> {
    const at = Date.now();
    const previous = this.#sample;
    // Beside it, never awaited by a search: the search window's BRIN ranges appended since.
    void this.#summarizeSearchWindow();
    const { rows } = await this.#db.raw(
      `SELECT seq, lower(${PG_SEARCH_TEXT}) AS text FROM ${EVENTS}
       WHERE seq > ? ORDER BY seq DESC LIMIT ?`,
      [previous?.newest ?? 0, SEARCH_SAMPLE_SIZE],
    );
    this.#sample = nextSample(previous, rows, at);
  }

  /**
   * PostgreSQL: summarizes the page ranges of the BRIN index on `seq` that are not yet (with the
   * sample, at the first search and then at most once a minute). A ranged search ANDs that index
   * with the trigram one, and a range not summarized matches every range: after a burst of appends
   * (autosummarize's requests are dropped once more than 256 ranges fill between two autovacuum
   * passes) each search rechecked every unsummarized page, ≈60,000 events after 1M were loaded in
   * two minutes. One call at a time, waiting at most 1 s for its lock. Needs the database user to
   * own the index; when it does not, it is not tried again, and searches stay correct, only slower.
   */
  async #summarizeSearchWindow(): Promise<void> {
    if (!this.#isPostgres || this.#summarizeRefused || this.#summarizing)
      return;
    // One at a time, and never waiting long for its lock (SHARE UPDATE EXCLUSIVE, which VACUUM and
    // CREATE INDEX CONCURRENTLY hold): a blocked call would hold a pool connection appends need.
    this.#summarizing = this.#db
      .transaction(async tx => {
        await tx.raw(`SET LOCAL lock_timeout = '1s'`);
        await tx.raw(`SET LOCAL statement_timeout = '60s'`);
        await tx.raw(
          `SELECT brin_summarize_new_values(to_regclass('${SEARCH_WINDOW_INDEX}'))`,
        );
      })
      .catch(e => {
        // Only "must be owner of index" stops it for good; a timeout or a lost connection is
        // tried again with the next sample refresh.
        if ((e as { code?: string })?.code === '42501')
          this.#summarizeRefused = true;
      })
      .finally(() => {
        this.#summarizing = undefined;
      });
    await this.#summarizing;
  }

  /**
   * PostgreSQL: copies the searched text ({@link PG_SEARCH_TEXT}) of the events appended since the
   * last copy into {@link SEARCH_TEXT}, whose trigram index answers the free-text search, and
   * moves `indexed_through` with it: {@link SEARCH_COPY_BATCH} events a transaction, until none is
   * left. One session copies at a time (it locks the state row); this one waits for it. Appends
   * start a copy themselves shortly after they commit (unless `copySearchTextAfterAppends` is
   * false). Returns how many events it copied; 0 on SQLite, whose FTS5 table follows every
   * append by triggers.
   */
  async copySearchText(): Promise<number> {
    if (!this.#isPostgres) return 0;
    return (await this.#copySearchText(true)) ?? 0;
  }

  /**
   * Stops the copy of the search text behind the appends, before the database closes: a copy
   * that is due does not start, one in progress stops after its current batch and is waited for.
   * Appends, searches and {@link DatabaseAuditStore.copySearchText} go on working; what is left
   * to copy is copied by the next store started on the database.
   */
  async stopCopyingSearchText(): Promise<void> {
    this.#copyStopped = true;
    clearTimeout(this.#copyTimer);
    this.#copyTimer = undefined;
    await this.#copying;
  }

  /**
   * {@link DatabaseAuditStore.copySearchText}; without `wait` (in the background), undefined at
   * once when another session holds the lock, and stopped between batches by
   * {@link DatabaseAuditStore.stopCopyingSearchText}.
   */
  async #copySearchText(wait: boolean): Promise<number | undefined> {
    let copied = 0;
    while (wait || !this.#copyStopped) {
      const batch = await this.#db.transaction(async tx => {
        const {
          rows: [state],
        } = await tx.raw(
          `SELECT indexed_through FROM ${SEARCH_STATE} WHERE id = 1 FOR UPDATE${
            wait ? '' : ' SKIP LOCKED'
          }`,
        );
        if (!state) return undefined;
        const through = Number(state.indexed_through);
        // ON CONFLICT: the text of an event deleted while it was copied, whose sequence number a
        // cut tail gave again, is replaced
        const {
          rows: [done],
        } = await tx.raw(
          `WITH copied AS (
             INSERT INTO ${SEARCH_TEXT} (seq, body)
             SELECT seq, ${PG_SEARCH_TEXT} FROM ${EVENTS}
             WHERE seq > ? AND seq <= (SELECT last_seq FROM ${HEAD} WHERE id = 1)
             ORDER BY seq LIMIT ?
             ON CONFLICT (seq) DO UPDATE SET body = EXCLUDED.body
             RETURNING seq
           )
           UPDATE ${SEARCH_STATE}
           SET indexed_through = coalesce((SELECT max(seq) FROM copied), ?)
           WHERE id = 1
           RETURNING (SELECT count(*) FROM copied) AS n`,
          [through, SEARCH_COPY_BATCH, through],
        );
        return Number(done.n);
      });
      if (batch === undefined) return copied > 0 ? copied : undefined;
      copied += batch;
      if (batch < SEARCH_COPY_BATCH) break;
    }
    if (copied > 0) {
      await this.#tidySearchIndexes();
    }
    return copied;
  }

  /**
   * After a copy: moves the trigram index's pending entries into the index (a search reads all
   * of them otherwise; PostgreSQL moves them itself only once they exceed gin_pending_list_limit,
   * or at a vacuum), and summarizes the BRIN ranges the copy filled. Both need the database user
   * to own the indexes; when it does not, searches stay correct, only slower.
   */
  async #tidySearchIndexes(): Promise<void> {
    if (!this.#cleanPendingRefused) {
      await this.#db
        .transaction(async tx => {
          await tx.raw(`SET LOCAL lock_timeout = '1s'`);
          await tx.raw(
            `SELECT gin_clean_pending_list(to_regclass('${SEARCH_TRIGRAM_INDEX}'))
             WHERE to_regclass('${SEARCH_TRIGRAM_INDEX}') IS NOT NULL`,
          );
        })
        .catch(e => {
          if ((e as { code?: string })?.code === '42501')
            this.#cleanPendingRefused = true;
        });
    }
    await this.#summarizeSearchWindow();
  }

  /**
   * Starts {@link DatabaseAuditStore.#copySearchText} after {@link SEARCH_COPY_DELAY_MS} (or
   * `delayMs`), unless one is due or running here (a running one starts another when it ends);
   * when another session is copying, tries again after {@link SEARCH_COPY_RETRY_MS}. Failures are
   * left for the next append or search to try again: search reads the events not copied from
   * the events table meanwhile.
   */
  #copySearchTextSoon(delayMs = SEARCH_COPY_DELAY_MS): void {
    if (!this.#isPostgres || !this.#copiesSearchText || this.#copyStopped)
      return;
    if (this.#copying) {
      this.#copyAgain = true;
      return;
    }
    if (this.#copyTimer) return;
    this.#copyTimer = setTimeout(() => {
      this.#copyTimer = undefined;
      let retry = false;
      this.#copying = this.#copySearchText(false)
        .then(copied => {
          retry = copied === undefined;
        })
        .catch(() => {})
        .finally(() => {
          this.#copying = undefined;
          if (retry || this.#copyAgain) {
            this.#copyAgain = false;
            this.#copySearchTextSoon(retry ? SEARCH_COPY_RETRY_MS : undefined);
          }
        });
    }, delayMs);
    // a copy that is due never keeps the process alive
    this.#copyTimer.unref?.();
  }

  #copyTimer?: ReturnType<typeof setTimeout>;
  #copying?: Promise<void>;
  #copyAgain = false;
  #copyStopped = false;
  #cleanPendingRefused = false;

  /** See {@link DatabaseAuditStore.#searchSample}. */
  #sample?: SearchSample;
  #sampleRead?: Promise<void>;
  #summarizeRefused = false;
  #summarizing?: Promise<void>;

  async #lockHead(tx: Knex.Transaction): Promise<HeadRow> {
    const builder = tx<HeadRow>(HEAD).where({ id: 1 });
    // SQLite has no row locks; its write transactions are serialized anyway.
    const head = await (this.#isPostgres
      ? builder.forUpdate()
      : builder
    ).first();
    if (!head) {
      throw new Error('Audit chain head is missing; migrations not applied?');
    }
    return head;
  }

  #filtered(
    filters: AuditEventFilters,
    db: Knex = this.#db,
  ): Knex.QueryBuilder {
    return this.#applyFilters(db<EventRow>(EVENTS), filters);
  }

  /** `builder` narrowed to the events matching `filters`, whose columns are named `${prefix}…`. */
  #applyFilters(
    builder: Knex.QueryBuilder,
    filters: AuditEventFilters,
    prefix = '',
  ): Knex.QueryBuilder {
    const c = (column: string) => `${prefix}${column}`;
    builder.where(c('seq'), '>', this.#checkpointSeq());
    builder.where(c('seq'), '<=', this.#headSeq());
    if (filters.actor) builder.where(c('actor'), filters.actor);
    if (filters.plugin) builder.where(c('plugin_id'), filters.plugin);
    if (filters.eventId) builder.where(c('event_id'), filters.eventId);
    if (filters.severity?.length) {
      builder.whereIn(c('severity'), filters.severity);
    }
    if (filters.status?.length) builder.whereIn(c('status'), filters.status);
    if (filters.entityRef) {
      builder.where(c('target_entity_ref'), filters.entityRef);
    }
    if (filters.target) {
      const target = filters.target;
      builder.where(inner =>
        inner
          .where(c('target_entity_ref'), target)
          .orWhere(c('target_cluster'), target)
          .orWhere(c('target_namespace'), target)
          .orWhere(c('target_resource'), target),
      );
    }
    if (filters.from) {
      builder.where(c('occurred_at'), '>=', toIso(filters.from));
    }
    if (filters.to) builder.where(c('occurred_at'), '<', toIso(filters.to));
    if (filters.q) {
      const pattern = `%${escapeLike(filters.q)}%`;
      if (this.#isPostgres) {
        // Not indexed: a page of a search (query, stream) goes through #searchPostgres, which
        // asks the copied text's trigram index.
        builder.whereRaw(`${PG_SEARCH_TEXT} ILIKE ? ESCAPE '\\'`, [pattern]);
      } else {
        // FTS5 trigram: a phrase is a case-insensitive substring match; it needs 3 characters,
        // shorter text is matched with LIKE over the same (indexed) text.
        const short = [...filters.q].length < 3;
        if (short) {
          builder.whereRaw(
            `seq IN (SELECT rowid FROM ${SEARCH} WHERE body LIKE ? ESCAPE '\\')`,
            [pattern],
          );
        } else {
          builder.whereRaw(
            `seq IN (SELECT rowid FROM ${SEARCH} WHERE ${SEARCH} MATCH ?)`,
            [`"${filters.q.replace(/"/g, '""')}"`],
          );
        }
      }
    }
    return builder;
  }
}
