import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { AuditEventQueue } from '@kubechart/plugin-audit-log-node';
import {
  appendFile,
  writeFile,
  mkdtemp,
  readFile,
  stat,
} from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import { verifyAgainstWitness } from './anchors';
import {
  AuditLossRecord,
  createAuditWitness,
  readWitnessFile,
  WITNESS_TAIL_BYTES,
} from './checkpointWitness';
import { appendRecordedLosses, recordQueueLosses } from './shutdownLosses';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

function loss(id: string, at: string, dropped = 1): AuditLossRecord {
  return {
    type: 'audit-log-gap',
    id,
    dropped,
    firstOccurredAt: at,
    lastOccurredAt: at,
    reasons: { 'database unavailable while the backend stopped': dropped },
    at,
  };
}

function event(occurredAt: string): AuditEventInput {
  return {
    occurredAt,
    plugin: 'test',
    eventId: 'tick',
    severity: 'low',
    status: 'succeeded',
    target: {},
  };
}

const ID_1 = '11111111-1111-4111-8111-111111111111';
const ID_2 = '22222222-2222-4222-8222-222222222222';

/** A loss record's id for `n`. */
function lossId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

async function tempFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'audit-loss-')), 'w.jsonl');
}

/**
 * A backend of its own process, its witness file `file`, whose database does not take writes:
 * its queue holds `count` events it could not write when it is killed with SIGKILL (no shutdown
 * hook, no exit hook runs).
 */
async function killedWhileHolding(file: string, count: number) {
  const script = `
    const { AuditEventQueue } = require(${JSON.stringify(
      require.resolve('@kubechart/plugin-audit-log-node'),
    )});
    const { createAuditWitness } = require(${JSON.stringify(
      require.resolve('./checkpointWitness'),
    )});
    const { recordQueueLosses } = require(${JSON.stringify(
      require.resolve('./shutdownLosses'),
    )});
    const logger = { error() {}, warn() {}, info() {}, debug() {}, child() { return logger; } };
    const file = ${JSON.stringify(file)};
    const config = { getOptionalString: key => key === 'auditLog.retention.checkpoint.file' ? file : undefined };
    const witness = createAuditWitness({ config, logger });
    const queue = new AuditEventQueue({ logger });
    recordQueueLosses(queue, witness);
    queue.attachSink(async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    });
    (async () => {
      for (let i = 0; i < ${count}; i++) {
        await queue.enqueue({ occurredAt: new Date().toISOString(), plugin: 'test', eventId: 'tick', severity: 'low', status: 'succeeded', target: {} });
      }
      const failed = () => queue.stats().failedWrites > 0 ? process.stdout.write('failed\\n') : setTimeout(failed, 5);
      failed();
      setInterval(() => {}, 1000);
    })();
  `;
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('sucrase/register'), '-e', script],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<NodeJS.Signals | null>(resolve =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      if (data.toString().includes('failed')) resolve();
    });
    child.once('exit', code =>
      reject(new Error(`the backend exited (${code}) before it was killed`)),
    );
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

/** Longer than the queue waits before it writes the loss record of events enqueued after it closed. */
const LATE_LOSS_WAIT_MS = 1500;

describe.each(databases.eachSupportedId())(
  'gap records of losses recorded at shutdown (%p)',
  databaseId => {
    it('appends each loss of the witness file once, also from replicas starting together', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const logger = mockServices.logger.mock();
      const witness = {
        read: async () => ({
          checkpoints: [],
          losses: [loss(ID_1, new Date().toISOString(), 3)],
        }),
      };
      const replicas = [
        new DatabaseAuditStore(knex),
        new DatabaseAuditStore(knex),
      ];
      await Promise.all(
        replicas.map(store => appendRecordedLosses({ store, witness, logger })),
      );
      await appendRecordedLosses({ store: replicas[0], witness, logger });

      const result = await replicas[0].verify();
      expect(result).toMatchObject({ ok: true, gapCount: 1, droppedEvents: 3 });
      expect(result.gaps?.[0].message).toMatch(
        /^3 events dropped between .* because database unavailable while the backend stopped \(3\)$/,
      );
      const [row] = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(JSON.parse(row.meta).lossId).toBe(ID_1);
    });

    it('accounts at the next start for all of 400 events audited after the queue closed, and verify still checks the anchor', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      await store.append([event(new Date().toISOString())]);
      const logger = mockServices.logger.mock();
      const file = await tempFile();
      const config = mockServices.rootConfig({
        data: { auditLog: { retention: { checkpoint: { file } } } },
      });
      const witness = createAuditWitness({ config, logger });
      await witness.anchor(await store.head());

      // the backend stops; requests still running audit their outcome after the queue closed
      const queue = new AuditEventQueue({ logger });
      queue.recordLossesWith(gap => witness.loss(gap));
      await queue.close();
      for (let i = 0; i < 400; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      await new Promise(resolve => setTimeout(resolve, LATE_LOSS_WAIT_MS));

      // the next start
      await appendRecordedLosses({ store, witness, logger });
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: true,
        gapCount: 1,
        droppedEvents: 400,
        anchor: { seq: 1 },
      });
    });

    it('accounts at the next start for events dropped while the database was down when the backend was killed', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const logger = mockServices.logger.mock();
      const file = await tempFile();
      const config = (path: string) =>
        mockServices.rootConfig({
          data: { auditLog: { retention: { checkpoint: { file: path } } } },
        });
      const witness = createAuditWitness({ config: config(file), logger });
      const queue = new AuditEventQueue({
        logger,
        maxSize: 2,
        maxEnqueueWaitMs: 10,
      });
      queue.recordLossesWith((gap, context) => witness.loss(gap, context));
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      for (let i = 0; i < 5; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      expect(queue.stats()).toMatchObject({ dropped: 3 });
      await new Promise(resolve => setTimeout(resolve, 1200));
      // killed now (SIGKILL, out of memory): no shutdown hook, no exit hook runs; the witness
      // file is what it left
      const left = await tempFile();
      await writeFile(left, await readFile(file));
      await queue.close(); // (its database still down: nothing more reaches the chain)

      // the next start of the killed backend appends their gap record, once
      const next = new DatabaseAuditStore(knex);
      const afterKill = createAuditWitness({ config: config(left), logger });
      await appendRecordedLosses({ store: next, witness: afterKill, logger });
      await appendRecordedLosses({ store: next, witness: afterKill, logger });
      const result = await next.verify();
      expect(result).toMatchObject({ ok: true, gapCount: 1, droppedEvents: 3 });
      expect(result.gaps?.[0].message).toMatch(
        /^At least 3 events dropped between .* because queue full \(3\); by severity: low 3$/,
      );
    });

    it('accounts at the next start for events the queue held while the database was down when the backend was killed (SIGKILL)', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      await store.append([event(new Date().toISOString())]);
      const file = await tempFile();
      await killedWhileHolding(file, 3);

      // the next start, on the same database and witness file: the three are a gap, once
      const logger = mockServices.logger.mock();
      const witness = createAuditWitness({
        config: mockServices.rootConfig({
          data: { auditLog: { retention: { checkpoint: { file } } } },
        }),
        logger,
      });
      const next = new DatabaseAuditStore(knex);
      await appendRecordedLosses({ store: next, witness, logger });
      await appendRecordedLosses({ store: next, witness, logger });
      const result = await next.verify();
      expect(result).toMatchObject({ ok: true, gapCount: 1, droppedEvents: 3 });
      expect(result.gaps?.[0].message).toMatch(
        /^3 events dropped between .* because waited in memory for the database when the backend stopped, not known to be stored \(3\); by severity: low 3$/,
      );
    }, 60_000);

    it('appends no gap at the next start for held events the running backend stored once the database was back', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const logger = mockServices.logger.mock();
      const file = await tempFile();
      const witness = createAuditWitness({
        config: mockServices.rootConfig({
          data: { auditLog: { retention: { checkpoint: { file } } } },
        }),
        logger,
      });
      const queue = new AuditEventQueue({ logger });
      recordQueueLosses(queue, witness);
      let down = true;
      queue.attachSink(async batch => {
        if (down) throw new Error('connection refused');
        await store.append(batch);
      });
      for (let i = 0; i < 3; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      while (queue.stats().failedWrites === 0) {
        await new Promise(resolve => setTimeout(resolve, 5));
      }
      expect((await witness.read())?.losses).toEqual([
        expect.objectContaining({ dropped: 3 }),
      ]);
      // the database is back: the queue writes them, and says so in the file
      down = false;
      await queue.drain();
      await queue.close();

      await appendRecordedLosses({ store, witness, logger });
      const result = await store.verify();
      expect(result).toMatchObject({ ok: true, checked: 3 });
      expect(result.droppedEvents ?? 0).toBe(0);
    });

    it('does not append at the next start the drops whose gap record the running backend stored', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const logger = mockServices.logger.mock();
      const file = await tempFile();
      const config = mockServices.rootConfig({
        data: { auditLog: { retention: { checkpoint: { file } } } },
      });
      const witness = createAuditWitness({ config, logger });
      const queue = new AuditEventQueue({
        logger,
        maxSize: 2,
        maxEnqueueWaitMs: 10,
      });
      queue.recordLossesWith((gap, context) => witness.loss(gap, context));
      let down = true;
      queue.attachSink(async batch => {
        if (down) throw new Error('connection refused');
        await store.append(batch);
      });
      for (let i = 0; i < 5; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      await new Promise(resolve => setTimeout(resolve, 1200));
      // the database is back: the queue stores the gap record itself
      down = false;
      await queue.drain();
      await queue.close();
      await appendRecordedLosses({ store, witness, logger });
      const result = await store.verify();
      expect(result).toMatchObject({ ok: true, gapCount: 1, droppedEvents: 3 });
      expect(result.gaps?.[0].message).toMatch(
        /^3 events dropped between .* because queue full \(3\); by severity: low 3$/,
      );
    });

    it.each([
      ['no more', 0],
      ['more', 2],
    ])(
      'counts a loss once when another replica appended its gap record from the witness file first (%s drops after)',
      async (_, more) => {
        const knex = await databases.init(databaseId);
        await DatabaseAuditStore.runMigrations(knex);
        const store = new DatabaseAuditStore(knex);
        const logger = mockServices.logger.mock();
        const file = await tempFile();
        const config = mockServices.rootConfig({
          data: { auditLog: { retention: { checkpoint: { file } } } },
        });
        // replica A, its database down: 3 events dropped, recorded in the shared witness file
        const witness = createAuditWitness({ config, logger });
        const queue = new AuditEventQueue({
          logger,
          maxSize: 2,
          maxEnqueueWaitMs: 10,
        });
        queue.recordLossesWith((gap, context) => witness.loss(gap, context));
        let down = true;
        queue.attachSink(async batch => {
          if (down) throw new Error('connection refused');
          await store.append(batch);
        });
        for (let i = 0; i < 5; i++) {
          await queue.enqueue(event(new Date().toISOString()));
        }
        await new Promise(resolve => setTimeout(resolve, 1200));
        const [recorded] = (await witness.read())!.losses!.slice(-1);
        expect(recorded).toMatchObject({ dropped: 3, incomplete: true });

        // replica B starts meanwhile and appends the gap record of that loss record
        await appendRecordedLosses({
          store: new DatabaseAuditStore(knex),
          witness: createAuditWitness({ config, logger }),
          logger,
        });
        for (let i = 0; i < more; i++) {
          await queue.enqueue(event(new Date().toISOString()));
        }
        // A's database is back: A writes the gap record of the same loss
        down = false;
        await queue.drain();
        await queue.close();

        const result = await store.verify();
        expect(result).toMatchObject({
          ok: true,
          droppedEvents: 3 + more,
        });
        const gaps = await knex('audit_log_events')
          .where({ event_id: AUDIT_GAP_EVENT_ID })
          .orderBy('seq');
        expect(gaps.map(row => JSON.parse(row.meta).lossId)).toEqual(
          more ? [recorded.id, recorded.id] : [recorded.id],
        );
        const messages = [
          /^At least 3 events dropped between .* because queue full \(3\); by severity: low 3$/,
          // only what B's record does not count: the drops after the loss record it read
          /^2 events dropped between .* because queue full \(2\); by severity: low 2$/,
        ].slice(0, more ? 2 : 1);
        expect(gaps.map(row => row.error)).toEqual(
          messages.map(message => expect.stringMatching(message)),
        );
      },
    );

    /**
     * Replica A: its queue (full at 2) dropped one event, recorded at once in the witness file,
     * and writes its gap record; the database takes its time, and four more events are dropped
     * meanwhile, recorded under the same id with the first (5) a second later. `release` lets
     * the write go on.
     */
    async function dropsDuringAGapWrite() {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const logger = mockServices.logger.mock();
      const file = await tempFile();
      const config = (path: string) =>
        mockServices.rootConfig({
          data: { auditLog: { retention: { checkpoint: { file: path } } } },
        });
      const witness = createAuditWitness({ config: config(file), logger });
      const queue = new AuditEventQueue({
        logger,
        maxSize: 2,
        maxEnqueueWaitMs: 10,
      });
      queue.recordLossesWith((gap, context) => witness.loss(gap, context));
      for (let i = 0; i < 3; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      let release!: () => void;
      const released = new Promise<void>(resolve => {
        release = resolve;
      });
      let down = false;
      let writing = false;
      queue.attachSink(async batch => {
        if (down) throw new Error('connection refused');
        writing = true;
        await released;
        await store.append(batch);
      });
      while (!writing) await new Promise(resolve => setTimeout(resolve, 5));
      for (let i = 0; i < 4; i++) {
        await queue.enqueue(event(new Date().toISOString()));
      }
      expect(queue.stats()).toMatchObject({ dropped: 5 });
      await new Promise(resolve => setTimeout(resolve, 1200));
      const records = (await witness.read())!.losses!;
      expect(records.map(r => [r.id, r.dropped])).toEqual([
        [records[0].id, 1],
        [records[0].id, 5],
      ]);
      return {
        knex,
        store,
        logger,
        file,
        config,
        witness,
        queue,
        release,
        setDown: () => {
          down = true;
        },
      };
    }

    it('accounts at the next start for the drops made while a gap record was written, when the backend is killed after the write', async () => {
      const { knex, logger, file, config, queue, release, setDown } =
        await dropsDuringAGapWrite();
      release();
      while (queue.stats().written < 2) {
        await new Promise(resolve => setTimeout(resolve, 5));
      }
      // the gap record of the first drop is stored; the four later ones are not
      expect(queue.stats()).toMatchObject({ unrecordedDrops: 4 });
      // killed now: the witness file is what it left
      const left = await tempFile();
      await writeFile(left, await readFile(file));
      setDown();
      await queue.close();

      const next = new DatabaseAuditStore(knex);
      const afterKill = createAuditWitness({ config: config(left), logger });
      await appendRecordedLosses({ store: next, witness: afterKill, logger });
      await appendRecordedLosses({ store: next, witness: afterKill, logger });
      await expect(next.verify()).resolves.toMatchObject({
        ok: true,
        droppedEvents: 5,
      });
    });

    it('counts once the drops made while a gap record was written, when the backend goes on and starts again', async () => {
      const { store, logger, witness, queue, release } =
        await dropsDuringAGapWrite();
      release();
      await queue.drain();
      expect(queue.stats()).toMatchObject({ unrecordedDrops: 0 });
      await queue.close();
      await appendRecordedLosses({ store, witness, logger });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        droppedEvents: 5,
      });
    });

    it('counts once the drops of a loss whose gap record another replica appended from the witness file while the gap record was written', async () => {
      const { knex, store, logger, file, config, queue, release } =
        await dropsDuringAGapWrite();
      // replica B starts now and appends the gap record of the loss record (5)
      await appendRecordedLosses({
        store: new DatabaseAuditStore(knex),
        witness: createAuditWitness({ config: config(file), logger }),
        logger,
      });
      release();
      await queue.drain();
      await queue.close();
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        droppedEvents: 5,
      });
    });

    it('appends one gap record, with the last counts, for a loss recorded several times', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const at = new Date().toISOString();
      await appendRecordedLosses({
        store,
        witness: {
          read: async () => ({
            checkpoints: [],
            losses: [loss(ID_1, at, 1), loss(ID_2, at, 2), loss(ID_1, at, 4)],
          }),
        },
        logger: mockServices.logger.mock(),
      });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        gapCount: 2,
        droppedEvents: 6,
      });
    });

    it('appends the gap records of many losses at once', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const at = new Date().toISOString();
      const losses = Array.from({ length: 1200 }, (_, i) => ({
        ...loss(lossId(i), at),
      }));
      const logger = mockServices.logger.mock();
      const witness = { read: async () => ({ checkpoints: [], losses }) };
      await appendRecordedLosses({ store, witness, logger });
      await appendRecordedLosses({ store, witness, logger });
      expect(logger.error).not.toHaveBeenCalled();
      const gaps = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(new Set(gaps.map(row => JSON.parse(row.meta).lossId)).size).toBe(
        1200,
      );
      expect(gaps).toHaveLength(1200);
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
    });

    it('does not append a gap record at every start for an oversized loss line', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      const file = await tempFile();
      const good = loss(ID_1, new Date().toISOString(), 2);
      // strings just past what an event's meta keeps: cut with a note each, the meta of its gap
      // record outgrows its limit, although the line fits in the part of the file read
      const huge = {
        ...loss(ID_2, new Date().toISOString(), 5),
        firstOccurredAt: '\u0001'.repeat(8193),
        lastOccurredAt: '\u0001'.repeat(1784),
        reasons: Object.fromEntries(
          Array.from({ length: 20 }, (_, i) => [
            `${String(i).padStart(2, '0')}${'r'.repeat(255)}`,
            1,
          ]),
        ),
      };
      await writeFile(
        file,
        `${JSON.stringify(good)}\n${JSON.stringify(huge)}\n`,
      );
      expect((await stat(file)).size).toBeLessThan(WITNESS_TAIL_BYTES);
      const logger = mockServices.logger.mock();
      const config = mockServices.rootConfig({
        data: { auditLog: { retention: { checkpoint: { file } } } },
      });
      const witness = createAuditWitness({ config, logger });
      for (let start = 0; start < 3; start++) {
        await appendRecordedLosses({ store, witness, logger });
      }
      const gaps = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(gaps.map(row => JSON.parse(row.meta).lossId)).toEqual([ID_1]);
    });

    it('does not append again a loss whose gap record retention pruned', async () => {
      const knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
      const store = new DatabaseAuditStore(knex);
      await store.append([
        event('2020-01-01T00:00:00.000Z'),
        event('2020-06-01T00:00:00.000Z'),
      ]);
      await store.prune({ before: new Date('2020-03-01T00:00:00.000Z') });
      await appendRecordedLosses({
        store,
        witness: {
          read: async () => ({
            checkpoints: [],
            losses: [
              loss(ID_1, '2020-02-01T00:00:00.000Z'),
              loss(ID_2, '2020-07-01T00:00:00.000Z'),
            ],
          }),
        },
        logger: mockServices.logger.mock(),
      });
      const gaps = await knex('audit_log_events').where({
        event_id: AUDIT_GAP_EVENT_ID,
      });
      expect(gaps.map(row => JSON.parse(row.meta).lossId)).toEqual([ID_2]);
    });
  },
);

describe('loss records in the witness file', () => {
  it('reads well-formed ones and ignores the rest', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'audit-loss-')), 'w.jsonl');
    const good = loss(ID_1, '2026-01-01T00:00:00.000Z', 2);
    await writeFile(
      file,
      [
        JSON.stringify(good),
        JSON.stringify({ ...good, id: 'not-a-uuid' }),
        JSON.stringify({ ...good, dropped: -1 }),
        JSON.stringify({ ...good, reasons: { x: 'many' } }),
        JSON.stringify({ ...good, firstOccurredAt: 'yesterday' }),
        JSON.stringify({ ...good, lastOccurredAt: '2026-13-45T00:00:00.000Z' }),
        JSON.stringify({ ...good, at: 12 }),
        JSON.stringify({ ...good, reasons: { ['r'.repeat(201)]: 2 } }),
        JSON.stringify({ ...good, reasons: { 'line\nbreak': 2 } }),
        JSON.stringify({ ...good, reasons: {} }),
        JSON.stringify({ ...good, reasons: { x: 0 } }),
        '{"type":"audit-log-gap"',
      ].join('\n'),
    );
    await expect(readWitnessFile(file)).resolves.toEqual({
      checkpoints: [],
      losses: [good],
    });
  });

  it('keeps the counts per event of the longest event keys the queue writes', async () => {
    const file = await tempFile();
    // plugin, event id and severity cut to 80 characters each, as the queue names them
    const longest = `${'p'.repeat(80)}.${'e'.repeat(80)} (${'s'.repeat(80)})`;
    expect(longest).toHaveLength(244);
    const good = {
      ...loss(ID_1, '2026-01-01T00:00:00.000Z', 3),
      byEvent: { [longest]: 2, 'test.tick (low)': 1 },
    };
    await writeFile(file, `${JSON.stringify(good)}\n`);
    await expect(readWitnessFile(file)).resolves.toEqual({
      checkpoints: [],
      losses: [good],
    });
  });

  it('finds the newest anchor and every loss however many loss lines follow the anchor', async () => {
    const file = await tempFile();
    const anchor = {
      type: 'audit-log-anchor',
      seq: 7,
      hash: 'a'.repeat(64),
      at: '2026-01-01T00:00:00.000Z',
    };
    await writeFile(file, `${JSON.stringify(anchor)}\n`);
    // one line per late event, as a stopping backend wrote them
    const at = '2026-01-01T00:01:00.000Z';
    const lines = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify(loss(lossId(i), at)),
    );
    await appendFile(file, `${lines.join('\n')}\n`);
    expect((await stat(file)).size).toBeGreaterThan(WITNESS_TAIL_BYTES);

    const records = await readWitnessFile(file);
    expect(records.anchor).toEqual(anchor);
    expect(records.losses).toHaveLength(400);
    expect(records.losses!.reduce((sum, l) => sum + l.dropped, 0)).toBe(400);
  });
});

describe('the log line of events waiting for the database', () => {
  const held = {
    dropped: 2,
    firstOccurredAt: '2026-01-01T00:00:00.000Z',
    lastOccurredAt: '2026-01-01T00:00:01.000Z',
    reasons: { 'waited in memory for the database': 2 },
  };
  const witnessWith = async (file: string) => {
    const logger = mockServices.logger.mock();
    const witness = createAuditWitness({
      config: mockServices.rootConfig({
        data: { auditLog: { retention: { checkpoint: { file } } } },
      }),
      logger,
    });
    return { logger, witness };
  };

  it('says they are kept in the witness file once they are', async () => {
    const file = await tempFile();
    const { logger, witness } = await witnessWith(file);
    witness.held(held, { id: lossId(1), resolved: false });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(`kept in ${file} until they are stored`),
      expect.anything(),
    );
    expect((await readWitnessFile(file)).losses).toHaveLength(1);
  });

  it('says the witness file could not take them, not that they are kept in it', async () => {
    const file = join(await tempFile(), 'missing-dir', 'w.jsonl');
    const { logger, witness } = await witnessWith(file);
    witness.held(held, { id: lossId(1), resolved: false });
    expect(logger.warn).not.toHaveBeenCalledWith(
      expect.stringContaining('kept in'),
      expect.anything(),
    );
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(
        `Could not write the audit loss record to ${file}`,
      ),
    );
  });
});
