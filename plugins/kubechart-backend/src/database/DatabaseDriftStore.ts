import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import type {
  DriftNotCompared,
  DriftObject,
  RunKind,
} from '@kubechart/plugin-kubechart-common';
import { Knex } from 'knex';
import {
  AppliedRun,
  DriftFilter,
  DriftHead,
  DriftRecord,
  DriftStore,
} from './DriftStore';
import { entityRefFilter } from './entityRefs';
import { storableText } from './storableText';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-kubechart-backend',
  'migrations',
);

/** Kinds of runs whose manifests are compared, and `tenant-delete`, which ends a tenant's. */
const APPLIED_KINDS: RunKind[] = [
  'chart',
  'rollback',
  'manifests',
  'tenant',
  'tenant-delete',
];

type DriftRow = {
  run_id: string;
  cluster: string;
  namespace: string;
  release: string | null;
  entity_ref: string | null;
  actor: string;
  status: string;
  since: string | number;
  checked_at: string | number;
  objects: string;
  not_compared: string | null;
  reported_by_action: string | null;
  message: string | null;
};

const iso = (ms: string | number) => new Date(Number(ms)).toISOString();

function toRecord(row: DriftRow): DriftRecord {
  return {
    runId: row.run_id,
    target: {
      cluster: row.cluster,
      namespace: row.namespace,
      ...(row.release ? { release: row.release } : {}),
    },
    ...(row.entity_ref ? { entityRef: row.entity_ref } : {}),
    actor: row.actor,
    status: row.status as DriftRecord['status'],
    since: iso(row.since),
    checkedAt: iso(row.checked_at),
    objects: JSON.parse(row.objects) as DriftObject[],
    ...(row.not_compared
      ? { notCompared: JSON.parse(row.not_compared) as DriftNotCompared[] }
      : {}),
    ...(row.reported_by_action
      ? { reportedByAction: row.reported_by_action }
      : {}),
    ...(row.message ? { message: row.message } : {}),
  };
}

/** Knex implementation of {@link DriftStore} for PostgreSQL and SQLite. */
export class DatabaseDriftStore implements DriftStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
  }): Promise<DatabaseDriftStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip && !options.skipMigrations) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new DatabaseDriftStore(client);
  }

  constructor(private readonly db: Knex) {}

  async latestAppliedRuns(): Promise<AppliedRun[]> {
    // One window query on both databases (SQLite has window functions since 3.25): the newest run
    // per target and class of change, runs kubechart executed apart from runs an action recorded (a
    // recorded run reports what its action says it applied: it never supersedes an engine run).
    const ranked = this.db('kubechart_runs')
      .select(
        'id',
        'kind',
        'action',
        'cluster',
        'namespace',
        'release',
        'created_at',
        'started_at',
        'target_owner',
      )
      .select(
        this.db.raw(
          `row_number() over (partition by cluster, namespace, coalesce(release, ''),
             case when kind in ('tenant', 'tenant-delete') then 't' when kind = 'manifests' then 'm' else 'r' end,
             case when action is null then 'e' else 'a' end
             order by coalesce(started_at, created_at) desc, created_at desc, id desc) as rn`,
        ),
      )
      .whereIn('kind', APPLIED_KINDS)
      .where(q =>
        q.where('status', 'succeeded').orWhere(deleted =>
          // A tenant-delete that ended failed although its namespace was gone (the stale-run check
          // recorded it so on the run): it ends its tenant's runs as a tenant-delete that succeeded.
          deleted
            .where('kind', 'tenant-delete')
            .whereNotNull('namespace_gone_at'),
        ),
      );
    const rows: Array<{
      id: string;
      kind: RunKind;
      action: string | null;
      cluster: string;
      namespace: string;
      release: string | null;
      created_at: string | number;
      started_at: string | number | null;
      target_owner: string | null;
    }> = await this.db
      .from(ranked.as('ranked'))
      .select(
        'id',
        'kind',
        'action',
        'cluster',
        'namespace',
        'release',
        'created_at',
        'started_at',
        'target_owner',
      )
      .where('rn', 1);
    return rows.map(r => ({
      id: r.id,
      kind: r.kind,
      ...(r.action ? { action: r.action } : {}),
      cluster: r.cluster,
      namespace: r.namespace,
      ...(r.release ? { release: r.release } : {}),
      appliedAt: Number(r.started_at ?? r.created_at),
      ...(r.target_owner !== null ? { targetOwner: r.target_owner } : {}),
    }));
  }

  async adoptTargetOwner(runId: string, owner: string): Promise<boolean> {
    const updated = await this.db('kubechart_runs')
      .where({ id: runId })
      .whereNull('target_owner')
      .update({ target_owner: owner });
    return Number(updated) > 0;
  }

  async get(runId: string): Promise<DriftRecord | undefined> {
    const row = await this.db<DriftRow>('kubechart_drift')
      .where({ run_id: runId })
      .first();
    return row ? toRecord(row) : undefined;
  }

  async list(
    filter: DriftFilter,
    readable?: (heads: DriftHead[]) => Promise<DriftHead[]>,
  ): Promise<DriftRecord[]> {
    const q = this.db<DriftRow>('kubechart_drift');
    if (filter.entityRef)
      q.where('kubechart_drift.entity_ref', entityRefFilter(filter.entityRef));
    if (filter.cluster) q.where('kubechart_drift.cluster', filter.cluster);
    if (filter.namespace)
      q.where('kubechart_drift.namespace', filter.namespace);
    q.orderBy([
      { column: 'kubechart_drift.checked_at', order: 'desc' },
      { column: 'kubechart_drift.run_id', order: 'asc' },
    ]).limit(500);
    if (!readable) return (await q).map(toRecord);
    // Who may read each record first: none is read whole (nor parsed) that the reader may not read.
    // With the owner its run's entity had (a record is its run's, read as the run is).
    const heads: Array<
      Pick<DriftRow, 'run_id' | 'entity_ref' | 'actor'> & {
        entity_owner: string | null;
      }
    > = await q
      .leftJoin('kubechart_runs', 'kubechart_runs.id', 'kubechart_drift.run_id')
      .select(
        'kubechart_drift.run_id',
        'kubechart_drift.entity_ref',
        'kubechart_drift.actor',
        'kubechart_runs.entity_owner',
      );
    const kept = await readable(
      heads.map(h => ({
        runId: h.run_id,
        ...(h.entity_ref ? { entityRef: h.entity_ref } : {}),
        ...(typeof h.entity_owner === 'string'
          ? { entityOwner: h.entity_owner }
          : {}),
        actor: h.actor,
      })),
    );
    const ids = kept.map(h => h.runId);
    const byId = new Map<string, DriftRecord>();
    // In batches: SQLite limits the number of bound parameters of one statement.
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db<DriftRow>('kubechart_drift').whereIn(
        'run_id',
        ids.slice(i, i + 500),
      );
      for (const row of rows) byId.set(row.run_id, toRecord(row));
    }
    // In the order listed; a record deleted since (a drift pass ended) is not.
    return ids.flatMap(id => byId.get(id) ?? []);
  }

  async put(record: DriftRecord): Promise<void> {
    await this.db('kubechart_drift')
      .insert(toRow(record))
      .onConflict('run_id')
      .merge();
  }

  async replaceAll(records: DriftRecord[]): Promise<DriftRecord[]> {
    // One transaction: PostgreSQL readers see the rows as committed before it or after it (SQLite
    // has one connection, so they wait for it).
    return this.db.transaction(async tx => {
      const keep = new Set(records.map(r => r.runId));
      const existing: Array<{ run_id: string }> = await tx(
        'kubechart_drift',
      ).select('run_id');
      const stale = existing.map(r => r.run_id).filter(id => !keep.has(id));
      const removed: DriftRecord[] = [];
      // In batches: SQLite limits the number of bound parameters of one statement.
      for (let i = 0; i < stale.length; i += 500) {
        const batch = stale.slice(i, i + 500);
        removed.push(
          ...(
            await tx<DriftRow>('kubechart_drift').whereIn('run_id', batch)
          ).map(toRecord),
        );
        await tx('kubechart_drift').whereIn('run_id', batch).delete();
      }
      // 50 rows of 13 columns a statement, for the same reason.
      for (let i = 0; i < records.length; i += 50) {
        await tx('kubechart_drift')
          .insert(records.slice(i, i + 50).map(toRow))
          .onConflict('run_id')
          .merge();
      }
      return removed;
    });
  }
}

/**
 * A record as a row. Text is written as the run store writes it (`storableText`: U+0000, which
 * PostgreSQL refuses, and lone surrogates become U+FFFD): a `message` quotes the error a cluster or
 * a manifest parser gave, which can quote what a user sent, and one refused row would fail the
 * whole pass (`replaceAll` is one transaction), leaving every record as the previous pass left it.
 * `objects` is JSON, which escapes both.
 */
function toRow(record: DriftRecord): DriftRow {
  return {
    run_id: storableText(record.runId),
    cluster: storableText(record.target.cluster),
    namespace: storableText(record.target.namespace),
    release: storableText(record.target.release ?? null),
    // As runs store it (a record of a run stored before keeps a ref that is not one as it was).
    entity_ref: storableText(
      record.entityRef
        ? entityRefFilter(record.entityRef)
        : record.entityRef ?? null,
    ),
    actor: storableText(record.actor),
    status: record.status,
    since: Date.parse(record.since),
    checked_at: Date.parse(record.checkedAt),
    objects: JSON.stringify(record.objects),
    not_compared: record.notCompared?.length
      ? JSON.stringify(record.notCompared)
      : null,
    reported_by_action: storableText(record.reportedByAction ?? null),
    message: storableText(record.message ?? null),
  };
}
