/*
 * Two real backends (two startTestBackend instances with the kubechart plugin) on one PostgreSQL
 * database and one kube-sim, as two replicas of a Backstage deployment. Backend A is frozen mid-run
 * (its database connection stops passing bytes while its helm process is in flight); backend B's
 * scheduled recovery takes the run over. One run wins, nothing is applied twice, final states are true.
 */
import {
  SchedulerService,
  ServiceFactory,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { ConfigReader } from '@backstage/config';
import knexFactory, { Knex } from 'knex';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import { helmWrapper, isAlive, until } from '../__testUtils__/replicas';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });
const RECOVERY_TASK = 'kubechart-recover-stale-runs';

/** The mock scheduler as it is at run time (`mockServices.scheduler()` is typed as the plain service). */
type ManualScheduler = SchedulerService & {
  factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
};

/**
 * A TCP relay in front of PostgreSQL whose traffic can be frozen: bytes stop flowing both ways (the
 * connections stay open), as for a backend whose process or network stalls.
 */
async function freezableRelay(target: { host: string; port: number }) {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer(client => {
    const upstream = net.connect(target.port, target.host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(from);
      from.on('data', d => to.write(d));
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
      if (frozen) from.pause();
    }
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      frozen = true;
      sockets.forEach(s => s.pause());
    },
    thaw() {
      frozen = false;
      sockets.forEach(s => s.resume());
    },
    close: () =>
      new Promise<void>(r => {
        sockets.forEach(s => s.destroy());
        server.close(() => r());
      }),
  };
}

describe.each(databases.eachSupportedId())(
  'two backends on one %p database',
  databaseId => {
    let sim: KubeSim;
    let dir: string;
    const cleanups: Array<() => Promise<unknown> | unknown> = [];
    beforeAll(async () => {
      sim = await startSim();
      dir = mkdtempSync(path.join(tmpdir(), 'kubechart-two-replicas-'));
    });
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
      await sim?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** One replica: the kubechart plugin with its own connection pool, helm binary and scheduler. */
    async function startReplica(name: string, knex: Knex, helm: string) {
      const data = testConfig(sim, {
        health: { startOnBoot: false },
        recovery: {
          staleAfterSeconds: 2,
          heartbeatSeconds: 0.2,
          releaseLocksAfterSeconds: 600,
        },
      });
      data.kubechart.helm.binary = helm;
      const scheduler = mockServices.scheduler() as ManualScheduler;
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data }),
          mockServices.database.factory({ knex }),
          // Scheduled work runs when the test fires it, as the scheduler would on this replica.
          scheduler.factory({ skipTaskRunOnStartup: true }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => undefined }),
          }),
        ],
      });
      cleanups.push(() => backend.stop());
      const api = (p: string) => `/api/kubechart${p}`;
      return {
        name,
        get: (p: string) => request(backend.server).get(api(p)),
        post: (p: string, body: object) =>
          request(backend.server).post(api(p)).send(body),
        recover: () => scheduler.triggerTask(RECOVERY_TASK),
      };
    }

    const tenant = (tag: string) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'fence',
      releases: [
        {
          name: 'shop',
          chart: 'webapp',
          values: { replicas: 1, image: { tag } },
        },
      ],
    });

    it('a frozen replica loses its run to the other; one run wins, nothing is applied twice', async () => {
      const knexB = await databases.init(databaseId);
      const config = knexB.client.config;
      const relay = await freezableRelay({
        host: config.connection.host,
        port: Number(config.connection.port ?? 5432),
      });
      cleanups.push(() => relay.close());
      // Replica A reaches the same database through the relay; B directly.
      const knexA = knexFactory({
        ...config,
        connection: {
          ...config.connection,
          host: '127.0.0.1',
          port: relay.port,
        },
      });
      cleanups.push(() => knexA.destroy());
      const gate = path.join(dir, 'gate');
      cleanups.push(() => existsSync(gate) || writeFileSync(gate, ''));
      const helmA = helmWrapper(dir, 'a', gate);
      const helmB = helmWrapper(dir, 'b');
      const a = await startReplica('a', knexA, helmA.binary);
      const b = await startReplica('b', knexB, helmB.binary);

      const first = await a.post('/runs', tenant('1.0.0'));
      expect(first.status).toBe(202);
      const started = await until('helm upgrade on replica A', () =>
        helmA.log().find(l => l.startsWith('start')),
      );
      const helmPid = Number(started.split(' ')[1]);
      const executor = (
        await knexB('kubechart_runs').where({ id: first.body.id }).first()
      ).owner;

      // Freeze A mid-run: its heartbeats stall while its helm process is in flight.
      relay.freeze();
      const frozenAt = Date.now();
      let helmGoneAt: number | undefined;
      let reconciledAt: number | undefined;
      await until('replica B to reconcile the run', async () => {
        if (!helmGoneAt && !isAlive(helmPid)) helmGoneAt = Date.now();
        await b.recover();
        const run = (await b.get(`/runs/${first.body.id}`)).body;
        if (run.status === 'failed') reconciledAt = Date.now();
        return reconciledAt;
      });
      // A stopped its own helm (its lease could not be renewed) before B took the run over.
      expect(helmGoneAt).toBeDefined();
      expect(helmGoneAt!).toBeLessThan(reconciledAt!);
      expect(reconciledAt! - frozenAt).toBeGreaterThanOrEqual(1500);
      const reconciled = (await b.get(`/runs/${first.body.id}`)).body;
      expect(reconciled.failureReason).toMatch(
        new RegExp(
          `^heartbeat lost: backend instance ${executor} last recorded a heartbeat at \\S+Z, \\d+s before this check \\(stale after 2s\\); lease taken over by backend instance [0-9a-f-]{36}; the cluster shows: `,
        ),
      );
      expect(reconciled.failureReason).not.toContain(
        `taken over by backend instance ${executor}`,
      );

      // A may still hold a process on the tenant: B starts nothing there meanwhile.
      const refused = await b.post('/runs', tenant('2.0.0'));
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toMatch(
        new RegExp(`^Run ${first.body.id} .*may still be executing it`),
      );

      // A thaws: it learns it lost the lease, records nothing, and releases its locks.
      relay.thaw();
      const second = await until('the tenant to be free on B', async () => {
        const r = await b.post('/runs', tenant('2.0.0'));
        return r.status === 202 ? r : undefined;
      });
      const won = await until('the second run to finish', async () => {
        const r = (await b.get(`/runs/${second.body.id}`)).body;
        return r.status === 'succeeded' || r.status === 'failed'
          ? r
          : undefined;
      });
      writeFileSync(gate, '');
      await new Promise(r => setTimeout(r, 500));

      expect({ status: won.status, reason: won.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // Both replicas read the same, true history.
      for (const replica of [a, b]) {
        const lost = (await replica.get(`/runs/${first.body.id}`)).body;
        expect({
          status: lost.status,
          reason: lost.failureReason,
          transitions: lost.transitions.map((t: any) => t.status),
        }).toEqual({
          status: 'failed',
          reason: reconciled.failureReason,
          transitions: ['pending', 'running', 'failed'],
        });
        expect((await replica.get('/tenants/fence')).body).toMatchObject({
          status: 'active',
          lastRunId: second.body.id,
        });
      }
      // Zero double applies, counted where they land: one helm release revision and one
      // Deployment generation in kube-sim, from B; A's upgrade never reached helm.
      expect({
        a: helmA.log().map(l => l.split(' ')[0]),
        b: helmB.log().map(l => l.split(' ')[0]),
      }).toEqual({ a: ['start'], b: ['start', 'apply'] });
      const kc = ClusterRegistry.fromConfig(
        new ConfigReader(testConfig(sim)),
      ).kubeConfig('dev');
      const releases = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({
        namespace: 'tenant-fence',
        labelSelector: 'owner=helm,name=shop',
      });
      expect(
        releases.items.map(s => [
          s.metadata?.labels?.version,
          s.metadata?.labels?.status,
        ]),
      ).toEqual([['1', 'deployed']]);
      const deployment = await kc
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: 'shop', namespace: 'tenant-fence' });
      expect({
        generation: deployment.metadata?.generation,
        image: deployment.spec?.template.spec?.containers[0].image,
        ready: deployment.status?.readyReplicas,
      }).toEqual({
        generation: 1,
        image: expect.stringMatching(/:2\.0\.0$/),
        ready: 1,
      });
    });
  },
);
