import {
  BackstageCredentials,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const CAROL = 'user:default/carol';
/** Users who may no longer read runs; changed by the tests. */
const denied = new Set<string>();
/** Set: the permission backend cannot be reached. */
let failing = false;

const readers = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = async (
      requests: unknown[],
      options?: { credentials: BackstageCredentials },
    ) => {
      if (failing) throw new Error('permission backend unavailable');
      const user = (options?.credentials?.principal as any)?.userEntityRef;
      return requests.map(() => ({
        result: denied.has(user) ? AuthorizeResult.DENY : AuthorizeResult.ALLOW,
      }));
    };
    return { authorize: decide, authorizeConditional: decide } as any;
  },
});

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * Each open run event stream (`GET /runs/:id/events?follow=true`) polls the database until its run
 * ends: besides the streams one caller may hold, a backend holds at most
 * `kubechart.limits.maxOpenStreams` of them, however many callers (or tokens) ask, refusing more
 * with 503 and `Retry-After`; a stream gives its slot back however it ends.
 */
describe('the most run event streams a backend holds open', () => {
  let sim: KubeSim;
  let knex: Knex;
  let server: any;
  let stop: () => Promise<void>;
  let store: DatabaseRunStore;

  const start = async (limits: Record<string, number>) => {
    knex = await databases.init('SQLITE_3');
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        limits: {
          runsPerUserPerMinute: 100,
          runsPerUserAtOnce: 100,
          followStreamsPerCaller: 10,
          ...limits,
        },
      }),
      knex,
      features: [readers],
    });
    server = backend.server;
    stop = () => backend.stop();
    store = await DatabaseRunStore.create({
      database: mockServices.database.mock({ getClient: async () => knex }),
    });
  };

  beforeAll(async () => {
    sim = await startSim();
  });
  /** Every stream a test opened: closed after it, whatever it asserted. */
  const opened: http.ClientRequest[] = [];
  afterEach(async () => {
    opened.splice(0).forEach(req => req.destroy());
    denied.clear();
    failing = false;
    await stop?.();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  /** A run, still running. */
  const runningRun = async () => {
    const run = await store.createRun(
      {
        id: randomUUID(),
        kind: 'custom',
        status: 'running',
        actor: ALICE,
        target: { cluster: 'dev', namespace: `ns-${randomUUID().slice(0, 8)}` },
        input: {},
      },
      [],
    );
    return run.id;
  };
  const log = (id: string, message: string) =>
    store.appendEvents(id, [{ type: 'log', level: 'info', message }]);

  /** Opens a follow stream as `who`; its lines are kept. */
  const follow = (who: string, id: string) => {
    const { port } = server.address();
    const lines: any[] = [];
    let status = 0;
    let ended = false;
    const req = http.get(
      `http://127.0.0.1:${port}/api/kubechart/runs/${id}/events?follow=true`,
      { headers: { Authorization: mockCredentials.user.header(who) } },
      res => {
        status = res.statusCode ?? 0;
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const parts = (pending + chunk).split('\n');
          pending = parts.pop()!;
          for (const l of parts) if (l) lines.push(JSON.parse(l));
        });
        res.on('end', () => (ended = true));
      },
    );
    req.on('error', () => {});
    opened.push(req);
    return { req, lines, status: () => status, ended: () => ended };
  };
  const until = async (check: () => boolean, ms = 10_000) => {
    for (let t = 0; t < ms && !check(); t += 50)
      await new Promise(r => setTimeout(r, 50));
  };
  /** A stream `who` opens once the backend has a slot for it (the client's `Retry-After`, shortened). */
  const followWhenFree = async (who: string, id: string) => {
    for (let i = 0; i < 100; i++) {
      const stream = follow(who, id);
      await until(() => stream.status() !== 0);
      if (stream.status() !== 503) return stream;
      stream.req.destroy();
      await new Promise(r => setTimeout(r, 100));
    }
    return undefined;
  };
  /** The answer to `who`'s request for a stream: its status, headers and body (a stream is closed at once). */
  const answer = (who: string, id: string) =>
    new Promise<{
      status: number;
      headers: http.IncomingHttpHeaders;
      body: any;
    }>((resolve, reject) => {
      const { port } = server.address();
      const req = http.get(
        `http://127.0.0.1:${port}/api/kubechart/runs/${id}/events?follow=true`,
        { headers: { Authorization: mockCredentials.user.header(who) } },
        res => {
          const status = res.statusCode ?? 0;
          if (status === 200) {
            req.destroy();
            resolve({ status, headers: res.headers, body: undefined });
            return;
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({ status, headers: res.headers, body: JSON.parse(text) }),
          );
        },
      );
      req.on('error', reject);
      opened.push(req);
    });

  it('refuses a stream beyond the cap with 503, saying why and when to ask again, whoever asks', async () => {
    await start({ maxOpenStreams: 2 });
    const id = await runningRun();
    const alice = follow(ALICE, id);
    const bob = follow(BOB, id);
    await until(() => alice.status() !== 0 && bob.status() !== 0);
    expect([alice.status(), bob.status()]).toEqual([200, 200]);

    // A third user, well within the streams one caller may hold.
    const refused = await answer(CAROL, id);
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toContain(
      'kubechart.limits.maxOpenStreams',
    );
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // One caller with many tokens is refused too.
    expect((await answer(ALICE, id)).status).toBe(503);
    // The run's events stay readable a page at a time.
    const page = await request(server)
      .get(`/api/kubechart/runs/${id}/events`)
      .set('Authorization', mockCredentials.user.header(CAROL));
    expect(page.status).toBe(200);

    // Bob leaves: his slot is carol's.
    bob.req.destroy();
    const carol = await followWhenFree(CAROL, id);
    alice.req.destroy();
    carol?.req.destroy();
    expect(carol?.status()).toBe(200);
  });

  it('gives the slot back when a stream ends: its run ended, read access withdrawn or not checked', async () => {
    await start({ maxOpenStreams: 1 });
    const ends = async (
      cause: (id: string) => Promise<void>,
    ): Promise<unknown> => {
      const id = await runningRun();
      const stream = await followWhenFree(ALICE, id);
      expect(stream?.status()).toBe(200);
      await cause(id);
      await until(() => stream!.ended());
      stream!.req.destroy();
      denied.clear();
      failing = false;
      return stream!.lines[stream!.lines.length - 1];
    };

    expect(
      await ends(id => store.finishRun(id, 'succeeded').then(() => {})),
    ).toEqual(expect.objectContaining({ type: 'end', status: 'succeeded' }));
    expect(
      await ends(async id => {
        denied.add(ALICE);
        await log(id, 'after access was withdrawn');
      }),
    ).toEqual({ type: 'end', reason: 'forbidden' });
    expect(
      await ends(async id => {
        failing = true;
        await log(id, 'while the permission backend is down');
      }),
    ).toEqual(expect.objectContaining({ type: 'reconnect' }));

    // The one slot is free again.
    const id = await runningRun();
    const last = follow(BOB, id);
    await until(() => last.status() !== 0);
    last.req.destroy();
    expect(last.status()).toBe(200);
  });

  it('gives the slot back when a stream’s lifetime is up', async () => {
    await start({ maxOpenStreams: 1, followStreamMaxSeconds: 1 });
    const id = await runningRun();
    const first = follow(ALICE, id);
    await until(() => first.ended());
    first.req.destroy();
    expect(first.lines[first.lines.length - 1]).toEqual({
      type: 'reconnect',
      after: 0,
    });
    const again = follow(BOB, id);
    await until(() => again.status() !== 0);
    again.req.destroy();
    expect(again.status()).toBe(200);
  });
});
