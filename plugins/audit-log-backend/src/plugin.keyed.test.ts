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

async function start(knex: Knex, auditLog: object, logs: string[]) {
  return startTestBackend({
    features: [
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
});
