import {
  DatabaseService,
  isDatabaseConflictError,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import type {
  Run,
  RunEvent,
  RunStatus,
  RunsPage,
  RunTransition,
} from '@kubechart/plugin-kubechart-common';
import { Knex } from 'knex';
import {
  NewRun,
  NewRunEvent,
  RunFilter,
  RunPatch,
  RunStore,
  TenantRecord,
} from './RunStore';

const migrationsDir = resolvePackagePath(
  '@kubechart/plugin-kubechart-backend',
  'migrations',
);

type RunRow = {
  id: string;
  kind: string;
  status: string;
  entity_ref: string | null;
  actor: string;
  template: string | null;
  action: string | null;
  cluster: string;
  namespace: string;
  release: string | null;
  tenant: string | null;
  input: string;
  values: string | null;
  manifest: string | null;
  helm_revision: number | null;
  policy_report: string | null;
  failure_reason: string | null;
  transitions: string;
  created_at: string | number;
  started_at: string | number | null;
  finished_at: string | number | null;
  heartbeat_at: string | number | null;
  owner: string | null;
};

type EventRow = {
  run_id: string;
  seq: number;
  at: string | number;
  type: string;
  level: string;
  step: string | null;
  step_status: string | null;
  message: string;
};

const iso = (ms: string | number | null | undefined) =>
  ms === null || ms === undefined ? undefined : new Date(Number(ms)).toISOString();

function toRun(row: RunRow): Run {
  const started = row.started_at === null ? undefined : Number(row.started_at);
  const finished = row.finished_at === null ? undefined : Number(row.finished_at);
  return {
    id: row.id,
    kind: row.kind as Run['kind'],
    status: row.status as RunStatus,
    entityRef: row.entity_ref ?? undefined,
    actor: row.actor,
    template: row.template ?? undefined,
    ...(row.action ? { action: row.action } : {}),
    target: {
      cluster: row.cluster,
      namespace: row.namespace,
      ...(row.release ? { release: row.release } : {}),
    },
    input: JSON.parse(row.input),
    values: row.values ? JSON.parse(row.values) : undefined,
    manifest: row.manifest ?? undefined,
    helmRevision: row.helm_revision ?? undefined,
    policyReport: row.policy_report ? JSON.parse(row.policy_report) : undefined,
    failureReason: row.failure_reason ?? undefined,
    transitions: JSON.parse(row.transitions),
    createdAt: iso(row.created_at)!,
    startedAt: iso(started),
    finishedAt: iso(finished),
    durationMs:
      started !== undefined && finished !== undefined ? finished - started : undefined,
    heartbeatAt: iso(row.heartbeat_at),
  };
}

function toEvent(row: EventRow): RunEvent {
  return {
    seq: Number(row.seq),
    runId: row.run_id,
    at: iso(row.at)!,
    type: row.type as RunEvent['type'],
    level: row.level as RunEvent['level'],
    ...(row.step ? { step: row.step } : {}),
    ...(row.step_status ? { stepStatus: row.step_status as RunEvent['stepStatus'] } : {}),
    message: row.message,
  };
}

function encodeCursor(row: { created_at: string | number; id: string }) {
  return Buffer.from(JSON.stringify([Number(row.created_at), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const [c, i] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof c === 'number' && typeof i === 'string') return [c, i];
  } catch {
    // fall through
  }
  throw new InputError('Invalid cursor');
}

/** Knex implementation of {@link RunStore} for PostgreSQL and SQLite. */
export class DatabaseRunStore implements RunStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
  }): Promise<DatabaseRunStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip && !options.skipMigrations) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new DatabaseRunStore(client);
  }

  private readonly isPostgres: boolean;

  constructor(private readonly db: Knex) {
    this.isPostgres = String(db.client.config.client).includes('pg');
  }

  async createRun(run: NewRun, lockKeys: string[]): Promise<Run> {
    const now = Date.now();
    const row: RunRow = {
      id: run.id,
      kind: run.kind,
      status: run.status,
      entity_ref: run.entityRef ?? null,
      actor: run.actor,
      template: run.template ?? null,
      action: run.action ?? null,
      cluster: run.target.cluster,
      namespace: run.target.namespace,
      release: run.target.release ?? null,
      tenant: run.tenant ?? null,
      input: JSON.stringify(run.input),
      values: null,
      manifest: null,
      helm_revision: null,
      policy_report: null,
      failure_reason: null,
      transitions: JSON.stringify([{ status: run.status, at: new Date(now).toISOString() }]),
      created_at: now,
      started_at: null,
      finished_at: null,
      heartbeat_at: now,
      owner: null,
    };
    try {
      await this.db.transaction(async tx => {
        await tx('kubechart_runs').insert(row);
        for (const target of lockKeys) {
          await tx('kubechart_locks').insert({ target, run_id: run.id, acquired_at: now });
        }
      });
    } catch (e) {
      if (!isDatabaseConflictError(e)) throw e;
      const holder = await this.db('kubechart_locks')
        .whereIn('target', lockKeys)
        .first<{ target: string; run_id: string } | undefined>();
      const active = holder ? await this.getRun(holder.run_id) : undefined;
      throw new ConflictError(
        active
          ? `Run ${active.id} (${active.kind}, ${active.status}, started by ${active.actor}) is already active on ${holder!.target}; wait for it to finish`
          : `Another run is already active on ${lockKeys.join(', ')}; try again`,
      );
    }
    return toRun(row);
  }

  async getRun(id: string): Promise<Run | undefined> {
    const row = await this.db<RunRow>('kubechart_runs').where({ id }).first();
    return row ? toRun(row) : undefined;
  }

  async listRuns(filter: RunFilter, page: { cursor?: string; limit: number }): Promise<RunsPage> {
    const q = this.db<RunRow>('kubechart_runs');
    if (filter.entityRef) q.where('entity_ref', filter.entityRef);
    if (filter.kind) q.where('kind', filter.kind);
    if (filter.status) q.where('status', filter.status);
    if (filter.actor) q.where('actor', filter.actor);
    if (filter.tenant) q.where('tenant', filter.tenant);
    if (filter.cluster) q.where('cluster', filter.cluster);
    if (filter.from) q.where('created_at', '>=', filter.from.getTime());
    if (filter.to) q.where('created_at', '<', filter.to.getTime());
    if (page.cursor) {
      const [c, i] = decodeCursor(page.cursor);
      q.where(b => b.where('created_at', '<', c).orWhere(b2 => b2.where('created_at', c).andWhere('id', '<', i)));
    }
    const rows = await q
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(page.limit + 1);
    const items = rows.slice(0, page.limit);
    return {
      items: items.map(toRun),
      ...(rows.length > page.limit ? { nextCursor: encodeCursor(items[items.length - 1]) } : {}),
    };
  }

  private async patchRow(tx: Knex, id: string, patch: RunPatch, extra: Partial<RunRow> = {}, onlyIfActive = false): Promise<boolean> {
    const query = tx<RunRow>('kubechart_runs').where({ id });
    // Row lock on PostgreSQL so two replicas finishing the same run serialise; SQLite serialises writers anyway.
    if (this.isPostgres) query.forUpdate();
    const current = await query.first();
    if (!current) throw new NotFoundError(`Run ${id} not found`);
    if (onlyIfActive && (current.status === 'succeeded' || current.status === 'failed')) return false;
    const now = Date.now();
    const update: Partial<RunRow> = { heartbeat_at: now, ...extra };
    if (patch.status && patch.status !== current.status) {
      const transitions: RunTransition[] = JSON.parse(current.transitions);
      transitions.push({ status: patch.status, at: new Date(now).toISOString() });
      update.transitions = JSON.stringify(transitions);
      update.status = patch.status;
      if (patch.status === 'running' && current.started_at === null) update.started_at = now;
      if (patch.status === 'succeeded' || patch.status === 'failed') {
        update.finished_at = now;
        if (current.started_at === null) update.started_at = Number(current.created_at);
      }
    }
    if (patch.values !== undefined) update.values = JSON.stringify(patch.values);
    if (patch.manifest !== undefined) update.manifest = patch.manifest;
    if (patch.helmRevision !== undefined) update.helm_revision = patch.helmRevision;
    if (patch.policyReport !== undefined) update.policy_report = JSON.stringify(patch.policyReport);
    if (patch.failureReason !== undefined) update.failure_reason = patch.failureReason;
    await tx('kubechart_runs').where({ id }).update(update);
    return true;
  }

  async updateRun(id: string, patch: RunPatch, owner?: string): Promise<void> {
    await this.db.transaction(tx => this.patchRow(tx, id, patch, owner ? { owner } : {}));
  }

  async finishRun(id: string, status: 'succeeded' | 'failed', patch: RunPatch = {}, options: { onlyIfActive?: boolean } = {}): Promise<boolean> {
    return this.db.transaction(async tx => {
      const changed = await this.patchRow(tx, id, { ...patch, status }, {}, options.onlyIfActive);
      if (changed) await tx('kubechart_locks').where({ run_id: id }).delete();
      return changed;
    });
  }

  async heartbeat(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db('kubechart_runs').whereIn('id', ids).update({ heartbeat_at: Date.now() });
  }

  async findStaleRuns(before: Date): Promise<Run[]> {
    const rows = await this.db<RunRow>('kubechart_runs')
      .whereIn('status', ['pending', 'running'])
      .andWhere(b => b.where('heartbeat_at', '<', before.getTime()).orWhereNull('heartbeat_at'));
    return rows.map(toRun);
  }

  async appendEvents(runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
    if (events.length === 0) return [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction(async tx => {
          const max = await tx('kubechart_run_events').where({ run_id: runId }).max<{ m: number | null }[]>('seq as m');
          let seq = Number(max[0]?.m ?? 0);
          const rows: EventRow[] = events.map(e => ({
            run_id: runId,
            seq: ++seq,
            at: e.at ? Date.parse(e.at) : Date.now(),
            type: e.type,
            level: e.level,
            step: e.step ?? null,
            step_status: e.stepStatus ?? null,
            message: e.message,
          }));
          // Insert in chunks; SQLite limits bound variables per statement.
          for (let i = 0; i < rows.length; i += 100) {
            await tx('kubechart_run_events').insert(rows.slice(i, i + 100));
          }
          return rows.map(toEvent);
        });
      } catch (e) {
        // Two writers raced for the same seq: retry with a fresh max.
        if (!isDatabaseConflictError(e) || attempt >= 5) throw e;
      }
    }
  }

  async getEvents(runId: string, options: { after?: number; limit?: number } = {}): Promise<RunEvent[]> {
    const rows = await this.db<EventRow>('kubechart_run_events')
      .where({ run_id: runId })
      .andWhere('seq', '>', options.after ?? 0)
      .orderBy('seq', 'asc')
      .limit(options.limit ?? 5000);
    return rows.map(toEvent);
  }

  async countRunsByActorSince(actor: string, since: Date): Promise<number> {
    const r = await this.db('kubechart_runs')
      .where({ actor })
      .andWhere('created_at', '>=', since.getTime())
      .count<{ n: number | string }[]>('id as n');
    return Number(r[0]?.n ?? 0);
  }

  async upsertTenant(t: Omit<TenantRecord, 'createdAt' | 'updatedAt'>): Promise<void> {
    const now = Date.now();
    await this.db('kubechart_tenants')
      .insert({
        cluster: t.cluster,
        code: t.code,
        namespace: t.namespace,
        entity_ref: t.entityRef ?? null,
        owner: t.owner ?? null,
        display_name: t.displayName ?? null,
        status: t.status,
        last_run_id: t.lastRunId ?? null,
        releases: JSON.stringify(t.releases),
        created_at: now,
        updated_at: now,
      })
      .onConflict(['cluster', 'code'])
      .merge(['namespace', 'entity_ref', 'owner', 'display_name', 'status', 'last_run_id', 'releases', 'updated_at']);
  }

  async getTenants(code?: string): Promise<TenantRecord[]> {
    const q = this.db('kubechart_tenants').orderBy([{ column: 'code' }, { column: 'cluster' }]);
    if (code) q.where({ code });
    const rows = await q;
    return rows.map((r: any) => ({
      cluster: r.cluster,
      code: r.code,
      namespace: r.namespace,
      entityRef: r.entity_ref ?? undefined,
      owner: r.owner ?? undefined,
      displayName: r.display_name ?? undefined,
      status: r.status,
      lastRunId: r.last_run_id ?? undefined,
      releases: JSON.parse(r.releases),
      createdAt: iso(r.created_at)!,
      updatedAt: iso(r.updated_at)!,
    }));
  }

  async countActiveTenants(): Promise<number> {
    const r = await this.db('kubechart_tenants')
      .whereNot({ status: 'deleted' })
      .count<{ n: number | string }[]>('code as n');
    return Number(r[0]?.n ?? 0);
  }

  async summary() {
    const group = async (table: string, column: string) => {
      const rows = await this.db(table).select(column).count<any[]>('* as n').groupBy(column);
      return Object.fromEntries(rows.map(r => [r[column], Number(r.n)]));
    };
    const durations = await this.db<RunRow>('kubechart_runs')
      .where({ kind: 'tenant', status: 'succeeded' })
      .whereNotNull('started_at')
      .whereNotNull('finished_at')
      .orderBy('finished_at', 'desc')
      .limit(1000)
      .select('started_at', 'finished_at');
    const failures = await this.db<RunRow>('kubechart_runs')
      .where({ status: 'failed' })
      .orderBy('created_at', 'desc')
      .limit(10);
    return {
      runsByStatus: await group('kubechart_runs', 'status'),
      runsByKind: await group('kubechart_runs', 'kind'),
      tenantsByStatus: await group('kubechart_tenants', 'status'),
      tenantRunDurations: durations.map(d => Number(d.finished_at) - Number(d.started_at)),
      recentFailures: failures.map(toRun),
    };
  }
}
