import {
  coreServices,
  createServiceFactory,
  RootLoggerService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import { Knex } from 'knex';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { chainKeyId } from './database/chainKeys';
import { auditLogPlugin } from './plugin';

jest.setTimeout(60_000);

const KEY = 'plugin-test-chain-key-0123456789-abcdefghijklmnop';
const admin = mockCredentials.user.header('user:default/admin');

/** A root logger that keeps every message and its fields. */
function recordingLogger(lines: string[]) {
  const logger: RootLoggerService = {
    error: (message, meta) =>
      void lines.push(message, JSON.stringify(meta ?? {})),
    warn: (message, meta) =>
      void lines.push(message, JSON.stringify(meta ?? {})),
    info: (message, meta) =>
      void lines.push(message, JSON.stringify(meta ?? {})),
    debug: (message, meta) =>
      void lines.push(message, JSON.stringify(meta ?? {})),
    child: () => logger,
  };
  return createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () => logger,
  });
}

async function start(
  knex: Knex,
  auditLog: object,
  logs: string[],
  extraFeatures: Parameters<typeof startTestBackend>[0]['features'] = [],
) {
  return startTestBackend({
    features: [
      ...(extraFeatures ?? []),
      auditLogPlugin,
      auditLogAuditorServiceFactory,
      mockServices.permissions.factory(),
      mockServices.database.factory({ knex }),
      recordingLogger(logs),
      mockServices.rootConfig.factory({
        data: { auditLog: { queue: { flushIntervalMs: 5 }, ...auditLog } },
      }),
    ],
  });
}

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('auditLogPlugin with auditLog.chain.key', () => {
  it('signs the chain, reports it keyed, and never shows the key', async () => {
    const knex = await databases.init('SQLITE_3');
    const logs: string[] = [];
    const backend = await start(knex, { chain: { key: KEY } }, logs);
    try {
      // the backend signed the chain head when it started
      const [marker] = await knex('audit_log_events').orderBy('seq');
      expect(marker).toMatchObject({
        plugin_id: 'audit-log',
        event_id: 'chain-key-configured',
        chain_version: 3,
        chain_key_id: chainKeyId(KEY),
      });
      const verify = await request(backend.server)
        .get('/api/audit-log/verify')
        .set('Authorization', admin)
        .expect(200);
      expect(verify.body).toMatchObject({ ok: true, keyed: true });
      const events = await request(backend.server)
        .get('/api/audit-log/events')
        .set('Authorization', admin)
        .expect(200);
      const exported = await request(backend.server)
        .get('/api/audit-log/export?format=csv')
        .set('Authorization', admin)
        .expect(200);

      const dump = JSON.stringify([
        await knex('audit_log_events').select(),
        await knex('audit_log_chain_head').select(),
      ]);
      for (const text of [
        dump,
        logs.join('\n'),
        JSON.stringify(verify.body),
        JSON.stringify(events.body),
        exported.text,
      ]) {
        expect(text).not.toContain(KEY);
      }
      expect(logs.join('\n')).toContain(chainKeyId(KEY));
      expect(logs.join('\n')).not.toMatch(/chain is unkeyed|not set/);
    } finally {
      await backend.stop();
    }
  });

  it('warns once that the chain is not keyed when no key is set, and reports keyed: false', async () => {
    const knex = await databases.init('SQLITE_3');
    const logs: string[] = [];
    const backend = await start(knex, {}, logs);
    try {
      expect(
        logs.filter(line => line.includes('auditLog.chain.key is not set')),
      ).toHaveLength(1);
      await expect(
        knex('audit_log_events').count({ n: '*' }).first(),
      ).resolves.toEqual({ n: 0 });
      const verify = await request(backend.server)
        .get('/api/audit-log/verify')
        .set('Authorization', admin)
        .expect(200);
      expect(verify.body).toMatchObject({ ok: true, keyed: false });
    } finally {
      await backend.stop();
    }
  });

  it('refuses to start with a key shorter than 32 characters, without printing it', async () => {
    const knex = await databases.init('SQLITE_3');
    const short = 'too-short-chain-key';
    const logs: string[] = [];
    let message = '';
    try {
      const backend = await start(knex, { chain: { key: short } }, logs);
      await backend.stop();
    } catch (error) {
      message = String((error as Error)?.stack ?? error);
    }
    expect(message).toMatch(
      /auditLog\.chain\.key must be at least 32 characters/,
    );
    expect(message).not.toContain(short);
    expect(logs.join('\n')).not.toContain(short);
  });

  it('publishes a head anchor to the witness file and fails verify once the tail is cut below it', async () => {
    const knex = await databases.init('SQLITE_3');
    const file = join(
      await mkdtemp(join(tmpdir(), 'audit-plugin-anchor-')),
      'witness.jsonl',
    );
    const logs: string[] = [];
    const backend = await start(
      knex,
      { chain: { key: KEY }, retention: { checkpoint: { file } } },
      logs,
      // runs the anchor task (first run one minute after start-up) at start-up
      [
        mockServices.scheduler.factory({
          includeInitialDelayedTasksOnStartup: true,
        }),
      ],
    );
    try {
      const [anchor] = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map(line => JSON.parse(line));
      // the chain-key-configured event the backend signed at start-up
      expect(anchor).toMatchObject({ type: 'audit-log-anchor', seq: 1 });
      const verify = async () =>
        (
          await request(backend.server)
            .get('/api/audit-log/verify')
            .set('Authorization', admin)
            .expect(200)
        ).body;
      await expect(verify()).resolves.toMatchObject({
        ok: true,
        keyed: true,
        anchor: { seq: 1, at: anchor.at },
      });
      // the verify request's own audit events are appended in the background: let them land first,
      // so that no append is under way while the tail is cut
      let stored = -1;
      for (let i = 0; i < 100; i++) {
        await new Promise(r => setTimeout(r, 100));
        const [{ n }] = await knex('audit_log_events').count({ n: '*' });
        if (Number(n) === stored) break;
        stored = Number(n);
      }
      // a database writer deletes every event and resets the head
      await knex('audit_log_events').delete();
      await knex('audit_log_chain_head')
        .where({ id: 1 })
        .update({ last_seq: 0, last_hash: '0'.repeat(64) });
      const failed = await verify();
      expect(failed).toMatchObject({
        ok: false,
        failedSeq: 1,
        anchor: { seq: 1, at: anchor.at },
      });
      // the chain ends at 0, or the audit events of the verify requests have been appended
      // since, as a new event 1
      expect(failed.reason).toMatch(
        /^(The chain ends at 0 but an anchor published at .* recorded event 1 with hash|Event 1 has another hash than an anchor published at)/,
      );
    } finally {
      await backend.stop();
    }
  });
});
