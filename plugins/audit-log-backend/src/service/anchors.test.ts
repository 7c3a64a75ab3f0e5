import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { AuditEventQueue } from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import {
  appendFile,
  mkdtemp,
  readFile,
  rename,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashRow } from '../database/chain';
import { ChainKeyring } from '../database/chainKeys';
import { DatabaseAuditStore } from '../database/DatabaseAuditStore';
import {
  createAnchorMemory,
  createAnchorPublisher,
  readAnchorSettings,
  scheduleAnchors,
  verifyAgainstWitness,
} from './anchors';
import {
  createAuditWitness,
  readWitnessFile,
  WITNESS_MAX_READ_FACTOR,
  WITNESS_TAIL_BYTES,
} from './checkpointWitness';

jest.setTimeout(60_000);

const KEY = 'anchor-test-chain-key-0123456789-abcdefghijklmnop';

function event(n: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'chart-install',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev', namespace: `team-${n}` },
    meta: { n },
  };
}

function events(from: number, to: number): AuditEventInput[] {
  const out = [];
  for (let i = from; i <= to; i++) out.push(event(i));
  return out;
}

async function tempFile(name = 'witness.jsonl') {
  return join(await mkdtemp(join(tmpdir(), 'audit-anchor-')), name);
}

function witnessFor(file?: string, logger = mockServices.logger.mock()) {
  return createAuditWitness({
    logger,
    config: mockServices.rootConfig({
      data: file ? { auditLog: { retention: { checkpoint: { file } } } } : {},
    }),
  });
}

/**
 * What a database writer does to cut the tail: deletes the events after `seq` and moves the
 * chain head back to event `seq` (or to the empty chain for 0), so that what is left is a
 * valid chain that simply ends earlier.
 */
async function cutTail(knex: Knex, seq: number) {
  await knex('audit_log_events').where('seq', '>', seq).delete();
  const last =
    seq > 0
      ? await knex('audit_log_events').where({ seq }).first('hash')
      : { hash: '0'.repeat(64) };
  await knex('audit_log_chain_head')
    .where({ id: 1 })
    .update({ last_seq: seq, last_hash: last.hash });
}

/**
 * An unkeyed chain rewritten by a database writer from event `seq` on: a changed actor, every
 * later hash recomputed (sha256, version 2), the head moved to the new last hash.
 */
async function rewriteUnkeyedFrom(knex: Knex, seq: number) {
  const rows = await knex('audit_log_events')
    .where('seq', '>=', seq)
    .orderBy('seq');
  let prevHash: string = rows[0].prev_hash;
  for (const original of rows) {
    const row = {
      ...original,
      ...(Number(original.seq) === seq
        ? { actor: 'user:default/mallory' }
        : {}),
      prev_hash: prevHash,
    };
    row.hash = hashRow(prevHash, row, Number(row.chain_version))!;
    await knex('audit_log_events')
      .where({ seq: row.seq })
      .update({ ...row, content_digest: undefined });
    prevHash = row.hash;
  }
  await knex('audit_log_chain_head')
    .where({ id: 1 })
    .update({ last_hash: prevHash });
}

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'verify against head anchors (%p)',
  databaseId => {
    let knex: Knex;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
    });

    const keyed = (batch?: number) =>
      new DatabaseAuditStore(knex, {
        chainKeys: ChainKeyring.fromSecrets(KEY, []),
        verifyBatchSize: batch,
      });

    it('finds a tail cut back below the newest anchor, which the database alone cannot show', async () => {
      const store = keyed(4);
      await store.append(events(1, 15));
      const file = await tempFile();
      const witness = witnessFor(file);
      const anchor = await createAnchorPublisher({
        store,
        witness,
        logger: mockServices.logger.mock(),
      })();
      expect(anchor).toMatchObject({ type: 'audit-log-anchor', seq: 15 });

      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({
        ok: true,
        keyed: true,
        anchor: { seq: 15, at: anchor!.at },
      });

      await cutTail(knex, 10);
      // the chain in the database is a valid keyed chain that ends at 10
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        headSeq: 10,
      });
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        keyed: false,
        headSeq: 10,
        failedSeq: 11,
        anchor: { seq: 15, at: anchor!.at },
        anchorMismatch: { seq: 15, at: anchor!.at },
      });
      expect(result.reason).toBe(
        `The chain ends at 10 but an anchor published at ${
          anchor!.at
        } recorded event 15 with hash ${
          anchor!.hash
        }: events 11–15 were removed from the database (the tail was cut), or the database was restored from an older backup`,
      );
    });

    it('finds a chain emptied and its head reset (a restore of an empty database)', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 6));
      const file = await tempFile();
      const witness = witnessFor(file);
      await witness.anchor(await store.head());
      await cutTail(knex, 0);
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({
        ok: false,
        failedSeq: 1,
        headSeq: 0,
        reason: expect.stringMatching(/^The chain ends at 0 but an anchor/),
      });
    });

    it('finds an anchored event whose hash was rewritten (unkeyed chain re-hashed by a database writer)', async () => {
      const store = new DatabaseAuditStore(knex, { verifyBatchSize: 5 });
      await store.append(events(1, 12));
      const file = await tempFile();
      const witness = witnessFor(file);
      const anchor = await witness.anchor(await store.head());
      expect(anchor.seq).toBe(12);
      await store.append(events(13, 14));

      await rewriteUnkeyedFrom(knex, 8);
      // unkeyed, the rewritten chain verifies on its own
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        failedSeq: 12,
        anchor: { seq: 12, at: anchor.at },
        anchorMismatch: { seq: 12, at: anchor.at },
      });
      expect(result.reason).toBe(
        `Event 12 has another hash than an anchor published at ${anchor.at} recorded (${anchor.hash}): it, or an event before it, was rewritten`,
      );
    });

    it('reports an event altered below the anchor as a broken link, not as an anchor the chain no longer holds', async () => {
      const store = keyed(4);
      await store.append(events(1, 12));
      const witness = witnessFor(await tempFile());
      const anchor = await witness.anchor(await store.head());
      await knex('audit_log_events')
        .where({ seq: 5 })
        .update({ actor: 'user:default/mallory' });
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        failedSeq: 5,
        reason:
          'Event 5 was altered: its content does not match its stored hash',
      });
      expect(result).not.toHaveProperty('anchorMismatch');
      expect(result).not.toHaveProperty('anchorMissing');
      expect(anchor.seq).toBe(12);
    });

    it('stays valid after normal prunes, also one past the anchored event', async () => {
      const store = keyed(3);
      await store.append(events(1, 12));
      const file = await tempFile();
      const witness = witnessFor(file);
      const anchor = await witness.anchor(await store.head());
      expect(anchor.seq).toBe(12);
      const prune = (before: number) =>
        store.prune({
          before: new Date(event(before).occurredAt),
          witness: cut =>
            witness.checkpoint(cut, { reason: 'on request' }).then(() => {}),
        });

      // the anchored event is still held
      await expect(prune(5)).resolves.toMatchObject({ deleted: 4 });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 12 } });

      // pruned through the anchored event itself
      await store.append(events(13, 14));
      await expect(prune(13)).resolves.toMatchObject({
        checkpoint: { throughSeq: 12 },
      });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, keyed: true, anchor: { seq: 12 } });

      // and past it, by a prune that is recorded in the witness file
      await expect(prune(14)).resolves.toMatchObject({
        checkpoint: { throughSeq: 13 },
      });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 12 } });
    });

    it('stays valid when a prune runs between its read of the witness file and its walk of the chain', async () => {
      const store = keyed(3);
      await store.append(events(1, 12));
      const witness = witnessFor(await tempFile());
      await witness.anchor(await store.head());
      await store.append(events(13, 14));
      let pruned = false;
      // the prune lands after verify has read the file: the checkpoint it witnesses is not in what verify read
      const racing = {
        read: async () => {
          const records = await witness.read();
          if (!pruned) {
            pruned = true;
            await store.prune({
              before: new Date(event(14).occurredAt),
              witness: cut =>
                witness
                  .checkpoint(cut, { reason: 'on request' })
                  .then(() => {}),
            });
          }
          return records;
        },
      };
      await expect(
        verifyAgainstWitness({ store, witness: racing }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 12 } });
      expect(pruned).toBe(true);
    });

    it('finds a prune past the anchor that no checkpoint in the witness file records', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 10));
      const file = await tempFile();
      const witness = witnessFor(file);
      await witness.anchor(await store.head());
      await store.append(events(11, 14));
      // the database writer "prunes" through 12 and leaves 13–14: a valid chain from a checkpoint
      const twelve = await knex('audit_log_events').where({ seq: 12 }).first();
      await knex('audit_log_events').where('seq', '<=', 12).delete();
      await knex('audit_log_chain_head').where({ id: 1 }).update({
        checkpoint_seq: 12,
        checkpoint_hash: twelve.hash,
        pruned_at: new Date().toISOString(),
      });
      await expect(store.verify()).resolves.toMatchObject({ ok: true });
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({ ok: false, failedSeq: 10 });
      expect(result.reason).toMatch(
        /^The chain was pruned through event 12, past event 10 that an anchor published at .* recorded, but no prune checkpoint in the witness file records a prune through 12/,
      );
    });

    it('finds a prune below the anchor that no checkpoint records, with or without a prune time', async () => {
      for (const prunedAt of [null, '2026-01-01T00:00:00.000Z']) {
        await knex('audit_log_events').delete();
        await knex('audit_log_chain_head')
          .where({ id: 1 })
          .update({
            last_seq: 0,
            last_hash: '0'.repeat(64),
            checkpoint_seq: 0,
            checkpoint_hash: '0'.repeat(64),
            pruned_at: null,
          });
        const store = keyed(4);
        await store.signChainHead();
        await store.append(events(1, 20));
        const file = await tempFile();
        const witness = witnessFor(file);
        const anchor = await witness.anchor(await store.head());
        await expect(
          verifyAgainstWitness({ store, witness }),
        ).resolves.toMatchObject({ ok: true, keyed: true });
        // A database writer deletes the oldest events, well below the anchored one, and makes the
        // head start from the last one deleted, as a prune would; no prune ran, none is witnessed.
        const fifteen = await knex('audit_log_events')
          .where({ seq: 15 })
          .first();
        await knex('audit_log_events').where('seq', '<=', 15).delete();
        await knex('audit_log_chain_head').where({ id: 1 }).update({
          checkpoint_seq: 15,
          checkpoint_hash: fifteen.hash,
          pruned_at: prunedAt,
        });
        const result = await verifyAgainstWitness({ store, witness });
        expect(result).toMatchObject({
          ok: false,
          failedSeq: 15,
          // a start without a prune time needs no anchor to be seen
          ...(prunedAt ? { anchor: { seq: anchor.seq, at: anchor.at } } : {}),
        });
        expect(result.reason).toMatch(/events up to 15 were removed/);
      }
    });

    it('finds a tail cut after a flood of dropped events: the flood writes a few loss records, not one per batch', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 10));
      const file = await tempFile();
      const logger = mockServices.logger.mock();
      const witness = witnessFor(file, logger);
      const anchor = await witness.anchor(await store.head());
      expect(anchor.seq).toBe(10);

      // a caller floods the trail faster than the database takes it, batch after batch: each
      // batch the database takes has a gap record in front, for the events dropped meanwhile
      const queue = new AuditEventQueue({ logger, maxSize: 4, batchSize: 5 });
      queue.recordLossesWith((loss, context) => witness.loss(loss, context));
      const batches: AuditEventInput[][] = [];
      const rounds = 2600;
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < 5; i++) {
          await queue.enqueue({
            ...event(i),
            severity: 'low',
            plugin: 'p'.repeat(80),
            eventId: 'e'.repeat(80),
          });
        }
        queue.attachSink(async batch => {
          batches.push(batch);
        });
        await queue.detachSink();
      }
      await queue.close();
      expect(queue.stats()).toMatchObject({
        dropped: rounds,
        written: 4 * rounds,
      });
      expect(batches).toHaveLength(rounds);
      expect(
        batches.every(batch => batch[0].eventId === AUDIT_GAP_EVENT_ID),
      ).toBe(true);

      // a database writer cuts the tail back below the anchored event
      await cutTail(knex, 5);
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        headSeq: 5,
        failedSeq: 6,
        anchor: { seq: 10, at: anchor.at },
      });
      expect(result.reason).toMatch(/^The chain ends at 5 but an anchor/);
      // the loss records of the flood: a few, not one per batch
      const lossLines = (await readFile(file, 'utf8'))
        .split('\n')
        .filter(line => line.includes('"type":"audit-log-gap"'));
      expect(lossLines.length).toBeGreaterThan(0);
      expect(lossLines.length).toBeLessThan(20);
    });

    it('fails when the witness file holds records but no anchor in the part verify reads', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 8));
      const file = await tempFile();
      const witness = witnessFor(file);
      await witness.anchor(await store.head());
      // more loss lines after the anchor than verify reads (as a flood wrote them before loss
      // records were throttled)
      const loss = (n: number) =>
        JSON.stringify({
          type: 'audit-log-gap',
          id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
          dropped: 1,
          firstOccurredAt: '2026-01-01T00:00:00.000Z',
          lastOccurredAt: '2026-01-01T00:00:00.000Z',
          reasons: { 'queue full': 1 },
          note: 'x'.repeat(1000),
          at: '2026-01-01T00:00:00.000Z',
        });
      const lines = Array.from({ length: 1200 }, (_, i) => loss(i));
      await appendFile(file, `${lines.join('\n')}\n`);
      const readMax = WITNESS_TAIL_BYTES * WITNESS_MAX_READ_FACTOR;
      expect((await stat(file)).size).toBeGreaterThan(readMax);
      await expect(witness.read()).resolves.toMatchObject({
        partial: true,
      });
      await expect(witness.read()).resolves.not.toHaveProperty('anchor');

      await cutTail(knex, 5);
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        keyed: false,
        headSeq: 5,
        failedSeq: 6,
        anchorMissing: true,
      });
      expect(result).not.toHaveProperty('anchor');
      expect(result).not.toHaveProperty('anchorMismatch');
      expect(result.reason).toBe(
        `No head anchor in the last ${
          readMax / 1024
        } KiB of the witness file, which is longer: the newest anchor was pushed out of what verify reads, so a tail cut from the database cannot be ruled out (events after 5 may have been removed)`,
      );

      // the same, uncut: verify still cannot say the tail is whole
      const intact = new DatabaseAuditStore(knex);
      await knex('audit_log_events').delete();
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 0, last_hash: '0'.repeat(64) });
      await intact.append(events(1, 3));
      await expect(
        verifyAgainstWitness({ store: intact, witness }),
      ).resolves.toMatchObject({ ok: false, anchorMissing: true });
      // with anchors off (auditLog.anchor.enabled: false) there is no anchor to miss
      await expect(
        verifyAgainstWitness({
          store: intact,
          witness,
          anchorsPublished: false,
        }),
      ).resolves.toMatchObject({ ok: true });

      // a whole file with records but no anchor: none was published to it yet, or it was
      // moved aside; verify says so rather than ok
      const young = await tempFile();
      await writeFile(young, `${loss(1)}\n`);
      const youngResult = await verifyAgainstWitness({
        store: intact,
        witness: witnessFor(young),
      });
      expect(youngResult).toMatchObject({
        ok: false,
        failedSeq: 4,
        anchorMissing: true,
      });
      expect(youngResult.reason).toBe(
        'The witness file holds no head anchor, only 1 other record(s): a tail cut from the database cannot be ruled out (events after 3 may have been removed) until the next anchor is published',
      );
      // a file not written to yet, or empty, holds nothing to check against during the first
      // anchor interval of a backend that started without one
      const memory = createAnchorMemory({ frequency: { minutes: 5 } });
      await expect(
        verifyAgainstWitness({
          store: intact,
          witness: witnessFor(await tempFile()),
          memory,
        }),
      ).resolves.toMatchObject({ ok: true });
      const empty = await tempFile();
      await writeFile(empty, '');
      await expect(
        verifyAgainstWitness({
          store: intact,
          witness: witnessFor(empty),
          memory,
        }),
      ).resolves.toMatchObject({ ok: true });
    });

    it('finds a tail cut below an older anchor after the chain grew past it and a newer anchor was published', async () => {
      const store = keyed(4);
      await store.append(events(1, 15));
      const file = await tempFile();
      const witness = witnessFor(file);
      const fifteen = await createAnchorPublisher({
        store,
        witness,
        logger: mockServices.logger.mock(),
      })();
      expect(fifteen).toMatchObject({ seq: 15 });
      await cutTail(knex, 10);
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: false, failedSeq: 11 });
      // six ordinary appends bring the chain back to 16, signed with the key as any other event
      await store.append(events(111, 116)); // six other events
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        headSeq: 16,
      });
      // an anchor of the new head reaches the file (a backend that does not check what it
      // publishes); anchor 15 is still in the file
      const sixteen = await witness.anchor(await store.head());
      expect(sixteen.seq).toBe(16);
      const records = await witness.read();
      expect(records?.anchor).toMatchObject({ seq: 16 });
      expect(records?.anchors?.map(a => a.seq)).toEqual([15, 16]);

      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        keyed: false,
        failedSeq: 15,
        anchor: { seq: 16, at: sixteen.at },
        // the anchor the chain no longer holds: the older one, not the newest checked
        anchorMismatch: { seq: 15, at: fifteen!.at },
      });
      expect(result.reason).toBe(
        `Event 15 has another hash than an anchor published at ${
          fifteen!.at
        } recorded (${
          fifteen!.hash
        }): it, or an event before it, was rewritten, or the tail was cut below it and the chain grew again`,
      );
    });

    it('publishes no anchor of a head that does not continue the newest anchor in the file, and records why', async () => {
      const store = keyed(4);
      await store.append(events(1, 15));
      const file = await tempFile();
      const witness = witnessFor(file);
      const fifteen = await createAnchorPublisher({
        store,
        witness,
        logger: mockServices.logger.mock(),
      })();
      await cutTail(knex, 10);
      await store.append(events(111, 116)); // six other events

      // the next run, on this replica or another one
      const logger = mockServices.logger.mock();
      const auditor = mockServices.auditor.mock();
      const fail = jest.fn();
      auditor.createEvent.mockResolvedValue({ success: jest.fn(), fail });
      const publish = createAnchorPublisher({
        store,
        witness,
        logger,
        auditor,
      });
      await expect(publish()).resolves.toBeUndefined();
      const reason = `Event 15 has another hash than an anchor published at ${
        fifteen!.at
      } recorded (${
        fifteen!.hash
      }): it, or an event before it, was rewritten, or the tail was cut below it and the chain grew again`;
      expect(logger.error).toHaveBeenCalledWith(
        `Not publishing the audit log anchor of event 16, which does not continue the anchors published before: ${reason}`,
      );
      expect(auditor.createEvent).toHaveBeenCalledWith(
        expect.objectContaining({
          eventId: 'chain-anchor',
          severityLevel: 'high',
        }),
      );
      expect(fail).toHaveBeenCalledWith({
        error: new Error(
          `Not publishing the audit log anchor of event 16, which does not continue the anchors published before: ${reason}`,
        ),
        meta: { outcome: 'refused', headSeq: 16, failedSeq: 15 },
      });
      // recorded once, logged on every run
      await expect(publish()).resolves.toBeUndefined();
      expect(fail).toHaveBeenCalledTimes(1);
      expect(logger.error).toHaveBeenCalledTimes(2);

      expect((await witness.read())?.anchors?.map(a => a.seq)).toEqual([15]);
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: false, failedSeq: 15 });
    });

    it('publishes no anchor of a head row that names an event the database does not hold', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 8));
      const witness = witnessFor(await tempFile());
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger });
      await expect(publish()).resolves.toMatchObject({ seq: 8 });
      const real = await knex('audit_log_chain_head').where({ id: 1 }).first();

      // a database writer moves the head row far ahead for one anchor run, then back
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 1_000_000_000, last_hash: 'f'.repeat(64) });
      await expect(publish()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        `Not publishing the audit log anchor of event 1000000000, which does not continue the anchors published before: The chain head records event 1000000000 with hash ${'f'.repeat(
          64,
        )}, but the database holds no such event: the head row was changed without the events`,
      );
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: real.last_seq, last_hash: real.last_hash });

      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 8 } });
      await store.append(events(9, 9));
      await expect(publish()).resolves.toMatchObject({ seq: 9 });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 9 } });
    });

    it('publishes no anchor of a head row and an event a database writer forged together, whose content does not give its hash, and records why', async () => {
      const store = keyed();
      await store.append(events(1, 8));
      const witness = witnessFor(await tempFile());
      const logger = mockServices.logger.mock();
      const auditor = mockServices.auditor.mock();
      const fail = jest.fn();
      auditor.createEvent.mockResolvedValue({ success: jest.fn(), fail });
      const publish = createAnchorPublisher({
        store,
        witness,
        logger,
        auditor,
      });
      await expect(publish()).resolves.toMatchObject({ seq: 8 });
      const real = await knex('audit_log_chain_head').where({ id: 1 }).first();

      // a database writer without the chain key adds event 9 with a hash of its choosing and
      // moves the head row to it
      const { content_digest: _digest, ...eight } = await knex(
        'audit_log_events',
      )
        .where({ seq: 8 })
        .first();
      const forged = 'e'.repeat(64);
      await knex('audit_log_events').insert({
        ...eight,
        seq: 9,
        actor: 'user:default/mallory',
        prev_hash: eight.hash,
        hash: forged,
      });
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 9, last_hash: forged });

      await expect(publish()).resolves.toBeUndefined();
      const message = `Not publishing the audit log anchor of event 9, which does not continue the anchors published before: The chain head records event 9 with hash ${forged}, but the event's content does not give that hash: the event was changed, or written with the head row outside the chain`;
      expect(logger.error).toHaveBeenCalledWith(message);
      expect(auditor.createEvent).toHaveBeenCalledWith(
        expect.objectContaining({
          eventId: 'chain-anchor',
          severityLevel: 'high',
        }),
      );
      expect(fail).toHaveBeenCalledWith({
        error: new Error(message),
        meta: { outcome: 'refused', headSeq: 9, failedSeq: 9 },
      });
      expect((await witness.read())?.anchors?.map(a => a.seq)).toEqual([8]);

      // the forged rows removed: the chain verifies against the file, and anchoring goes on
      await knex('audit_log_events').where({ seq: 9 }).delete();
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: real.last_seq, last_hash: real.last_hash });
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 8 } });
      await store.append(events(9, 9));
      await expect(publish()).resolves.toMatchObject({ seq: 9 });
    });

    it('publishes no anchor of a head whose own hash is right but that does not link to the anchored chain', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 8));
      const witness = witnessFor(await tempFile());
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger });
      await expect(publish()).resolves.toMatchObject({ seq: 8 });

      // a database writer adds event 9 with a prev_hash of its choosing and the hash its
      // content gives, and moves the head row to it
      const { content_digest: _digest, ...eight } = await knex(
        'audit_log_events',
      )
        .where({ seq: 8 })
        .first();
      const nine = {
        ...eight,
        seq: 9,
        actor: 'user:default/mallory',
        prev_hash: 'f'.repeat(64),
      };
      const hash = hashRow(nine.prev_hash, nine, Number(nine.chain_version))!;
      await knex('audit_log_events').insert({ ...nine, hash });
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 9, last_hash: hash });
      await expect(store.checkEvent(9)).resolves.toEqual({
        hash,
        check: 'intact',
      });

      await expect(publish()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          'Not publishing the audit log anchor of event 9, which does not continue the anchors published before: Event 9 does not link to the previous event',
        ),
      );
      expect((await witness.read())?.anchors?.map(a => a.seq)).toEqual([8]);
    });

    it('publishes no anchor of a keyed head after an unsigned event written under the keyed chain', async () => {
      const store = keyed();
      await store.append(events(1, 8));
      const witness = witnessFor(await tempFile());
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger });
      await expect(publish()).resolves.toMatchObject({ seq: 8 });

      // a replica without the key appends event 9 unsigned; event 10 is signed again
      await new DatabaseAuditStore(knex).append(events(9, 9));
      await store.append(events(10, 10));
      await expect(store.checkEvent(10)).resolves.toMatchObject({
        check: 'intact',
      });

      await expect(publish()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          'Not publishing the audit log anchor of event 10, which does not continue the anchors published before: Event 9',
        ),
      );
      expect((await witness.read())?.anchors?.map(a => a.seq)).toEqual([8]);
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 9,
      });
    });

    it('finds a start moved without a recorded prune after a newer anchor recorded the new start', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 20));
      const file = await tempFile();
      const witness = witnessFor(file);
      const twenty = await witness.anchor(await store.head());
      // a database writer deletes the oldest events and makes the head start after 15
      const fifteen = await knex('audit_log_events').where({ seq: 15 }).first();
      await knex('audit_log_events').where('seq', '<=', 15).delete();
      await knex('audit_log_chain_head').where({ id: 1 }).update({
        checkpoint_seq: 15,
        checkpoint_hash: fifteen.hash,
        pruned_at: new Date().toISOString(),
      });
      await store.append(events(21, 21));
      const reason = `The chain starts after event 15, but it started after event 0 when an anchor published at ${twenty.at} recorded its head, and no prune checkpoint in the witness file records a prune through 15 with the hash the chain continues from: events up to 15 were removed without a recorded prune`;

      const logger = mockServices.logger.mock();
      await expect(
        createAnchorPublisher({ store, witness, logger })(),
      ).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(reason),
      );
      // an anchor recording the new start reaches the file all the same
      await witness.anchor(await store.head());
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        failedSeq: 15,
        anchor: { seq: 21 },
      });
      expect(result.reason).toBe(reason);
    });

    it('keeps verifying and publishing across normal prunes, with every anchor in the file checked', async () => {
      const store = keyed(3);
      const file = await tempFile();
      const witness = witnessFor(file);
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger });
      const prune = (before: number) =>
        store.prune({
          before: new Date(event(before).occurredAt),
          witness: cut =>
            witness.checkpoint(cut, { reason: 'on request' }).then(() => {}),
        });
      for (const [to, before] of [
        [6, 0],
        [12, 4],
        [18, 14],
        [24, 19],
      ]) {
        await store.append(events(to - 5, to));
        if (before) await prune(before);
        await expect(publish()).resolves.toMatchObject({ seq: to });
        await expect(
          verifyAgainstWitness({ store, witness }),
        ).resolves.toMatchObject({
          ok: true,
          keyed: true,
          anchor: { seq: to },
        });
      }
      expect(logger.error).not.toHaveBeenCalled();
      expect((await witness.read())?.anchors?.map(a => a.seq)).toEqual([
        6, 12, 18, 24,
      ]);
    });

    it('fails when the witness file was moved aside after an anchor, and publishes no anchor of a tail cut meanwhile', async () => {
      const store = keyed(4);
      await store.append(events(1, 15));
      const file = await tempFile();
      const witness = witnessFor(file);
      const memory = createAnchorMemory({ frequency: { minutes: 5 } });
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger, memory });
      const fifteen = await publish();
      expect(fifteen).toMatchObject({ seq: 15 });

      await rename(file, `${file}.1`);
      await cutTail(knex, 10);
      const after =
        'a tail cut from the database cannot be ruled out (events after 10 may have been removed) until the next anchor is published';
      // this backend published anchor 15 to the file: none there now is not "nothing to check"
      const result = await verifyAgainstWitness({ store, witness, memory });
      expect(result).toMatchObject({
        ok: false,
        keyed: false,
        failedSeq: 11,
        anchorMissing: true,
      });
      expect(result.reason).toBe(
        `The witness file does not exist, but it held the anchor of event 15 published at ${
          fifteen!.at
        } when this backend last read or wrote it: it was moved aside or emptied, so ${after}`,
      );
      // nor does a backend that knows nothing of the file before (no grace once its first anchor interval is over)
      await expect(
        verifyAgainstWitness({ store, witness }),
      ).resolves.toMatchObject({
        ok: false,
        failedSeq: 11,
        anchorMissing: true,
      });

      // the chain grows by one; the next anchor would vouch for the cut tail
      await store.append(events(11, 11));
      await expect(publish()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringMatching(
          /^Not publishing the audit log anchor of event 11, which does not continue the anchors published before: The chain ends at 11 but an anchor published at .* recorded event 15/,
        ),
      );
      await expect(
        verifyAgainstWitness({ store, witness, memory }),
      ).resolves.toMatchObject({ ok: false, anchorMissing: true });
      await expect(readFile(file)).rejects.toThrow(/ENOENT/);

      // another replica, which never saw anchor 15, publishes the cut head to a new file: this
      // backend still checks the chain against the anchor it remembers
      await expect(
        createAnchorPublisher({
          store,
          witness,
          logger: mockServices.logger.mock(),
        })(),
      ).resolves.toMatchObject({ seq: 11 });
      await expect(
        verifyAgainstWitness({ store, witness, memory }),
      ).resolves.toMatchObject({
        ok: false,
        failedSeq: 12,
        anchor: { seq: 11 },
        reason: `The chain ends at 11 but an anchor published at ${
          fifteen!.at
        } recorded event 15 with hash ${
          fifteen!.hash
        }: events 12–15 were removed from the database (the tail was cut), or the database was restored from an older backup`,
      });
    });

    it('gives a missing or empty witness file one anchor interval after start-up or after the chain began, no more', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 3));
      let now = Date.now();
      const memory = createAnchorMemory({
        frequency: { minutes: 5 },
        now: () => now,
      });
      const missing = witnessFor(await tempFile());
      const emptyFile = await tempFile();
      await writeFile(emptyFile, '');
      const empty = witnessFor(emptyFile);
      // started just now: the first anchor is not due yet
      for (const witness of [missing, empty]) {
        const result = await verifyAgainstWitness({ store, witness, memory });
        expect(result).toMatchObject({ ok: true });
        expect(result).not.toHaveProperty('anchor');
      }
      // one interval (frequency, the first run's delay and its timeout) later, it was due
      now += 7 * 60_000 + 1;
      const result = await verifyAgainstWitness({
        store,
        witness: missing,
        memory,
      });
      expect(result).toMatchObject({
        ok: false,
        failedSeq: 4,
        anchorMissing: true,
      });
      expect(result.reason).toBe(
        'The witness file does not exist, although the chain holds events up to 3 and head anchors are published (the first one is due at most 7 minutes after start-up or after the first event): it was moved aside or emptied, so a tail cut from the database cannot be ruled out (events after 3 may have been removed) until the next anchor is published',
      );
      await expect(
        verifyAgainstWitness({ store, witness: empty, memory }),
      ).resolves.toMatchObject({
        ok: false,
        anchorMissing: true,
        reason: expect.stringMatching(/^The witness file holds no record, /),
      });
      // a backend started long ago, and a chain whose first event is younger than one interval
      let clock = Date.parse(event(1).occurredAt) - 3_600_000;
      const long = createAnchorMemory({
        frequency: { minutes: 5 },
        now: () => clock,
      });
      clock = Date.parse(event(1).occurredAt) + 60_000;
      await expect(
        verifyAgainstWitness({ store, witness: missing, memory: long }),
      ).resolves.toMatchObject({ ok: true });
      clock += 7 * 60_000;
      await expect(
        verifyAgainstWitness({ store, witness: missing, memory: long }),
      ).resolves.toMatchObject({ ok: false, anchorMissing: true });
      // the first anchor ends it
      await createAnchorPublisher({
        store,
        witness: empty,
        logger: mockServices.logger.mock(),
        memory,
      })();
      now = Date.now() + 3_600_000;
      await expect(
        verifyAgainstWitness({ store, witness: empty, memory }),
      ).resolves.toMatchObject({ ok: true, anchor: { seq: 3 } });
    });

    it('fails when the witness file cannot be read', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 5));
      // the path names a directory
      const dir = await mkdtemp(join(tmpdir(), 'audit-anchor-dir-'));
      const logger = mockServices.logger.mock();
      const witness = witnessFor(dir, logger);
      await cutTail(knex, 3);
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({
        ok: false,
        keyed: false,
        failedSeq: 4,
        anchorMissing: true,
      });
      expect(result.reason).toMatch(
        /^The witness file could not be read \(.*EISDIR.*\): a tail cut from the database cannot be ruled out \(events after 3 may have been removed\)$/,
      );
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringMatching(/^Could not read the audit witness file /),
      );
      // with anchors off there is no anchor to miss
      await expect(
        verifyAgainstWitness({ store, witness, anchorsPublished: false }),
      ).resolves.toMatchObject({ ok: true });
    });

    it('without a witness file: says nothing about anchors, and a cut tail still verifies', async () => {
      const store = new DatabaseAuditStore(knex);
      await store.append(events(1, 8));
      const logger = mockServices.logger.mock();
      const witness = witnessFor(undefined, logger);
      await createAnchorPublisher({ store, witness, logger })();
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining('Audit log anchor: the chain head is event 8'),
        expect.anything(),
      );
      await cutTail(knex, 5);
      const result = await verifyAgainstWitness({ store, witness });
      expect(result).toMatchObject({ ok: true, headSeq: 5 });
      expect(result).not.toHaveProperty('anchor');
    });

    it('walks only the events since its last anchor on each run, with or without a witness file', async () => {
      for (const file of [undefined, await tempFile()]) {
        await knex('audit_log_events').delete();
        await knex('audit_log_chain_head')
          .where({ id: 1 })
          .update({ last_seq: 0, last_hash: '0'.repeat(64) });
        const store = keyed(4);
        const verify = store.verify.bind(store);
        const walked: number[] = [];
        jest.spyOn(store, 'verify').mockImplementation(async options => {
          const result = await verify(options);
          walked.push(result.checked);
          return result;
        });
        const publish = createAnchorPublisher({
          store,
          witness: witnessFor(file),
          logger: mockServices.logger.mock(),
        });
        for (const to of [50, 100, 150, 200]) {
          await store.append(events(to - 49, to));
          await expect(publish()).resolves.toMatchObject({ seq: to });
        }
        // the whole chain once, then the anchored event and the 50 after it
        expect({ file: !!file, walked }).toEqual({
          file: !!file,
          walked: [50, 51, 51, 51],
        });
      }
    });

    it('without a witness file: publishes across normal prunes, and no anchor of a tail cut below the last one it published', async () => {
      const store = keyed(3);
      const witness = witnessFor(undefined);
      const logger = mockServices.logger.mock();
      const publish = createAnchorPublisher({ store, witness, logger });
      const prune = (before: number) =>
        store.prune({
          before: new Date(event(before).occurredAt),
          witness: cut =>
            witness.checkpoint(cut, { reason: 'on request' }).then(() => {}),
        });
      // pruned below the last anchor, past it, and through the anchored event itself
      for (const [to, before] of [
        [6, 0],
        [12, 4],
        [18, 14],
        [24, 19],
      ]) {
        await store.append(events(to - 5, to));
        if (before) await prune(before);
        await expect(publish()).resolves.toMatchObject({ seq: to });
      }
      expect(logger.error).not.toHaveBeenCalled();
      const last = (await store.get(24))!;

      // cut back to 22 and grown past 24 again with other events: a valid chain on its own
      await cutTail(knex, 22);
      await store.append(events(30, 33));
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        headSeq: 26,
      });
      await expect(publish()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringMatching(
          new RegExp(
            `^Not publishing the audit log anchor of event 26, which does not continue the anchors published before: Event 24 has another hash than an anchor published at .* recorded \\(${last.hash}\\): it, or an event before it, was rewritten, or the tail was cut below it and the chain grew again$`,
          ),
        ),
      );
    });
  },
);

describe('head anchor publishing', () => {
  const sqlite = TestDatabases.create({ ids: ['SQLITE_3'] });
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('defaults to every 5 minutes and reads the frequency and enabled settings', () => {
    expect(readAnchorSettings(mockServices.rootConfig())).toEqual({
      enabled: true,
      frequency: { minutes: 5 },
    });
    expect(
      readAnchorSettings(
        mockServices.rootConfig({
          data: {
            auditLog: {
              anchor: {
                enabled: false,
                frequency: { minutes: 1, seconds: 30 },
              },
            },
          },
        }),
      ),
    ).toEqual({ enabled: false, frequency: { minutes: 1, seconds: 30 } });
    for (const frequency of [
      {},
      { minutes: 0 },
      { fortnights: 1 },
      { minutes: -5 },
    ]) {
      expect(() =>
        readAnchorSettings(
          mockServices.rootConfig({
            data: { auditLog: { anchor: { frequency } } },
          }),
        ),
      ).toThrow(/auditLog\.anchor\.frequency/);
    }
  });

  it('publishes the head to the log, the file and the webhook on schedule, and skips a head that did not move', async () => {
    const received: string[] = [];
    let answer = 204;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        received.push(`${req.headers.authorization} ${body}`);
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>(r => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const file = await tempFile();
    const logger = mockServices.logger.mock();
    const config = mockServices.rootConfig({
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
    });
    const knex = await sqlite.init('SQLITE_3');
    await DatabaseAuditStore.runMigrations(knex);
    const store = new DatabaseAuditStore(knex);
    const scheduler = mockServices.scheduler.mock();
    await scheduleAnchors({
      settings: readAnchorSettings(config),
      scheduler,
      store,
      witness: createAuditWitness({ config, logger }),
      logger,
    });
    expect(scheduler.scheduleTask).toHaveBeenCalledTimes(1);
    const task = scheduler.scheduleTask.mock.calls[0][0];
    expect(task).toMatchObject({
      id: 'audit-log-anchor',
      frequency: { minutes: 5 },
    });
    const run = () => task.fn(new AbortController().signal);
    const fileLines = async () =>
      (await readFile(file, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line));

    // an empty chain has no head to anchor
    await run();
    expect(await fileLines()).toEqual([]);

    await store.append(events(1, 3));
    const third = await store.get(3);
    await run();
    await run(); // the head did not move
    const first = {
      type: 'audit-log-anchor',
      seq: 3,
      hash: third!.hash,
      at: expect.any(String),
      // where the chain starts: never pruned
      checkpointSeq: 0,
      checkpointHash: '0'.repeat(64),
    };
    expect(await fileLines()).toEqual([first]);
    expect(received).toHaveLength(1);
    expect(received[0].startsWith('Bearer t0k {')).toBe(true);
    expect(JSON.parse(received[0].slice('Bearer t0k '.length))).toEqual(first);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledWith(
      `Audit log anchor: the chain head is event 3 with hash ${third!.hash}`,
      { auditAnchor: expect.stringContaining('"type":"audit-log-anchor"') },
    );

    // a target that refuses: logged, and tried again on the next run
    await store.append(events(4, 4));
    answer = 500;
    await run();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Could not publish the audit log anchor of event 4 \(tried again on the next run\): the anchor webhook answered 500/,
      ),
    );
    answer = 204;
    await run();
    await run();
    expect(received).toHaveLength(3);
    expect(JSON.parse(received[2].slice('Bearer t0k '.length))).toMatchObject({
      seq: 4,
    });
    expect((await fileLines()).map(l => l.seq)).toEqual([3, 4, 4]);
  });

  it('schedules nothing when anchors are disabled', async () => {
    const scheduler = mockServices.scheduler.mock();
    const logger = mockServices.logger.mock();
    await scheduleAnchors({
      settings: { enabled: false, frequency: { minutes: 5 } },
      scheduler,
      store: {} as DatabaseAuditStore,
      witness: witnessFor(undefined, logger),
      logger,
    });
    expect(scheduler.scheduleTask).not.toHaveBeenCalled();
  });
});

describe('reading the witness file', () => {
  const hash = (c: string) => c.repeat(64);

  it('reads only the tail: the newest anchor (highest seq) and the checkpoints in the last 64 KiB', async () => {
    const file = await tempFile();
    const anchor = (seq: number, c: string) =>
      `${JSON.stringify({
        type: 'audit-log-anchor',
        seq,
        hash: hash(c),
        at: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
      })}\n`;
    // an old anchor far before the tail, then 200 KiB of other lines
    await writeFile(file, anchor(999, 'f'));
    await appendFile(
      file,
      `${JSON.stringify({ note: 'x'.repeat(1000) })}\n`.repeat(200),
    );
    await appendFile(
      file,
      `${JSON.stringify({
        type: 'audit-log-checkpoint',
        fromSeq: 1,
        throughSeq: 40,
        hash: hash('c'),
        cutoff: '2026-01-01T00:00:00.000Z',
        prunedAt: '2026-01-01T00:00:00.000Z',
        reason: 'on request',
      })}\n`,
    );
    await appendFile(file, anchor(50, 'a'));
    await appendFile(
      file,
      'not json\n{"type":"audit-log-anchor","seq":"77"}\n',
    );
    await appendFile(file, anchor(60, 'b'));
    await appendFile(file, anchor(55, 'd')); // a replica's older head, written late
    await appendFile(file, '{"type":"audit-log-anchor","seq":70,"ha'); // a line being written

    const records = await readWitnessFile(file);
    expect(records.anchor).toMatchObject({ seq: 60, hash: hash('b') });
    // every anchor in the part read, in file order
    expect(records.anchors?.map(a => a.seq)).toEqual([50, 60, 55]);
    expect(records.checkpoints).toEqual([
      expect.objectContaining({ throughSeq: 40, hash: hash('c') }),
    ]);
    // a smaller window holds the newest lines only
    const small = await readWitnessFile(file, 200);
    expect(small.anchor).toMatchObject({ seq: 55 });
    expect(small.checkpoints).toEqual([]);
  });

  it('treats a witness file that does not exist yet as holding no anchor', async () => {
    const file = await tempFile();
    const witness = witnessFor(file);
    await expect(witness.read()).resolves.toEqual({
      checkpoints: [],
      missing: true,
    });
    await expect(witnessFor(undefined).read()).resolves.toBeUndefined();
  });
});
