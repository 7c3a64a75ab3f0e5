import { createHash, createHmac, hash as oneShotHash } from 'node:crypto';
import type { ChainKey } from './chainKeys';

/** prevHash of the first event ever stored. */
export const GENESIS_HASH = '0'.repeat(64);

/** A row of `audit_log_events` as the drivers return it. */
export type EventRow = {
  seq: number | string;
  occurred_at: Date | string;
  actor: string | null;
  plugin_id: string;
  event_id: string;
  severity: string;
  status: string;
  target_entity_ref: string | null;
  target_cluster: string | null;
  target_namespace: string | null;
  target_resource: string | null;
  request_method: string | null;
  request_path: string | null;
  request_ip: string | null;
  request_user_agent: string | null;
  meta: string | null;
  error: string | null;
  prev_hash: string;
  hash: string;
  /**
   * The form the hash was computed in ({@link CHAIN_VERSION}); 1 for events stored before
   * migration 20261204000000_chain_v2 and by replicas that predate it (the column's default).
   */
  chain_version: number | string;
  /**
   * Version 3: the id of the key the event was signed with (`chainKeyId`); NULL otherwise, and
   * absent before migration 20261205000000_chain_key_id.
   */
  chain_key_id?: string | null;
};

/** The content of an event row, without its chain fields. */
export type EventContent = Omit<
  EventRow,
  'hash' | 'prev_hash' | 'chain_version' | 'chain_key_id'
>;

/** The columns that are hashed, in the order of the version 2 form: all but the chain fields. */
export const HASHED_COLUMNS = [
  'seq',
  'occurred_at',
  'actor',
  'plugin_id',
  'event_id',
  'severity',
  'status',
  'target_entity_ref',
  'target_cluster',
  'target_namespace',
  'target_resource',
  'request_method',
  'request_path',
  'request_ip',
  'request_user_agent',
  'meta',
  'error',
] as const;

/** PostgreSQL returns timestamps as Date, SQLite as the stored string. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Milliseconds since 1970-01-01T00:00:00Z of a timestamp as the drivers return it. */
function epochMillis(value: Date | string): number {
  return (value instanceof Date ? value : new Date(value)).getTime();
}

/**
 * The form new events are hashed in when no chain key is configured (version 4): sha256 of
 * prev_hash, the marker {@link CONTENT_DIGEST_MARKER} and the raw sha256 of the version 2 text
 * (the event's content digest). On PostgreSQL the database keeps that digest in the generated
 * column `content_digest` (migration 20261211000000_content_digest), so verify hashes 35 bytes
 * per event instead of building its text; see {@link postgresContentDigest}.
 */
export const CHAIN_VERSION = 4;

/**
 * What a version 4 hash puts between prev_hash and the content digest. A version 2 text starts
 * with ":" and a version 1 text with "{", so no event's input in one form is another's in
 * another form.
 */
const CONTENT_DIGEST_MARKER = 'v4:';
const MARKER_BYTES = Buffer.from(CONTENT_DIGEST_MARKER);

/**
 * The form new events are signed in when a chain key is configured: HMAC-SHA256 with the key
 * over what version 2 hashes (prev_hash followed by the version 2 text).
 */
export const KEYED_CHAIN_VERSION = 3;

/** The key an event is signed with, by its id: the configured keys ({@link ChainKeyring}). */
export type ChainKeys = {
  get(id: string | null | undefined): ChainKey | undefined;
};

/** The text columns of the version 2 form, in order (after seq and occurred_at). */
const TEXT_COLUMNS = HASHED_COLUMNS.slice(2) as Exclude<
  (typeof HASHED_COLUMNS)[number],
  'seq' | 'occurred_at'
>[];

/** Hashed columns in canonical (sorted) key order, with their JSON keys. */
const SORTED_COLUMNS = [...HASHED_COLUMNS]
  .sort()
  .map(column => ({ column, key: JSON.stringify(column) }));

/** The JSON of one hashed column's value, or undefined when it is null (left out). */
function columnJson(column: (typeof HASHED_COLUMNS)[number], value: unknown) {
  if (value === null || value === undefined) {
    return undefined;
  }
  if (column === 'seq') {
    return String(Number(value));
  }
  if (column === 'occurred_at') {
    return JSON.stringify(toIso(value as Date | string));
  }
  return JSON.stringify(value);
}

/**
 * Version 1 (events stored before migration 20261204000000_chain_v2): the canonical JSON of a
 * row, hashed columns only, keys sorted, nulls omitted, seq as a number and the timestamp as
 * ISO 8601 with milliseconds. Equivalent to `canonicalJson` of that object, written out
 * directly because verify runs it for every stored event.
 */
export function canonicalRowV1(row: EventContent): string {
  let out = '{';
  let first = true;
  for (const { column, key } of SORTED_COLUMNS) {
    const json = columnJson(column, row[column]);
    if (json === undefined) {
      continue;
    }
    out += first ? `${key}:${json}` : `,${key}:${json}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * Version 2: the text hashed after the previous event's hash, built from length-prefixed
 * fields so that PostgreSQL builds it with one `concat` per event (see
 * {@link postgresHashExpression}) instead of a JSON text per column:
 *
 * ```
 * ":" seq ":" occurredAtMillis ":" field(actor) field(plugin_id) … field(error)
 * field(NULL)  = ":"
 * field(value) = byteLength(value) ":" value
 * ```
 *
 * seq and occurredAtMillis (milliseconds since 1970-01-01T00:00:00Z, the column holds
 * milliseconds) are decimal integers, byteLength is the number of bytes of the value in UTF-8,
 * in decimal, and the text columns follow in the order of {@link HASHED_COLUMNS}. Every field
 * can be read back from the text (a length tells where its value ends; a missing length is
 * NULL, `0:` the empty string), so two different rows never give the same text, and the
 * leading ":" (a version 1 text starts with "{") keeps the two forms apart.
 */
export function canonicalRowV2(row: EventContent): string {
  return `:${Number(row.seq)}${canonicalTail(row)}`;
}

/** Everything of the version 2 text after seq. */
function canonicalTail(row: Omit<EventContent, 'seq'>): string {
  let out = `:${epochMillis(row.occurred_at)}:`;
  for (const column of TEXT_COLUMNS) {
    const value = row[column];
    out +=
      value === null || value === undefined
        ? ':'
        : `${Buffer.byteLength(value, 'utf8')}:${value}`;
  }
  return out;
}

/**
 * The version 2 text of a row that has no sequence number yet, without the number: lets a
 * batch be serialised before the chain head is locked; under the lock only
 * {@link hashNumbered} remains.
 */
export type CanonicalParts = { tail: string };

/** See {@link CanonicalParts}. */
export function canonicalParts(row: Omit<EventContent, 'seq'>): CanonicalParts {
  return { tail: canonicalTail(row) };
}

/** The content digest of a version 4 event: the raw sha256 of its version 2 text. */
export function contentDigest(row: EventContent): Buffer {
  return createHash('sha256').update(canonicalRowV2(row)).digest();
}

/** A version 4 hash: sha256 of prev_hash, the marker and the content digest, hex. */
function hashDigest(prevHash: string, digestOfContent: Buffer): string {
  return createHash('sha256')
    .update(prevHash)
    .update(CONTENT_DIGEST_MARKER)
    .update(digestOfContent)
    .digest('hex');
}

/** sha256 (no key: versions 1, 2 and 4) or HMAC-SHA256 with the key (version 3). */
function digest(key: ChainKey | undefined) {
  return key ? createHmac('sha256', key.secret) : createHash('sha256');
}

/**
 * The hash of a row in the given form, hex: sha256(prevHash + the row's text) for versions 1
 * and 2, HMAC-SHA256 with `key` over prevHash + the version 2 text for version 3,
 * sha256(prevHash + "v4:" + sha256(the version 2 text)) for version 4. Undefined for a version
 * this code does not know, and for version 3 without a key.
 */
export function hashRow(
  prevHash: string,
  row: EventContent,
  version: number,
  key?: ChainKey,
): string | undefined {
  if (version === CHAIN_VERSION) {
    return hashDigest(prevHash, contentDigest(row));
  }
  let text: string;
  if (version === 2 || (version === KEYED_CHAIN_VERSION && key)) {
    text = canonicalRowV2(row);
  } else if (version === 1) {
    text = canonicalRowV1(row);
  } else {
    return undefined;
  }
  return digest(version === KEYED_CHAIN_VERSION ? key : undefined)
    .update(prevHash)
    .update(text)
    .digest('hex');
}

/**
 * {@link hashRow} of a row serialised by {@link canonicalParts}, numbered `seq`: version 3
 * signed with `key` when one is given, else version 4.
 */
export function hashNumbered(
  prevHash: string,
  parts: CanonicalParts,
  seq: number,
  key?: ChainKey,
): string {
  if (!key) {
    // hashDigest with one-shot hashes (a third less time than two Hash objects an event)
    const content = oneShotHash('sha256', `:${seq}${parts.tail}`, 'buffer');
    const prevLength = Buffer.byteLength(prevHash);
    const input = Buffer.allocUnsafe(prevLength + MARKER_BYTES.length + 32);
    input.write(prevHash, 0, 'utf8');
    MARKER_BYTES.copy(input, prevLength);
    content.copy(input, prevLength + MARKER_BYTES.length);
    return oneShotHash('sha256', input, 'hex');
  }
  return digest(key)
    .update(prevHash)
    .update(`:${seq}`)
    .update(parts.tail)
    .digest('hex');
}

/** The chain fields of an event hashed as `key` says: version 3 signed with it, or version 4. */
export function chainFields(key: ChainKey | undefined): {
  chain_version: number;
  chain_key_id: string | null;
} {
  return key
    ? { chain_version: KEYED_CHAIN_VERSION, chain_key_id: key.id }
    : { chain_version: CHAIN_VERSION, chain_key_id: null };
}

/**
 * `row` linked after `prevHash`: its prev_hash, its hash and the form of it, version 3 signed
 * with `key` when one is given, else version 4.
 */
export function linkRow(
  prevHash: string,
  row: EventContent,
  key?: ChainKey,
): EventRow {
  const fields = chainFields(key);
  return {
    ...row,
    prev_hash: prevHash,
    hash: hashRow(prevHash, row, fields.chain_version, key)!,
    ...fields,
  };
}

/**
 * How a stored row's hash compares with its content, its prev_hash and its chain_version:
 * `intact`, `altered`, or (version 3) `unknown-key` when it names a key that is not among
 * `keys`. A version 3 row that names no key is `altered`.
 */
export function checkStoredHash(
  row: EventRow,
  keys?: ChainKeys,
): 'intact' | 'altered' | 'unknown-key' {
  const version = Number(row.chain_version);
  let key: ChainKey | undefined;
  if (version === KEYED_CHAIN_VERSION) {
    if (!row.chain_key_id) return 'altered';
    key = keys?.get(row.chain_key_id);
    if (!key) return 'unknown-key';
  }
  return hashRow(row.prev_hash, row, version, key) === row.hash
    ? 'intact'
    : 'altered';
}

/** Whether a stored row's hash matches its content, its prev_hash and its chain_version. */
export function storedHashMatches(row: EventRow, keys?: ChainKeys): boolean {
  return checkStoredHash(row, keys) === 'intact';
}

/** The version 1 text on PostgreSQL: the canonical JSON (to_json per column). */
function postgresV1Text(): string {
  const parts = SORTED_COLUMNS.map(({ column, key }) => {
    let value: string;
    if (column === 'seq') {
      value = 'seq::text';
    } else if (column === 'occurred_at') {
      value = `to_json(to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text`;
    } else {
      value = `to_json(${column})::text`;
    }
    // concat_ws skips NULLs, which drops null columns like canonicalRowV1 does
    return `CASE WHEN ${column} IS NULL THEN NULL ELSE '${key}:' || ${value} END`;
  });
  return `'{' || concat_ws(',', ${parts.join(', ')}) || '}'`;
}

/** `parts` joined with `||` as a balanced tree, so that no part is copied more than log2(n) times. */
function concatenated(parts: string[]): string {
  if (parts.length === 1) return parts[0];
  const half = parts.length >> 1;
  return `(${concatenated(parts.slice(0, half))} || ${concatenated(
    parts.slice(half),
  )})`;
}

/**
 * The version 2 text on PostgreSQL. Integers print in decimal; a NULL column gives no length
 * and no value, just the ":" (`coalesce`). `octet_length` is the UTF-8 byte length in a UTF8
 * database (verify checks the encoding). The timestamp is exact: `extract` gives numeric
 * seconds with the stored milliseconds (of the UTC wall time, which is the same number and,
 * unlike extract from a timestamptz, immutable, as a generated column needs). Built with `||`
 * rather than one `concat`, which looks up the output function of each of its 50 arguments
 * for every event: a third less time for the same text.
 */
function postgresV2Text(): string {
  return concatenated([
    `':'`,
    `seq::text`,
    `':'`,
    `((extract(epoch FROM (occurred_at AT TIME ZONE 'UTC')) * 1000)::bigint)::text`,
    `':'`,
    ...TEXT_COLUMNS.map(
      column =>
        `coalesce(octet_length(${column})::text || ':' || ${column}, ':')`,
    ),
  ]);
}

/**
 * The content digest of a version 4 event on PostgreSQL (sha256 of the UTF-8 bytes of its
 * version 2 text), from immutable functions only, as the generated column `content_digest`
 * needs: `decode(…, 'escape')` of the text with its backslashes doubled gives its bytes in the
 * database's encoding (UTF8: verify checks it), as `convert_to` (stable) would. Migration
 * 20261211000000_content_digest defines the column with this expression, written out; verify
 * trusts the column only while the database still computes it with this expression.
 */
export function postgresContentDigest(): string {
  return `sha256(decode(replace(${postgresV2Text()}, '\\', '\\\\'), 'escape'))`;
}

/**
 * PostgreSQL expression of the version 2 text of a row (what version 3 signs after prev_hash),
 * for verify to sign in JavaScript: only the text travels, and the key never reaches the server.
 * Only for a database whose encoding is UTF8.
 */
export function postgresCanonicalTextV2(): string {
  return postgresV2Text();
}

/** HMAC-SHA256 with `key` of prevHash followed by a version 2 text, hex (version 3). */
export function signText(
  prevHash: string,
  text: string,
  key: ChainKey,
): string {
  return digest(key).update(prevHash).update(text).digest('hex');
}

/**
 * PostgreSQL expression computing the same hash as {@link hashRow} from the row's own
 * prev_hash in the form its chain_version names (NULL for a version this code does not
 * know, and for version 3: a keyed hash is only ever computed in JavaScript, so that the key
 * never reaches the database server, whose logs may show bind parameters), or in the given form, so that verify can hash on the database server and only
 * transfer a few columns per event. Any mismatch it reports is confirmed in JavaScript before
 * it is reported, so the two can never disagree silently. Only for a database whose encoding
 * is UTF8. A version 4 event's content digest is built from its columns, or with
 * `digests: 'column'` read from the generated column `content_digest` (only while verify trusts it).
 */
export function postgresHashExpression(
  version?: 1 | 2 | 4,
  digests: 'column' | 'computed' = 'computed',
): string {
  const hashOf = (text: string) =>
    `encode(sha256(convert_to(prev_hash || ${text}, 'UTF8')), 'hex')`;
  const v4 = `encode(sha256(convert_to(prev_hash || '${CONTENT_DIGEST_MARKER}', 'UTF8') || ${
    digests === 'column' ? 'content_digest' : postgresContentDigest()
  }), 'hex')`;
  if (version) {
    if (version === 4) return v4;
    return hashOf(version === 2 ? postgresV2Text() : postgresV1Text());
  }
  return `CASE chain_version WHEN ${CHAIN_VERSION} THEN ${v4} WHEN 2 THEN ${hashOf(
    postgresV2Text(),
  )} WHEN 1 THEN ${hashOf(postgresV1Text())} END`;
}
