import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import { createServer, Server } from 'node:http';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import {
  CheckpointWitness,
  createCheckpointWitness,
} from './checkpointWitness';
import {
  checkPruneCutoff,
  pruneAudited,
  readRetentionSettings,
} from './retention';

jest.setTimeout(60_000);

const DAY = 24 * 3600 * 1000;
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

function event(daysAgo: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
    plugin: 'kubechart',
    eventId: 'run-create',
    severity: 'high',
    status: 'succeeded',
    target: {},
  };
}

describe('retention settings', () => {
  it('defaults the minimum to 90 days and refuses a shorter retention', () => {
    expect(readRetentionSettings(mockServices.rootConfig())).toEqual({
      days: undefined,
      minimumDays: 90,
    });
    expect(() =>
      readRetentionSettings(
        mockServices.rootConfig({
          data: { auditLog: { retention: { days: 30 } } },
        }),
      ),
    ).toThrow(/auditLog.retention.days \(30\) is below the minimum retention/);
    expect(
      readRetentionSettings(
        mockServices.rootConfig({
          data: { auditLog: { retention: { days: 30, minimumDays: 7 } } },
        }),
      ),
    ).toEqual({ days: 30, minimumDays: 7 });
  });

  it('refuses cut-offs in the future or inside the minimum', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(() =>
      checkPruneCutoff(new Date('2026-06-02T00:00:00Z'), 90, now),
    ).toThrow(/is in the future/);
    expect(() =>
      checkPruneCutoff(new Date('2026-05-01T00:00:00Z'), 90, now),
    ).toThrow(
      'Cannot prune: before (2026-05-01T00:00:00.000Z) is inside the minimum retention of 90 days (auditLog.retention.minimumDays); the latest allowed cut-off is 2026-03-03T00:00:00.000Z',
    );
    expect(() =>
      checkPruneCutoff(new Date('2026-03-01T00:00:00Z'), 90, now),
    ).not.toThrow();
  });

  it('refuses a cut-off that is no time at all', () => {
    expect(() => checkPruneCutoff(new Date(NaN), 90)).toThrow(
      'Cannot prune: before is not a valid time',
    );
  });
});

describe('pruneAudited', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('emits the checkpoint to the log, a file and a webhook, then records the prune in the chain', async () => {
    const received: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        received.push(`${req.headers.authorization} ${body}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>(r => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'audit-checkpoint-'));
    const file = join(dir, 'checkpoints.jsonl');
    const logger = mockServices.logger.mock();
    const witness = createCheckpointWitness({
      logger,
      config: mockServices.rootConfig({
        data: {
          auditLog: {
            retention: {
              checkpoint: {
                file,
                webhook: { url: `http://127.0.0.1:${port}/hook`, token: 't0k' },
              },
            },
          },
        },
      }),
    });
    const knex = await databases.init('SQLITE_3');
    await DatabaseAuditStore.runMigrations(knex);
    const store = new DatabaseAuditStore(knex);
    await store.append([event(200), event(150), event(10)]);
    const cutAt = await store.get(2);

    const auditor = mockServices.auditor.mock();
    const success = jest.fn();
    auditor.createEvent.mockResolvedValue({ success, fail: jest.fn() });
    const result = await pruneAudited({
      store,
      auditor,
      witness,
      before: new Date(Date.now() - 90 * DAY),
      reason: 'scheduled retention',
      onlyIfAny: true,
    });
    expect(result.deleted).toBe(2);

    const expected = {
      type: 'audit-log-checkpoint',
      fromSeq: 1,
      throughSeq: 2,
      hash: cutAt!.hash,
      reason: 'scheduled retention',
    };
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map(l => JSON.parse(l))).toEqual([
      expect.objectContaining(expected),
    ]);
    expect(received).toHaveLength(1);
    expect(received[0].startsWith('Bearer t0k {')).toBe(true);
    expect(JSON.parse(received[0].slice('Bearer t0k '.length))).toMatchObject(
      expected,
    );
    expect(logger.warn).toHaveBeenCalledWith(
      `Audit log checkpoint: pruning events 1-2; the chain continues from hash ${
        cutAt!.hash
      }`,
      expect.anything(),
    );
    expect(auditor.createEvent).toHaveBeenCalledWith(
      expect.objectContaining({
        eventId: 'events-prune',
        severityLevel: 'high',
      }),
    );
    expect(success).toHaveBeenCalledWith({
      meta: { deleted: 2, throughSeq: 2, checkpointHash: cutAt!.hash },
    });
  });

  it('prunes nothing when the webhook refuses the checkpoint, and records the failure', async () => {
    server = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>(r => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const witness = createCheckpointWitness({
      logger: mockServices.logger.mock(),
      config: mockServices.rootConfig({
        data: {
          auditLog: {
            retention: {
              checkpoint: { webhook: { url: `http://127.0.0.1:${port}/` } },
            },
          },
        },
      }),
    });
    const knex = await databases.init('SQLITE_3');
    await DatabaseAuditStore.runMigrations(knex);
    const store = new DatabaseAuditStore(knex);
    await store.append([event(200), event(10)]);
    const auditor = mockServices.auditor.mock();
    const fail = jest.fn();
    auditor.createEvent.mockResolvedValue({ success: jest.fn(), fail });
    await expect(
      pruneAudited({
        store,
        auditor,
        witness,
        before: new Date(Date.now() - 90 * DAY),
        reason: 'on request',
      }),
    ).rejects.toThrow('Not pruning: the checkpoint webhook answered 500');
    expect(fail).toHaveBeenCalled();
    await expect(store.get(1)).resolves.toBeDefined();
  });
});

describe('pruneAudited when deleting fails after the checkpoint moved', () => {
  const both = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

  /** The database refuses to delete event 1, after the checkpoint moved past it. */
  async function refuseDeletingFirst(knex: Knex) {
    if (knex.client.config.client === 'pg') {
      await knex.raw(
        `CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'deleting refused'; END $$`,
      );
      await knex.raw(
        `CREATE TRIGGER refuse_delete BEFORE DELETE ON audit_log_events
         FOR EACH ROW WHEN (OLD.seq = 1) EXECUTE FUNCTION refuse_delete()`,
      );
    } else {
      await knex.raw(
        `CREATE TRIGGER refuse_delete BEFORE DELETE ON audit_log_events
         WHEN OLD.seq = 1 BEGIN SELECT RAISE(ABORT, 'deleting refused'); END`,
      );
    }
  }

  it.each(both.eachSupportedId())(
    'records the cut in the failed events-prune, and the next run deletes what it left (%p)',
    async databaseId => {
      const knex = await both.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex, {
        copySearchTextAfterAppends: false,
      });
      await store.append([event(200), event(150), event(10)]);
      const cutAt = await store.get(2);
      await refuseDeletingFirst(knex);
      const auditor = mockServices.auditor.mock();
      const success = jest.fn();
      const fail = jest.fn();
      auditor.createEvent.mockResolvedValue({ success, fail });
      const witnessed: unknown[] = [];
      // Takes the cut as a witness would; the prune does not read what a witness answers.
      const witness: CheckpointWitness = async cut => {
        witnessed.push(cut);
        return {} as Awaited<ReturnType<CheckpointWitness>>;
      };
      const run = () =>
        pruneAudited({
          store,
          auditor,
          witness,
          before: new Date(Date.now() - 90 * DAY),
          reason: 'scheduled retention',
          onlyIfAny: true,
        });
      // (the driver's error may come from another realm than the test's: no toThrow)
      const failure = await run().then(
        () => 'resolved',
        error => String(error?.message),
      );
      expect(failure).toMatch(/refused/);
      expect(witnessed).toHaveLength(1);
      expect(fail).toHaveBeenCalledWith({
        error: expect.objectContaining({
          message: expect.stringMatching(/refused/),
        }),
        meta: {
          fromSeq: 1,
          throughSeq: 2,
          checkpointHash: cutAt!.hash,
        },
      });
      expect(success).not.toHaveBeenCalled();

      // the next run cuts nothing new: it deletes what was left below the checkpoint, and says so
      await knex.raw(
        knex.client.config.client === 'pg'
          ? 'DROP TRIGGER refuse_delete ON audit_log_events'
          : 'DROP TRIGGER refuse_delete',
      );
      auditor.createEvent.mockClear();
      await expect(run()).resolves.toMatchObject({ deleted: 2 });
      expect(witnessed).toHaveLength(1);
      expect(auditor.createEvent).toHaveBeenCalledWith(
        expect.objectContaining({
          eventId: 'events-prune',
          severityLevel: 'high',
        }),
      );
      expect(success).toHaveBeenCalledWith({
        meta: {
          deleted: 2,
          throughSeq: 2,
          checkpointHash: cutAt!.hash,
          belowCheckpoint: true,
        },
      });
      const rows = await knex('audit_log_events').select('seq');
      expect(rows.map(r => Number(r.seq))).toEqual([3]);
      // nothing left: a scheduled run records nothing
      auditor.createEvent.mockClear();
      await expect(run()).resolves.toMatchObject({ deleted: 0 });
      expect(auditor.createEvent).not.toHaveBeenCalled();
    },
  );
});
