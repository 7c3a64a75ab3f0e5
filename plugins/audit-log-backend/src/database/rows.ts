import {
  AUDIT_EVENT_SEVERITIES,
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEvent,
  AuditEventInput,
  AuditEventSeverity,
  AuditEventStatus,
  canonicalJson,
} from '@kubechart/plugin-audit-log-common';
import {
  isRedactedCopy,
  redactSecrets,
  redactText,
  redactUrl,
} from '@kubechart/plugin-audit-log-node';
import { EventContent, EventRow, toIso } from './chain';
import { CHAIN_KEY_EVENT_ID, isChainKeyId } from './chainKeys';

/**
 * Bounds of what one stored event may hold. Longer values are cut (in whole
 * code points, with no marker so the column limit is never exceeded);
 * metadata over its bound is replaced by a note of its size.
 */
export const ROW_LIMITS = {
  actor: 512,
  plugin_id: 255,
  event_id: 255,
  severity: 16,
  status: 16,
  target_entity_ref: 512,
  target_cluster: 255,
  target_namespace: 255,
  target_resource: 512,
  request_method: 16,
  request_path: 2048,
  request_ip: 64,
  request_user_agent: 1024,
  error: 8192,
  /** Characters of canonical JSON. */
  meta: 65536,
} as const;

/**
 * The `meta` key in which the audit log records the owner an event's entity had in the catalog
 * when the event was appended (an entity ref key). Part of `meta`, so part of what the chain
 * hashes; only the audit log writes it (see `createOwnerRecorder`).
 */
export const ENTITY_OWNER_META_KEY = 'auditLog.entityOwner';

/** Event id of the placeholder stored for an event that could not be. */
export const UNSTORABLE_EVENT_ID = 'event-unstorable';

// Each a single character class: linear in the length of the text.
const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// PostgreSQL text cannot hold U+0000 at all.
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
/** Whether a text holds anything the two rules above replace (most hold nothing). */
// eslint-disable-next-line no-control-regex
const NUL_OR_SURROGATE = /[\u0000\uD800-\uDFFF]/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;

/**
 * Makes a string safe to store and hash on every database: NUL (which
 * PostgreSQL refuses) and lone UTF-16 surrogates (which it would silently
 * turn into U+FFFD, breaking the hash) become U+FFFD up front, and the value
 * is cut to `max` code points.
 */
export function clean(value: unknown, max: number): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  let text = String(value);
  // never scan more than needed: a code point is at most two UTF-16 units
  if (text.length > max * 2) {
    text = text.slice(0, max * 2);
  }
  if (NUL_OR_SURROGATE.test(text)) {
    text = text.replace(NUL, '\ufffd').replace(LONE_SURROGATE, '\ufffd');
  }
  if (text.length <= max) {
    return text;
  }
  return Array.from(text).slice(0, max).join('');
}

type Meta = Parameters<typeof redactSecrets>[0];

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The key ids of the `chain-key-configured` event the store signs (`keyId`, `previousKeyIds`,
 * `previousEvent.keyId`), which the key-name rule would hide: a key id is the first 16 hex digits
 * of a hash of the key (`chainKeyId`) and reveals nothing of it, and the trail shows which key
 * took over when. Kept only in that event and only when they have that form; anything else under
 * those names stays redacted.
 */
function keepChainKeyIds(event: AuditEventInput, redacted: Meta): Meta {
  const meta = event.meta;
  if (
    event.plugin !== AUDIT_LOG_PLUGIN_ID ||
    event.eventId !== CHAIN_KEY_EVENT_ID ||
    !isObject(meta)
  ) {
    return redacted;
  }
  const out = { ...redacted };
  if (isChainKeyId(meta.keyId)) out.keyId = meta.keyId;
  const previous = meta.previousKeyIds;
  if (
    Array.isArray(previous) &&
    previous.length <= 100 &&
    previous.every(isChainKeyId)
  ) {
    out.previousKeyIds = [...previous];
  }
  const before = meta.previousEvent;
  const kept = out.previousEvent;
  if (
    isObject(before) &&
    isObject(kept) &&
    (before.keyId === null || isChainKeyId(before.keyId))
  ) {
    out.previousEvent = { ...kept, keyId: before.keyId };
  }
  return out;
}

/** `byEvent` keys of a gap record: the queue writes at most 50 and `other events`. */
export const MAX_GAP_EVENT_KEYS = 51;
/**
 * A `byEvent` key, `plugin.eventId (severity)`: printable, each part cut to 80 characters (244 in
 * all), at most as long as a `meta` key is kept (256). Loss records read back take the same.
 */
export const GAP_EVENT_KEY = /^[^\p{C}]{1,256}$/u;

/** `value` when it is an object of at most `max` counts under keys `validKey` accepts. */
function countsOf(
  value: unknown,
  max: number,
  validKey: (key: string) => boolean,
): Record<string, number> | undefined {
  if (!isObject(value)) return undefined;
  const counts: Record<string, number> = {};
  let keys = 0;
  // for…in: no list of every key of an object far larger than a gap record's
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const count = value[key];
    if (
      ++keys > max ||
      !validKey(key) ||
      !Number.isSafeInteger(count) ||
      (count as number) < 0
    ) {
      return undefined;
    }
    Object.defineProperty(counts, key, {
      value: count,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return counts;
}

/**
 * The counts of a gap record (`meta.gap.byEvent`, `meta.gap.bySeverity`), which the key-name rule
 * would hide (`auth.token-issue (low)`): they count dropped events by their plugin, event id and
 * severity, which the trail stores in the clear for every event, and hold no secret. Kept only in
 * the `audit-log` / `events-dropped` event and only when they are counts under such keys;
 * anything else there stays redacted.
 */
function keepGapCounts(event: AuditEventInput, redacted: Meta): Meta {
  const gap = isObject(event.meta) ? event.meta.gap : undefined;
  const kept = redacted.gap;
  if (
    event.plugin !== AUDIT_LOG_PLUGIN_ID ||
    event.eventId !== AUDIT_GAP_EVENT_ID ||
    !isObject(gap) ||
    !isObject(kept)
  ) {
    return redacted;
  }
  const byEvent = countsOf(gap.byEvent, MAX_GAP_EVENT_KEYS, key =>
    GAP_EVENT_KEY.test(key),
  );
  const bySeverity = countsOf(
    gap.bySeverity,
    AUDIT_EVENT_SEVERITIES.length,
    key => (AUDIT_EVENT_SEVERITIES as readonly string[]).includes(key),
  );
  if (!byEvent && !bySeverity) return redacted;
  return {
    ...redacted,
    gap: {
      ...kept,
      ...(byEvent ? { byEvent } : {}),
      ...(bySeverity ? { bySeverity } : {}),
    },
  };
}

/**
 * The owner the audit log recorded in `meta` (see {@link ENTITY_OWNER_META_KEY}), kept when the
 * rest of the metadata cannot be: without it, the event would be read as one recorded before
 * owners were (by whoever owns its entity now). An owner that is not an entity ref's text of
 * storable length is not one the audit log recorded, and is not kept.
 */
function ownerKept(meta: object): Record<string, string> {
  const owner = (meta as Record<string, unknown>)[ENTITY_OWNER_META_KEY];
  return typeof owner === 'string' &&
    owner.length <= ROW_LIMITS.target_entity_ref &&
    clean(owner, ROW_LIMITS.target_entity_ref) === owner
    ? { [ENTITY_OWNER_META_KEY]: owner }
    : {};
}

/** Room kept for the `…truncated` note and the recorded owner when metadata is cut. */
const CUT_NOTE_ROOM = 2048;
/** At most this many characters of the note name the values left out. */
const CUT_NAMES_CHARS = 1024;

/**
 * Metadata whose JSON (`length` characters) exceeds {@link ROW_LIMITS}.meta, within it: its
 * top-level values, smallest first, as long as they fit, and a `…truncated` note naming those
 * left out (largest first) with their sizes. The auditor bounds strings, not keys and JSON's
 * punctuation, so a list a caller filled could take an event over the bound; its outcome and
 * ids stay. The recorded owner is always kept.
 */
function metaWithin(
  kept: Record<string, unknown>,
  length: number,
  meta: object,
): string {
  const note = `metadata of ${length} characters exceeded the ${ROW_LIMITS.meta}-character limit`;
  const owner = ownerKept(meta);
  const entries = Object.entries(kept)
    .filter(([key]) => !(key in owner))
    .map(([key, value]) => ({
      key,
      value,
      size: canonicalJson({ [key]: value }).length - 2,
    }))
    .sort((a, b) => a.size - b.size || (a.key < b.key ? -1 : 1));
  const within: Record<string, unknown> = {};
  const left: typeof entries = [];
  let room = ROW_LIMITS.meta - CUT_NOTE_ROOM;
  for (const entry of entries) {
    if (entry.size + 1 <= room) {
      within[entry.key] = entry.value;
      room -= entry.size + 1;
    } else {
      left.push(entry);
    }
  }
  left.reverse();
  let names = '';
  for (const { key, size } of left) {
    const name = `${names ? ', ' : ''}${key.slice(
      0,
      100,
    )} (${size} characters)`;
    if (names.length + name.length > CUT_NAMES_CHARS) {
      names += ', …';
      break;
    }
    names += name;
  }
  const text = canonicalJson({
    ...within,
    '…truncated': `${note}: left out ${
      left.length === 1
        ? `the value of ${names}`
        : `the values of ${left.length} keys: ${names}`
    }`,
    ...owner,
  });
  return text.length <= ROW_LIMITS.meta
    ? text
    : canonicalJson({ '…truncated': note, ...owner });
}

/**
 * `meta` bounded and redacted (see `redactSecrets`), the owner the audit log recorded in it
 * apart: it is added once the rest is bounded (and redacted on its own), so that metadata which
 * takes the whole string budget of an event leaves it as it was recorded, not cut or unnamed.
 */
function redactedMeta(meta: Meta): Meta {
  if (!Object.prototype.hasOwnProperty.call(meta, ENTITY_OWNER_META_KEY)) {
    return redactSecrets(meta);
  }
  return {
    ...redactSecrets(meta, { leaveOut: [ENTITY_OWNER_META_KEY] }),
    ...redactSecrets({ [ENTITY_OWNER_META_KEY]: meta[ENTITY_OWNER_META_KEY] }),
  };
}

function metaText(event: AuditEventInput): string | null {
  const meta: unknown = event.meta;
  if (!meta || typeof meta !== 'object') {
    return null;
  }
  let kept: Record<string, unknown>;
  let json: string;
  try {
    // Bounded and redacted again here for any other writer: sorting the keys
    // of an unbounded object would stall the event loop, and a writer's
    // strings may hold secrets (`password: x`, a URL's password). The copy the
    // auditor made (read-only, so as it made it) is not walked a second time;
    // what the auditor bounded would come out unchanged. A list (not what the
    // type allows) is walked as the value of a key: it was stored as given.
    kept = Array.isArray(meta)
      ? { meta: redactSecrets({ meta } as unknown as Meta).meta }
      : keepGapCounts(
          event,
          keepChainKeyIds(
            event,
            isRedactedCopy(meta) ? (meta as Meta) : redactedMeta(meta as Meta),
          ),
        );
    json = canonicalJson(Array.isArray(meta) ? kept.meta : kept);
  } catch (error) {
    return canonicalJson({
      '…unstorable': String(error).slice(0, 200),
      ...ownerKept(meta),
    });
  }
  if (json === '{}' || json === '[]') {
    return null;
  }
  if (json.length > ROW_LIMITS.meta) {
    return metaWithin(kept, json.length, meta);
  }
  // JSON.stringify escapes NUL and lone surrogates, so the text is storable
  return json;
}

/**
 * `value` as text with what `redact` hides hidden, as the auditor already does, for any other
 * writer; no more of it is read than `max` (twice what {@link clean} keeps), and what runs to that
 * cut is redacted as cut.
 */
function redactedPrefix(
  value: unknown,
  max: number,
  redact: (text: string, options?: { cut?: boolean }) => string,
): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  const text = String(value);
  return text.length > max
    ? redact(text.slice(0, max), { cut: true })
    : redact(text);
}

/** An event's error with the secrets written in it hidden (see `redactText`). */
const errorText = (error: unknown) =>
  redactedPrefix(error, ROW_LIMITS.error * 2, redactText);

/**
 * An event's request path with the secrets in its query and fragment hidden (see `redactUrl`:
 * `?access_token=[REDACTED]&state=1`).
 */
const pathText = (path: unknown) =>
  redactedPrefix(path, ROW_LIMITS.request_path * 2, redactUrl);

/**
 * The row for an event. Never throws for odd input: one malformed event must
 * not block the batch it travels in, so missing names become `unknown` and
 * every value is cleaned and cut to its limit.
 */
export function inputToRow(event: AuditEventInput, seq: number): EventContent {
  const occurred = new Date(event.occurredAt);
  return {
    seq,
    occurred_at: (Number.isNaN(occurred.getTime())
      ? new Date()
      : occurred
    ).toISOString(),
    actor: clean(event.actor, ROW_LIMITS.actor),
    plugin_id: clean(event.plugin, ROW_LIMITS.plugin_id) || 'unknown',
    event_id: clean(event.eventId, ROW_LIMITS.event_id) || 'unknown',
    severity: clean(event.severity, ROW_LIMITS.severity) || 'low',
    status: clean(event.status, ROW_LIMITS.status) || 'initiated',
    target_entity_ref: clean(
      event.target?.entityRef,
      ROW_LIMITS.target_entity_ref,
    ),
    target_cluster: clean(event.target?.cluster, ROW_LIMITS.target_cluster),
    target_namespace: clean(
      event.target?.namespace,
      ROW_LIMITS.target_namespace,
    ),
    target_resource: clean(event.target?.resource, ROW_LIMITS.target_resource),
    request_method: clean(event.request?.method, ROW_LIMITS.request_method),
    request_path: clean(pathText(event.request?.path), ROW_LIMITS.request_path),
    request_ip: clean(event.request?.ip, ROW_LIMITS.request_ip),
    request_user_agent: clean(
      event.request?.userAgent,
      ROW_LIMITS.request_user_agent,
    ),
    meta: metaText(event),
    error: clean(errorText(event.error), ROW_LIMITS.error),
  };
}

function ascii(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  return String(value).slice(0, max).replace(NOT_PRINTABLE_ASCII, '?');
}

/**
 * The database's own words, without the statement knex puts in front of them
 * (it holds the refused values).
 */
function databaseReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = message.lastIndexOf(' - ');
  const reason = at >= 0 ? message.slice(at + 3) : message;
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? `${code}: ${reason}` : reason;
}

/**
 * What is stored in place of an event the database refused even after
 * cleaning: when, who and what, in printable ASCII only, and why it failed.
 */
export function placeholderFor(
  event: AuditEventInput,
  reason: unknown,
): AuditEventInput {
  const occurred = new Date(event?.occurredAt);
  return {
    occurredAt: Number.isNaN(occurred.getTime())
      ? new Date().toISOString()
      : occurred.toISOString(),
    actor: ascii(event?.actor, 200),
    plugin: AUDIT_LOG_PLUGIN_ID,
    eventId: UNSTORABLE_EVENT_ID,
    severity: 'high',
    status: 'failed',
    target: {},
    meta: {
      original: {
        plugin: ascii(event?.plugin, 100) ?? null,
        eventId: ascii(event?.eventId, 100) ?? null,
        severity: ascii(event?.severity, 16) ?? null,
        status: ascii(event?.status, 16) ?? null,
      },
    },
    error: `The database refused this event; stored a placeholder instead: ${ascii(
      databaseReason(reason),
      300,
    )}`,
  };
}

/** A stored row as the API returns it. */
export function rowToEvent(row: EventRow): AuditEvent {
  const target: AuditEvent['target'] = {};
  if (row.target_entity_ref) target.entityRef = row.target_entity_ref;
  if (row.target_cluster) target.cluster = row.target_cluster;
  if (row.target_namespace) target.namespace = row.target_namespace;
  if (row.target_resource) target.resource = row.target_resource;
  const hasRequest =
    row.request_method ||
    row.request_path ||
    row.request_ip ||
    row.request_user_agent;
  return {
    seq: Number(row.seq),
    occurredAt: toIso(row.occurred_at),
    actor: row.actor ?? undefined,
    plugin: row.plugin_id,
    eventId: row.event_id,
    severity: row.severity as AuditEventSeverity,
    status: row.status as AuditEventStatus,
    target,
    request: hasRequest
      ? {
          method: row.request_method ?? undefined,
          path: row.request_path ?? undefined,
          ip: row.request_ip ?? undefined,
          userAgent: row.request_user_agent ?? undefined,
        }
      : undefined,
    meta: row.meta ? JSON.parse(row.meta) : undefined,
    error: row.error ?? undefined,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
