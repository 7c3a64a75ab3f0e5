import { TestDatabases } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { Knex } from 'knex';
import { createHmac } from 'node:crypto';
import { DatabaseAuditStore } from './DatabaseAuditStore';
import { canonicalRowV2, hashRow, postgresCanonicalTextV2 } from './chain';
import { ChainKeyring, chainKeyId } from './chainKeys';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const KEY = 'test-chain-key-0123456789-abcdefghijklmnopqrstuvwxyz';
const OLD_KEY = 'old-test-chain-key-9876543210-zyxwvutsrqponmlkjihgfedcba';
const WRONG_KEY = 'what-a-database-writer-guessed-0123456789abcdef';

function event(n: number): AuditEventInput {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'chart-install',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev', namespace: `team-${n}` },
    request: { method: 'POST', path: `/api/kubechart/runs/${n}` },
    meta: { n },
  };
}

function events(from: number, to: number): AuditEventInput[] {
  const out = [];
  for (let i = from; i <= to; i++) out.push(event(i));
  return out;
}

/**
 * What someone with write access to the database but not the backend's configuration can do:
 * change event `seq`, then recompute its hash and every later one with `rehash` (given the
 * previous hash and the row, returns the new hash and the chain fields to store), and move the
 * chain head to the new last hash.
 */
async function rewriteTail(
  knex: Knex,
  seq: number,
  change: Record<string, unknown>,
  rehash: (
    prevHash: string,
    row: any,
  ) => { hash: string; chain_version: number; chain_key_id?: string | null },
) {
  const rows = await knex('audit_log_events')
    .where('seq', '>=', seq)
    .orderBy('seq');
  let prevHash: string = rows[0].prev_hash;
  for (const original of rows) {
    const row = {
      ...original,
      ...(Number(original.seq) === seq ? change : {}),
      prev_hash: prevHash,
    };
    const { chain_key_id: keyId, ...fields } = rehash(prevHash, row);
    // (before migration 20261205000000_chain_key_id there is no such column)
    if ('chain_key_id' in original)
      Object.assign(fields, { chain_key_id: keyId });
    await knex('audit_log_events')
      .where({ seq: row.seq })
      .update({ ...row, ...fields, content_digest: undefined });
    prevHash = fields.hash;
  }
  await knex('audit_log_chain_head')
    .where({ id: 1 })
    .update({ last_hash: prevHash });
}

/** The unkeyed form a database writer can compute: sha256, version 2. */
const asVersion2 = (prevHash: string, row: any) => ({
  hash: hashRow(prevHash, row, 2)!,
  chain_version: 2,
  chain_key_id: null,
});

/** The unkeyed form new events take without a key: version 4. */
const asVersion4 = (prevHash: string, row: any) => ({
  hash: hashRow(prevHash, row, 4)!,
  chain_version: 4,
  chain_key_id: null,
});

/** Version 3 computed with a key the writer guessed, labelled as `keyId`. */
const withWrongKey = (keyId: string) => (prevHash: string, row: any) => ({
  hash: createHmac('sha256', WRONG_KEY)
    .update(prevHash)
    .update(canonicalRowV2(row))
    .digest('hex'),
  chain_version: 3,
  chain_key_id: keyId,
});

/** Version 3 signed with `secret`, a key the writer holds (a retired one), under its own id. */
const signedWith = (secret: string) => (prevHash: string, row: any) => ({
  hash: createHmac('sha256', secret)
    .update(prevHash)
    .update(canonicalRowV2(row))
    .digest('hex'),
  chain_version: 3,
  chain_key_id: chainKeyId(secret),
});

/** The event a backend signs when it starts with a key its newest event is not signed with. */
function keyConfigured(secret: string, previous: string[]): AuditEventInput {
  return {
    occurredAt: new Date().toISOString(),
    plugin: 'audit-log',
    eventId: 'chain-key-configured',
    severity: 'medium',
    status: 'succeeded',
    target: {},
    meta: {
      keyId: chainKeyId(secret),
      previousKeyIds: previous.map(chainKeyId),
      previousEvent: null,
    },
  };
}

const NEWER_KEY = 'newer-test-chain-key-5555555555-abcdefghijklmnopqrstu';

describe.each(databases.eachSupportedId())(
  'DatabaseAuditStore with a chain key (%p)',
  databaseId => {
    let knex: Knex;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      await DatabaseAuditStore.runMigrations(knex);
    });

    const keyed = (secret = KEY, previous: string[] = [], batch?: number) =>
      new DatabaseAuditStore(knex, {
        chainKeys: ChainKeyring.fromSecrets(secret, previous),
        verifyBatchSize: batch,
      });

    it('signs new events with the key and verifies them as keyed', async () => {
      const store = keyed();
      await store.append(events(1, 12));
      const rows = await knex('audit_log_events').orderBy('seq');
      expect(rows.map(r => Number(r.chain_version))).toEqual(
        new Array(12).fill(3),
      );
      expect(new Set(rows.map(r => r.chain_key_id))).toEqual(
        new Set([chainKeyId(KEY)]),
      );
      // HMAC-SHA256 with the key over the version 2 text after prev_hash
      expect(rows[4].hash).toBe(
        createHmac('sha256', KEY)
          .update(rows[4].prev_hash)
          .update(canonicalRowV2(rows[4]))
          .digest('hex'),
      );
      // every range size: the first, inner and last events of a range
      for (const batch of [undefined, 1, 5]) {
        await expect(keyed(KEY, [], batch).verify()).resolves.toMatchObject({
          ok: true,
          keyed: true,
          checked: 12,
          lastSeq: 12,
        });
      }
    });

    it.each([
      ['version 2', asVersion2],
      ['version 4', asVersion4],
    ])(
      'finds a tail rewritten in an unkeyed form (%s) by a database writer',
      async (_form, rehash) => {
        const store = keyed(KEY, [], 4);
        await store.append(events(1, 12));
        await rewriteTail(knex, 6, { actor: 'user:default/mallory' }, rehash);
        const result = await store.verify();
        expect(result).toMatchObject({
          ok: false,
          keyed: false,
          failedSeq: 6,
          checked: 5,
        });
        expect(result.reason).toMatch(/unkeyed event after keyed events/);
      },
    );

    it('finds a whole chain rewritten in the unkeyed form: a configured key needs a keyed newest event', async () => {
      const store = keyed(KEY, [], 4);
      await store.append(events(1, 12));
      await rewriteTail(knex, 1, { actor: 'user:default/mallory' }, asVersion2);
      const result = await store.verify();
      expect(result).toMatchObject({ ok: false, keyed: false, failedSeq: 12 });
      expect(result.reason).toMatch(/no event signed with a chain key/i);
      // the same chain is a valid unkeyed chain to a backend without a key
      await expect(
        new DatabaseAuditStore(knex).verify(),
      ).resolves.toMatchObject({ ok: true, keyed: false, checked: 12 });
    });

    it('finds a tail re-signed with a wrong key', async () => {
      const store = keyed(KEY, [], 4);
      await store.append(events(1, 12));
      const original = await knex('audit_log_events').orderBy('seq');

      // labelled with the real key's id: the hash does not match
      await rewriteTail(
        knex,
        7,
        { status: 'failed' },
        withWrongKey(chainKeyId(KEY)),
      );
      const altered = await store.verify();
      expect(altered).toMatchObject({ ok: false, failedSeq: 7, checked: 6 });
      expect(altered.reason).toMatch(/altered/);

      // labelled with its own id: a key this backend does not have
      for (const row of original) {
        await knex('audit_log_events')
          .where({ seq: row.seq })
          .update({ ...row, content_digest: undefined });
      }
      await rewriteTail(
        knex,
        7,
        { status: 'failed' },
        withWrongKey(chainKeyId(WRONG_KEY)),
      );
      const unknown = await store.verify();
      expect(unknown).toMatchObject({ ok: false, failedSeq: 7, checked: 6 });
      expect(unknown.reason).toMatch(/signed with an unknown key/);
    });

    it('verifies events signed with a previous key while it is configured, and not after', async () => {
      await keyed(OLD_KEY).append(events(1, 5));
      const rotated = keyed(KEY, [OLD_KEY], 3);
      // what the plugin does when it starts with the new key
      await expect(rotated.signChainHead()).resolves.toBe(true);
      await rotated.append(events(7, 10));
      const rows = await knex('audit_log_events').orderBy('seq');
      expect(rows.map(r => r.chain_key_id)).toEqual([
        ...new Array(5).fill(chainKeyId(OLD_KEY)),
        ...new Array(5).fill(chainKeyId(KEY)),
      ]);
      await expect(rotated.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: 10,
      });

      const forgotten = await keyed(KEY, [], 3).verify();
      expect(forgotten).toMatchObject({ ok: false, failedSeq: 1, checked: 0 });
      expect(forgotten.reason).toMatch(/signed with an unknown key/);
      expect(forgotten.reason).toContain(chainKeyId(OLD_KEY));
    });

    it('finds the events after a rotation re-signed with the retired key by whoever holds it', async () => {
      await keyed(OLD_KEY).append(events(1, 5));
      const rotated = keyed(KEY, [OLD_KEY], 4);
      await rotated.signChainHead();
      await rotated.append(events(7, 12));
      await expect(rotated.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: 12,
      });
      // every event from the new key's chain-key-configured event on re-signed with the old key,
      // one of them altered, the head moved
      await rewriteTail(knex, 6, {}, signedWith(OLD_KEY));
      await rewriteTail(
        knex,
        9,
        { actor: 'user:default/mallory' },
        signedWith(OLD_KEY),
      );
      const rows = await knex('audit_log_events').orderBy('seq');
      expect(new Set(rows.map(r => r.chain_key_id))).toEqual(
        new Set([chainKeyId(OLD_KEY)]),
      );
      for (const batch of [undefined, 1, 4]) {
        const result = await keyed(KEY, [OLD_KEY], batch).verify();
        expect(result).toMatchObject({
          ok: false,
          keyed: false,
          failedSeq: 12,
          checked: 12,
        });
        expect(result.reason).toBe(
          `The chain holds no event signed with auditLog.chain.key (key id ${chainKeyId(
            KEY,
          )}), although a backend signs one with it when it starts: the newest keyed event, 12, is signed with the older key of id ${chainKeyId(
            OLD_KEY,
          )} (auditLog.chain.previousKeys[0]), so the events signed with auditLog.chain.key may have been re-signed with a retired key`,
        );
      }
      // and once the backend appends on top of them: its key's first event is not the marker
      await rotated.append(events(13, 14));
      const appended = await rotated.verify();
      expect(appended).toMatchObject({
        ok: false,
        failedSeq: 13,
        checked: 12,
      });
      expect(appended.reason).toBe(
        `Event 13, the first event signed with the key of id ${chainKeyId(
          KEY,
        )} (auditLog.chain.key) after events signed with the key of id ${chainKeyId(
          OLD_KEY,
        )} (auditLog.chain.previousKeys[0]), is not the audit-log / chain-key-configured event a backend signs when it starts with a new key: events this key signed before it may have been re-signed with an older key`,
      );
    });

    it('finds an event signed with an older key after one signed with a newer key', async () => {
      await keyed(OLD_KEY).append(events(1, 5));
      const rotated = keyed(KEY, [OLD_KEY], 3);
      await rotated.signChainHead();
      await rotated.append(events(7, 10));
      // a tail re-signed with the retired key
      await rewriteTail(
        knex,
        9,
        { actor: 'user:default/mallory' },
        signedWith(OLD_KEY),
      );
      const rewritten = await rotated.verify();
      expect(rewritten).toMatchObject({
        ok: false,
        keyed: false,
        failedSeq: 9,
        checked: 8,
      });
      expect(rewritten.reason).toBe(
        `Event 9 is signed with the key of id ${chainKeyId(
          OLD_KEY,
        )} (auditLog.chain.previousKeys[0]) after event 8 was signed with the newer key of id ${chainKeyId(
          KEY,
        )} (auditLog.chain.key): keys take over in the order of auditLog.chain.previousKeys, oldest first, then auditLog.chain.key, and never go back, so it was re-signed with a retired key, written by a replica still configured with it, or auditLog.chain.previousKeys is not listed oldest first`,
      );
    });

    it('finds an event a replica still configured with the old key appends after the rotation', async () => {
      const old = keyed(OLD_KEY);
      await old.append(events(1, 3));
      const rotated = keyed(KEY, [OLD_KEY]);
      await rotated.signChainHead();
      await old.append(events(5, 5));
      await rotated.append(events(6, 6));
      const result = await rotated.verify();
      expect(result).toMatchObject({ ok: false, failedSeq: 5, checked: 4 });
      expect(result.reason).toMatch(
        /^Event 5 is signed with the key of id \w+ \(auditLog\.chain\.previousKeys\[0\]\) after event 4 was signed with the newer key/,
      );
    });

    it('verifies a history of several rotations, each key taking over with its marker', async () => {
      const A = 'first-test-chain-key-1111111111-abcdefghijklmnopqrstu';
      await keyed(A).append(events(1, 3));
      const second = keyed(OLD_KEY, [A]);
      await expect(second.signChainHead()).resolves.toBe(true);
      await second.append(events(5, 6));
      // two replicas started with the third key together: both signed the marker
      await keyed(KEY, [A, OLD_KEY]).append([
        keyConfigured(KEY, [A, OLD_KEY]),
        keyConfigured(KEY, [A, OLD_KEY]),
      ]);
      await keyed(KEY, [A, OLD_KEY]).append(events(9, 10));
      const rows = await knex('audit_log_events').orderBy('seq');
      expect(rows.map(r => r.chain_key_id)).toEqual([
        ...new Array(3).fill(chainKeyId(A)),
        ...new Array(3).fill(chainKeyId(OLD_KEY)),
        ...new Array(4).fill(chainKeyId(KEY)),
      ]);
      for (const batch of [undefined, 1, 4]) {
        await expect(
          keyed(KEY, [A, OLD_KEY], batch).verify(),
        ).resolves.toMatchObject({ ok: true, keyed: true, checked: 10 });
      }
      // a key that never signed anything may be skipped
      await expect(
        keyed(KEY, [A, NEWER_KEY, OLD_KEY]).verify(),
      ).resolves.toMatchObject({ ok: true, keyed: true, checked: 10 });
      // the previous keys listed newest first: the order the chain shows contradicts them
      const reversed = await keyed(KEY, [OLD_KEY, A]).verify();
      expect(reversed).toMatchObject({ ok: false, failedSeq: 4, checked: 3 });
      expect(reversed.reason).toMatch(
        /^Event 4 is signed with the key of id \w+ \(auditLog\.chain\.previousKeys\[0\]\) after event 3 was signed with the newer key of id \w+ \(auditLog\.chain\.previousKeys\[1\]\).*or auditLog\.chain\.previousKeys is not listed oldest first$/,
      );
      // pruned past the older keys' events: the rest still verifies
      await knex('audit_log_events').where('seq', '<=', 6).delete();
      const seventh = await knex('audit_log_events').where({ seq: 7 }).first();
      await knex('audit_log_chain_head').where({ id: 1 }).update({
        checkpoint_seq: 6,
        checkpoint_hash: seventh.prev_hash,
        pruned_at: new Date().toISOString(),
      });
      await expect(keyed(KEY).verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: 4,
      });
    });

    it('requires the first event of a new key to be its chain-key-configured event', async () => {
      await keyed(OLD_KEY).append(events(1, 5));
      // a backend that appended with the new key without signing the head first
      await keyed(KEY, [OLD_KEY]).append(events(6, 8));
      const result = await keyed(KEY, [OLD_KEY], 3).verify();
      expect(result).toMatchObject({ ok: false, failedSeq: 6, checked: 5 });
      expect(result.reason).toMatch(
        /^Event 6, the first event signed with the key of id \w+ \(auditLog\.chain\.key\) after events signed with the key of id \w+ \(auditLog\.chain\.previousKeys\[0\]\), is not the audit-log \/ chain-key-configured event/,
      );
    });

    it('without a key: writes and verifies version 4 (unkeyed), reports keyed: false, and refuses keyed events', async () => {
      const store = new DatabaseAuditStore(knex, { verifyBatchSize: 4 });
      await store.append(events(1, 6));
      const rows = await knex('audit_log_events').orderBy('seq');
      expect(rows.map(r => Number(r.chain_version))).toEqual(
        new Array(6).fill(4),
      );
      expect(rows.every(r => r.chain_key_id === null)).toBe(true);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: false,
        checked: 6,
      });

      // events a keyed replica wrote cannot be checked without the key: not "valid"
      await keyed().append(events(7, 9));
      const result = await store.verify();
      expect(result).toMatchObject({ ok: false, keyed: false, failedSeq: 7 });
      expect(result.reason).toMatch(/signed with an unknown key/);
    });

    it('accepts unkeyed events before the first keyed one (the upgrade), not after it', async () => {
      const unkeyed = new DatabaseAuditStore(knex, { verifyBatchSize: 4 });
      await unkeyed.append(events(1, 5));
      const store = keyed(KEY, [], 4);
      // a key was configured but nothing has been signed with it yet
      const before = await store.verify();
      expect(before).toMatchObject({ ok: false, keyed: false, failedSeq: 5 });
      // what the plugin does when it starts with a key: sign the head first
      await expect(store.signChainHead()).resolves.toBe(true);
      await expect(store.signChainHead()).resolves.toBe(false);
      await store.append(events(7, 9));
      const marker = await knex('audit_log_events').where({ seq: 6 }).first();
      expect(marker).toMatchObject({
        plugin_id: 'audit-log',
        event_id: 'chain-key-configured',
        chain_version: 3,
        chain_key_id: chainKeyId(KEY),
      });
      // its meta names the key by its id (a hash prefix), not [REDACTED]
      expect(JSON.parse(marker.meta)).toEqual({
        keyId: chainKeyId(KEY),
        previousKeyIds: [],
        previousEvent: { chainVersion: expect.any(Number), keyId: null },
      });
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: 9,
      });
      // a replica without the key appends after a keyed one: fail-closed
      await unkeyed.append(events(10, 10));
      await store.append(events(11, 11));
      const downgraded = await store.verify();
      expect(downgraded).toMatchObject({
        ok: false,
        failedSeq: 10,
        checked: 9,
      });
      expect(downgraded.reason).toMatch(/unkeyed event after keyed events/);
    });

    it('finds keyed events rewritten in the unkeyed form even after the backend appends again', async () => {
      const unkeyed = new DatabaseAuditStore(knex, { verifyBatchSize: 4 });
      await unkeyed.append(events(1, 3));
      const store = keyed(KEY, [], 4);
      await store.signChainHead();
      await store.append(events(5, 10));
      // every keyed event rewritten unkeyed, then the backend appends as usual on top
      await rewriteTail(knex, 4, {}, asVersion2);
      await store.append(events(11, 12));
      const result = await store.verify();
      expect(result).toMatchObject({ ok: false, failedSeq: 11, checked: 10 });
      expect(result.reason).toMatch(
        /first keyed event after unkeyed ones, is not the audit-log \/ chain-key-configured event/,
      );
    });

    it('keeps a pruned keyed chain verifiable from its checkpoint', async () => {
      const store = keyed(KEY, [], 4);
      await store.append(events(1, 10));
      const pruned = await store.prune({
        before: new Date(event(7).occurredAt),
      });
      expect(pruned).toMatchObject({
        deleted: 6,
        checkpoint: { throughSeq: 6 },
      });
      await store.append(events(11, 12));
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: 6,
        firstSeq: 7,
      });
      // the kept tail rewritten unkeyed from its first event on
      await rewriteTail(knex, 7, { status: 'failed' }, asVersion2);
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 12,
        keyed: false,
      });
    });

    it('signs awkward values so that they verify, and finds any change of them', async () => {
      const awkward = [
        'quote " backslash \\ slash / colon : 3:abc',
        'line\nbreak\ttab\r\u0001\u001f\u007f \u2028 \u2029',
        'ünïcödé ✓ 😀 中文 e\u0301 \ufffd \u{10ffff}',
        '',
      ];
      const store = keyed(KEY, [], 2);
      await store.append(
        awkward.map((text, n) => ({
          ...event(n),
          actor: text || undefined,
          error: text,
          request: { path: text, userAgent: text },
          target: { entityRef: text, namespace: text },
          meta: { text, nested: { [text]: [text, 1.5, true, null] } },
        })),
      );
      // verify signs the text PostgreSQL builds: it must be the text signed at append
      const built: any[] =
        knex.client.config.client === 'pg'
          ? (
              await knex.raw(
                `SELECT *, ${postgresCanonicalTextV2()} AS text FROM audit_log_events ORDER BY seq`,
              )
            ).rows
          : [];
      expect(built.filter(row => row.text !== canonicalRowV2(row))).toEqual([]);
      await expect(store.verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        checked: awkward.length,
      });
      await knex('audit_log_events')
        .where({ seq: 3 })
        .update({ error: 'ünïcödé ✓ 😀 中文 e\u0301 \ufffd' });
      await expect(store.verify()).resolves.toMatchObject({
        ok: false,
        failedSeq: 3,
        checked: 2,
      });
    });

    it('never stores the key or sends it to the database', async () => {
      const sent: string[] = [];
      const record = (query: { sql: string; bindings?: unknown[] }) => {
        sent.push(query.sql, JSON.stringify(query.bindings ?? []));
      };
      knex.on('query', record);
      try {
        const store = keyed(KEY, [OLD_KEY]);
        await store.append(events(1, 30));
        await store.verify();
        await store.query({ limit: 10 });
      } finally {
        knex.removeListener('query', record);
      }
      const dump = JSON.stringify([
        await knex('audit_log_events').select(),
        await knex('audit_log_chain_head').select(),
      ]);
      for (const secret of [KEY, OLD_KEY]) {
        expect(dump).not.toContain(secret);
        expect(sent.join('\n')).not.toContain(secret);
      }
      expect(dump).toContain(chainKeyId(KEY));
    });
  },
);
