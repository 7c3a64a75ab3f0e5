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
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
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
const A = 'component:default/a';
/** What each user may read (IS_ENTITY_OWNER as the policy decides it); changed by the tests. */
const OWNS: Record<string, string[]> = { [ALICE]: [A], [BOB]: [] };
/** Set: the next authorizeConditional waits on it (a slow permission backend / catalog). */
let hold: { entered: () => void; release: Promise<void> } | undefined;

const ownersOnly = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const user = (c?: BackstageCredentials) =>
      (c?.principal as any)?.userEntityRef as string | undefined;
    return {
      async authorizeConditional(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const h = hold;
        if (h) {
          hold = undefined;
          h.entered();
          await h.release;
        }
        return requests.map(() => ({
          result: AuthorizeResult.CONDITIONAL,
          pluginId: 'catalog',
          resourceType: 'catalog-entity',
          conditions: {
            rule: 'IS_ENTITY_OWNER',
            resourceType: 'catalog-entity',
            params: { claims: [user(options?.credentials)] },
          },
        }));
      },
      async authorize(
        requests: any[],
        options?: { credentials: BackstageCredentials },
      ) {
        const u = user(options?.credentials);
        return requests.map(r => ({
          result:
            !r.resourceRef || (u && OWNS[u]?.includes(r.resourceRef))
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
        }));
      },
    } as any;
  },
});

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * `GET /runs/:id/events?follow=true` streams until its run ends, which a run awaiting approval may
 * not do for days: it checks read access again while it streams, lives at most
 * `kubechart.limits.followStreamMaxSeconds`, and gives back its slot however the client leaves.
 */
describe('run event streams', () => {
  let sim: KubeSim;
  let knex: Knex;
  let server: any;
  let stop: () => Promise<void>;
  let store: DatabaseRunStore;

  beforeAll(async () => {
    sim = await startSim();
    knex = await databases.init('SQLITE_3');
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        limits: {
          runsPerUserPerMinute: 100,
          runsPerUserAtOnce: 100,
          maxTenants: 20,
          followStreamsPerCaller: 1,
          followStreamMaxSeconds: 8,
        },
      }),
      knex,
      features: [
        ownersOnly,
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'a', namespace: 'default' },
              spec: { type: 'service', lifecycle: 'production', owner: ALICE },
            },
          ],
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
    store = await DatabaseRunStore.create({
      database: mockServices.database.mock({ getClient: async () => knex }),
    });
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  /** A run of entity A (owned by alice when it was made), still running. */
  const runningRun = async () => {
    const run = await store.createRun(
      {
        id: randomUUID(),
        kind: 'custom',
        status: 'running',
        actor: 'user:default/carol',
        entityRef: A,
        entityOwner: ALICE,
        target: { cluster: 'dev', namespace: `ns-${randomUUID().slice(0, 8)}` },
        input: {},
      },
      [],
    );
    return run.id;
  };
  const log = (id: string, message: string) =>
    store.appendEvents(id, [{ type: 'log', level: 'info', message }]);

  /** Opens a follow stream as `who`; lines go to `lines`. */
  const follow = (who: string, id: string, lines: any[]) => {
    const { port } = server.address();
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
    return { req, status: () => status, ended: () => ended };
  };
  const until = async (check: () => boolean, ms = 10_000) => {
    for (let t = 0; t < ms && !check(); t += 50)
      await new Promise(r => setTimeout(r, 50));
  };
  const messages = (lines: any[]) =>
    lines.filter(l => l.type === 'event').map(l => l.event.message);

  it("stops streaming a run's events to a caller who may no longer read the run", async () => {
    const id = await runningRun();
    await log(id, 'before the handover');
    const lines: any[] = [];
    const stream = follow(ALICE, id, lines);
    await until(() => messages(lines).includes('before the handover'));
    expect(messages(lines)).toEqual(['before the handover']);

    // Entity A is handed to bob's team (or alice leaves it): alice may no longer read its runs.
    OWNS[ALICE] = [];
    OWNS[BOB] = [A];
    const plain = await request(server)
      .get(`/api/kubechart/runs/${id}/events`)
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(plain.status).toBe(404); // every other read refuses her now

    await log(id, 'after the handover: db password rotated for team B');
    await until(() => stream.ended(), 5000);
    const ended = stream.ended();
    stream.req.destroy();
    OWNS[ALICE] = [A];
    OWNS[BOB] = [];
    expect(messages(lines)).not.toContain(
      'after the handover: db password rotated for team B',
    );
    // The stream ends, saying why, well before its lifetime is up.
    expect(ended).toBe(true);
    expect(lines[lines.length - 1]).toEqual({
      type: 'end',
      reason: 'forbidden',
    });
  });

  it('ends a stream when its lifetime is up, telling the client where to read on', async () => {
    const id = await runningRun();
    await log(id, 'first');
    const lines: any[] = [];
    const started = Date.now();
    const stream = follow(ALICE, id, lines);
    await until(() => messages(lines).includes('first'));
    await log(id, 'second');
    await until(() => stream.ended(), 15_000);
    const ended = stream.ended();
    const lived = Date.now() - started;
    stream.req.destroy();
    expect(ended).toBe(true);
    expect(lived).toBeGreaterThanOrEqual(7000);
    expect(messages(lines)).toEqual(['first', 'second']);
    const seq = lines.filter(l => l.type === 'event').pop().event.seq;
    expect(lines[lines.length - 1]).toEqual({ type: 'reconnect', after: seq });
    // The client reconnects where it left off; the slot of the stream that ended is free.
    await log(id, 'third');
    const more: any[] = [];
    const { port } = server.address();
    const again = http.get(
      `http://127.0.0.1:${port}/api/kubechart/runs/${id}/events?follow=true&after=${seq}`,
      { headers: { Authorization: mockCredentials.user.header(ALICE) } },
      res => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) =>
          chunk
            .split('\n')
            .filter(Boolean)
            .forEach(l => more.push(JSON.parse(l))),
        );
      },
    );
    again.on('error', () => {});
    await until(() => messages(more).includes('third'));
    again.destroy();
    expect(messages(more)).toEqual(['third']);
  });

  it('gives back the stream slot, and stops polling, when the client left during the checks before the stream', async () => {
    const id = await runningRun();
    // Alice's slot is free to begin with: a stream opened and closed normally gives it back.
    const normal = follow(ALICE, id, []);
    await until(() => normal.status() !== 0);
    expect(normal.status()).toBe(200);
    normal.req.destroy();
    await new Promise(r => setTimeout(r, 700));
    // The permission check before the stream is slow (permission backend, catalog).
    let entered = () => {};
    const inCheck = new Promise<void>(r => (entered = r));
    let release = () => {};
    hold = { entered, release: new Promise<void>(r => (release = r)) };
    const first = follow(ALICE, id, []);
    await inCheck;
    // The user closes the tab / the CLI is interrupted while the check is under way.
    first.req.destroy();
    await new Promise(r => setTimeout(r, 200));
    release();
    await new Promise(r => setTimeout(r, 500));

    // The abandoned stream still polls the database for the run, every 500 ms, until the run ends.
    let runReads = 0;
    const onQuery = (q: { sql?: string }) => {
      if (/from\s+["`]?kubechart_run_events/i.test(q.sql ?? '')) runReads++;
    };
    knex.on('query', onQuery);
    await new Promise(r => setTimeout(r, 2000));
    knex.off('query', onQuery);

    // alice's one stream slot (followStreamsPerCaller: 1) must be free again.
    const lines: any[] = [];
    const second = follow(ALICE, id, lines);
    await until(() => second.status() !== 0);
    const status = second.status();
    second.req.destroy();
    expect({ status, abandonedStreamPolls: runReads }).toEqual({
      status: 200,
      abandonedStreamPolls: 0,
    });
  });
});
