import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  AuditEvent,
  AuditEventFilters,
  AuditEventInput,
  AuditEventPage,
  AuditEventQuery,
  AuditEventSeverity,
  AuditEventStatus,
  AuditPruneCheckpoint,
  AuditPruneResult,
  AuditVerifyResult,
  canonicalJson,
} from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import { AuditAppendResult, AuditStore } from './AuditStore';
import { EventRow, hashRow, postgresHashExpression, toIso } from './chain';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-audit-log-backend',
  'migrations',
);

const EVENTS = 'audit_log_events';
const HEAD = 'audit_log_chain_head';

/** Rows per INSERT statement; keeps well under the bind-parameter limits. */
const INSERT_CHUNK = 500;
const VERIFY_BATCH = 10000;
/** Ranges in flight during verify. */
const VERIFY_PREFETCH = 3;
const STREAM_BATCH = 1000;
const DELETE_BATCH = 10000;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

/** What verify needs of each event. */
type LinkRow = {
  seq: number | string;
  prev_hash: string;
  hash: string;
  /** The hash recomputed from the row's content and its own prev_hash. */
  computed: string;
};

const POSTGRES_HASH = postgresHashExpression();

type HeadRow = {
  id: number;
  last_seq: number | string;
  last_hash: string;
  checkpoint_seq: number | string;
  checkpoint_hash: string;
  pruned_at: Date | string | null;
};

function rowToEvent(row: EventRow): AuditEvent {
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

const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string safe to store and hash: lone UTF-16 surrogates (which the
 * database would silently turn into U+FFFD, breaking the hash) are replaced
 * up front, and the value is cut to the column's length in whole code points.
 */
function clean(value: unknown, max?: number): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  const text = String(value).replace(LONE_SURROGATE, '\ufffd');
  if (max === undefined || text.length <= max) {
    return text;
  }
  return Array.from(text).slice(0, max).join('');
}

/**
 * The row for an event. Never throws for odd input: one malformed event must
 * not block the batch it travels in, so missing names become `unknown` and
 * long values are cut to the column sizes.
 */
function inputToRow(
  event: AuditEventInput,
  seq: number,
): Omit<EventRow, 'hash' | 'prev_hash'> {
  const occurred = new Date(event.occurredAt);
  const meta =
    event.meta &&
    typeof event.meta === 'object' &&
    Object.keys(event.meta).length > 0
      ? canonicalJson(event.meta)
      : null;
  return {
    seq,
    occurred_at: (Number.isNaN(occurred.getTime())
      ? new Date()
      : occurred
    ).toISOString(),
    actor: clean(event.actor, 512),
    plugin_id: clean(event.plugin, 255) || 'unknown',
    event_id: clean(event.eventId, 255) || 'unknown',
    severity: clean(event.severity, 16) || 'low',
    status: clean(event.status, 16) || 'initiated',
    target_entity_ref: clean(event.target?.entityRef, 512),
    target_cluster: clean(event.target?.cluster, 255),
    target_namespace: clean(event.target?.namespace, 255),
    target_resource: clean(event.target?.resource, 512),
    request_method: clean(event.request?.method, 16),
    request_path: clean(event.request?.path),
    request_ip: clean(event.request?.ip, 64),
    request_user_agent: clean(event.request?.userAgent),
    meta,
    error: clean(event.error),
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

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, c => `\\${c}`);
}

function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d+)$/.exec(
    Buffer.from(cursor, 'base64url').toString('utf8'),
  );
  if (!match) {
    throw new InputError('Invalid cursor');
  }
  return Number(match[1]);
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
  }): Promise<DatabaseAuditStore> {
    const { database } = options;
    const client = await database.getClient();
    if (!database.migrations?.skip) {
      await DatabaseAuditStore.runMigrations(client);
    }
    return new DatabaseAuditStore(client);
  }

  /** Applies the plugin's migrations to `knex`. */
  static async runMigrations(knex: Knex): Promise<void> {
    await knex.migrate.latest({ directory: migrationsDir });
  }

  /** The directory of the knex migrations. */
  static readonly migrationsDirectory = migrationsDir;

  readonly #verifyBatchSize: number;

  constructor(db: Knex, options?: { verifyBatchSize?: number }) {
    this.#db = db;
    this.#verifyBatchSize = options?.verifyBatchSize ?? VERIFY_BATCH;
    this.#isPostgres = db.client.config.client === 'pg';
  }

  async append(events: AuditEventInput[]): Promise<AuditAppendResult> {
    if (events.length === 0) {
      throw new InputError('Nothing to append');
    }
    return this.#db.transaction(async tx => {
      const head = await this.#lockHead(tx);
      let seq = Number(head.last_seq);
      let prevHash = head.last_hash;
      const firstSeq = seq + 1;
      const rows: EventRow[] = events.map(event => {
        seq += 1;
        const row = inputToRow(event, seq);
        const hash = hashRow(prevHash, row);
        const full: EventRow = { ...row, prev_hash: prevHash, hash };
        prevHash = hash;
        return full;
      });
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx(EVENTS).insert(rows.slice(i, i + INSERT_CHUNK));
      }
      await tx(HEAD)
        .where({ id: 1 })
        .update({ last_seq: seq, last_hash: prevHash });
      return { firstSeq, lastSeq: seq };
    });
  }

  async get(seq: number): Promise<AuditEvent | undefined> {
    const row = await this.#db<EventRow>(EVENTS).where({ seq }).first();
    return row ? rowToEvent(row) : undefined;
  }

  async query(query: AuditEventQuery): Promise<AuditEventPage> {
    const limit = Math.min(
      Math.max(query.limit ?? DEFAULT_PAGE_SIZE, 1),
      MAX_PAGE_SIZE,
    );
    const builder = this.#filtered(query)
      .orderBy('seq', 'desc')
      .limit(limit + 1);
    if (query.cursor) {
      builder.where('seq', '<', decodeCursor(query.cursor));
    }
    const rows: EventRow[] = await builder;
    const items = rows.slice(0, limit).map(rowToEvent);
    return {
      items,
      nextCursor:
        rows.length > limit
          ? encodeCursor(items[items.length - 1].seq)
          : undefined,
    };
  }

  async *stream(filters: AuditEventFilters): AsyncIterable<AuditEvent> {
    let before: number | undefined;
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

  async verify(): Promise<AuditVerifyResult> {
    const head = await this.#db<HeadRow>(HEAD).where({ id: 1 }).first();
    if (!head) {
      throw new Error('Audit chain head is missing; migrations not applied?');
    }
    const headSeq = Number(head.last_seq);
    const pruned = checkpointOf(head);
    let expectedSeq = Number(head.checkpoint_seq) + 1;
    let prevHash = head.checkpoint_hash;
    let firstSeq: number | undefined;
    let checked = 0;

    const result = (failure?: {
      failedSeq: number;
      reason: string;
    }): AuditVerifyResult => ({
      ok: !failure,
      checked,
      firstSeq,
      lastSeq: checked > 0 ? expectedSeq - 1 : undefined,
      headSeq,
      pruned,
      ...failure,
      verifiedAt: new Date().toISOString(),
    });

    // Consecutive seq ranges, fetched a few ahead so the database hashes the
    // next ranges while this process checks the current one.
    const startSeq = expectedSeq;
    const batch = this.#verifyBatchSize;
    const ranges = Math.max(0, Math.ceil((headSeq - startSeq + 1) / batch));
    const pending: Promise<LinkRow[]>[] = [];
    let requested = 0;
    const requestMore = () => {
      while (requested < ranges && pending.length < VERIFY_PREFETCH) {
        const from = startSeq + requested * batch;
        const to = Math.min(from + batch - 1, headSeq);
        const fetching = this.#fetchLinks(from, to);
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
        const seq = Number(row.seq);
        if (seq !== expectedSeq) {
          return result({
            failedSeq: expectedSeq,
            reason: `Event ${expectedSeq} is missing (the next stored event is ${seq})`,
          });
        }
        if (row.prev_hash !== prevHash) {
          return result({
            failedSeq: seq,
            reason: `Event ${seq} does not link to the previous event: its prev_hash differs from the hash of event ${
              seq - 1
            }`,
          });
        }
        if (row.computed !== row.hash && !(await this.#confirmHash(seq))) {
          return result({
            failedSeq: seq,
            reason: `Event ${seq} was altered: its content does not match its stored hash`,
          });
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
    return result();
  }

  async prune(options: { before: Date }): Promise<AuditPruneResult> {
    const cutoff = options.before.toISOString();
    // Move the checkpoint under the head lock, then delete outside of it so
    // appends are not blocked by a long delete.
    const { from, through, head } = await this.#db.transaction(async tx => {
      const locked = await this.#lockHead(tx);
      const checkpointSeq = Number(locked.checkpoint_seq);
      const lastSeq = Number(locked.last_seq);
      // Prune a prefix of the chain: everything before the first event that
      // is inside the retention window.
      const firstKept = await tx(EVENTS)
        .where('seq', '>', checkpointSeq)
        .andWhere('occurred_at', '>=', cutoff)
        .orderBy('seq', 'asc')
        .first('seq');
      const throughSeq = firstKept ? Number(firstKept.seq) - 1 : lastSeq;
      if (throughSeq <= checkpointSeq) {
        return { from: 0, through: checkpointSeq, head: locked };
      }
      const last = await tx<EventRow>(EVENTS)
        .where({ seq: throughSeq })
        .first('hash');
      if (!last) {
        throw new Error(`Cannot prune: event ${throughSeq} is missing`);
      }
      const update = {
        checkpoint_seq: throughSeq,
        checkpoint_hash: last.hash,
        pruned_at: new Date().toISOString(),
      };
      await tx(HEAD).where({ id: 1 }).update(update);
      return {
        from: checkpointSeq + 1,
        through: throughSeq,
        head: { ...locked, ...update },
      };
    });

    let deleted = 0;
    if (from > 0) {
      const oldest = await this.#db(EVENTS).min({ seq: 'seq' }).first();
      let low = Math.min(from, Number(oldest?.seq ?? from));
      while (low <= through) {
        const high = Math.min(low + DELETE_BATCH - 1, through);
        deleted += await this.#db(EVENTS)
          .whereBetween('seq', [low, high])
          .delete();
        low = high + 1;
      }
    }
    return { deleted, checkpoint: checkpointOf(head) };
  }

  /**
   * The links with seq in [fromSeq, toSeq]. PostgreSQL hashes on the server;
   * elsewhere the rows are hashed here.
   */
  async #fetchLinks(fromSeq: number, toSeq: number): Promise<LinkRow[]> {
    if (this.#isPostgres) {
      const { rows } = await this.#db.raw(
        `SELECT seq, prev_hash, hash, ${POSTGRES_HASH} AS computed
         FROM ${EVENTS} WHERE seq >= ? AND seq <= ? ORDER BY seq`,
        [fromSeq, toSeq],
      );
      return rows;
    }
    const rows: EventRow[] = await this.#db<EventRow>(EVENTS)
      .where('seq', '>=', fromSeq)
      .andWhere('seq', '<=', toSeq)
      .orderBy('seq', 'asc');
    return rows.map(row => ({
      seq: row.seq,
      prev_hash: row.prev_hash,
      hash: row.hash,
      computed: hashRow(row.prev_hash, row),
    }));
  }

  /** Re-hashes one stored event in JavaScript, the reference implementation. */
  async #confirmHash(seq: number): Promise<boolean> {
    if (!this.#isPostgres) {
      return false; // already hashed here
    }
    const row = await this.#db<EventRow>(EVENTS).where({ seq }).first();
    return Boolean(row) && hashRow(row!.prev_hash, row!) === row!.hash;
  }

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

  #filtered(filters: AuditEventFilters): Knex.QueryBuilder {
    const builder = this.#db<EventRow>(EVENTS);
    if (filters.actor) builder.where('actor', filters.actor);
    if (filters.plugin) builder.where('plugin_id', filters.plugin);
    if (filters.eventId) builder.where('event_id', filters.eventId);
    if (filters.severity?.length) {
      builder.whereIn('severity', filters.severity);
    }
    if (filters.status?.length) builder.whereIn('status', filters.status);
    if (filters.entityRef) {
      builder.where('target_entity_ref', filters.entityRef);
    }
    if (filters.target) {
      const target = filters.target;
      builder.where(inner =>
        inner
          .where('target_entity_ref', target)
          .orWhere('target_cluster', target)
          .orWhere('target_namespace', target)
          .orWhere('target_resource', target),
      );
    }
    if (filters.from) {
      builder.where('occurred_at', '>=', toIso(filters.from));
    }
    if (filters.to) builder.where('occurred_at', '<', toIso(filters.to));
    if (filters.q) {
      const pattern = `%${escapeLike(filters.q)}%`;
      // SQLite's LIKE is already case-insensitive for ASCII.
      const op = this.#isPostgres ? 'ILIKE' : 'LIKE';
      const columns = [
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
      ];
      builder.where(inner => {
        for (const column of columns) {
          inner.orWhereRaw(`?? ${op} ? ESCAPE '\\'`, [column, pattern]);
        }
      });
    }
    return builder;
  }
}
