import {
  TestDatabaseId,
  TestDatabases,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { ConflictError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
} from '@kubechart/plugin-kubechart-node';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import knexFactory, { Knex } from 'knex';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { RunStore } from '../database/RunStore';
import { startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { helmWrapper, isAlive, until } from '../__testUtils__/replicas';
import { readEngineSettings } from './settings';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** A store whose database connection can be cut (every call fails as with a refused connection). */
function partitionable(store: RunStore) {
  let down = false;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        down
          ? Promise.reject(
              new Error(
                'connect ECONNREFUSED 127.0.0.1:5432 (network partition)',
              ),
            )
          : value.apply(target, args);
    },
  });
  return {
    store: proxy,
    partition: () => (down = true),
    heal: () => (down = false),
  };
}

describe.each(databases.eachSupportedId())(
  'two engine instances on one %p database (fine-grained fencing; two full backends: twoReplicas.test.ts)',
  databaseId => {
    let sim: KubeSim;
    let dir: string;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(async () => {
      await sim.stop();
    });
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'kubechart-two-backends-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** Two engines (A and B) with their own connection pools (PostgreSQL) on one database. */
    async function twoBackends(
      id: TestDatabaseId,
      a: { helm: string; recovery: Record<string, number> },
      b: { helm: string },
    ) {
      const knexA = await databases.init(id);
      // SQLite in memory lives in one connection: the two instances share it.
      const knexB: Knex = id.startsWith('POSTGRES')
        ? knexFactory(knexA.client.config)
        : knexA;
      const storeA = await DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knexA }),
      });
      const storeB = new DatabaseRunStore(knexB);
      const linkA = partitionable(storeA);
      const engine = (
        name: string,
        store: RunStore,
        helm: string,
        recovery: Record<string, number>,
      ) => {
        const data = testConfig(sim, {
          recovery: {
            staleAfterSeconds: 2,
            heartbeatSeconds: 0.2,
            releaseLocksAfterSeconds: 600,
            ...recovery,
          },
        });
        data.kubechart.helm.binary = helm;
        const config = new ConfigReader(data);
        return new RunEngine({
          store,
          clusters: ClusterRegistry.fromConfig(config),
          helm: HelmCli.fromConfig(config),
          policy: PolicyEngine.fromConfig(config),
          logger: mockServices.logger.mock(),
          settings: readEngineSettings(config),
          instanceId: name,
        });
      };
      return {
        engineA: engine('backend-a', linkA.store, a.helm, a.recovery),
        engineB: engine('backend-b', storeB, b.helm, {}),
        store: storeB,
        linkA,
        clusters: ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim))),
        close: async () => {
          if (knexB !== knexA) await knexB.destroy();
        },
      };
    }

    const tenant = (code: string, tag: string) => ({
      kind: 'tenant' as const,
      cluster: 'dev',
      tenant: code,
      releases: [
        {
          name: 'shop',
          chart: 'webapp',
          values: { replicas: 1, image: { tag } },
        },
      ],
    });

    const helmRevisions = async (
      clusters: ClusterRegistry,
      namespace: string,
    ) =>
      (
        await clusters
          .kubeConfig('dev')
          .makeApiClient(CoreV1Api)
          .listNamespacedSecret({
            namespace,
            labelSelector: 'owner=helm,name=shop',
          })
      ).items
        .map(s => s.metadata!.labels!.version)
        .sort();

    it('a backend cut off from the database mid-run stops its helm process before the other reconciles the run; one run wins', async () => {
      const gate = path.join(dir, 'gate');
      const helmA = helmWrapper(dir, 'a', gate);
      const helmB = helmWrapper(dir, 'b');
      const t = await twoBackends(
        databaseId,
        { helm: helmA.binary, recovery: {} },
        { helm: helmB.binary },
      );
      try {
        const first = await t.engineA.submit(
          tenant('fence', '1.0.0'),
          'user:default/alice',
        );
        const started = await until('helm upgrade on backend A', () =>
          helmA.log().find(l => l.startsWith('start')),
        );
        const pid = Number(started.split(' ')[1]);

        // Backend A loses its database: its heartbeats fail while helm is held at the gate.
        t.linkA.partition();
        const cutAt = Date.now();
        let helmGoneAt: number | undefined;
        let reconciledAt: number | undefined;
        await until('backend B to reconcile the run', async () => {
          if (!helmGoneAt && !isAlive(pid)) helmGoneAt = Date.now();
          if ((await t.engineB.recoverStaleRuns()) > 0)
            reconciledAt = Date.now();
          return reconciledAt;
        });
        // A stopped its own helm (lease lost after half the stale period) before B could reconcile.
        expect(helmGoneAt).toBeDefined();
        expect(helmGoneAt!).toBeLessThan(reconciledAt!);
        expect(reconciledAt! - cutAt).toBeGreaterThanOrEqual(1500);

        const reconciled = (await t.store.getRun(first.id))!;
        expect(reconciled.status).toBe('failed');
        expect(reconciled.failureReason).toMatch(
          /^heartbeat lost: backend instance backend-a last recorded a heartbeat at \S+Z, \d+s before this check \(stale after 2s\); lease taken over by backend instance backend-b; /,
        );

        // A may still be alive, unable to say it stopped: nothing else starts on the tenant meanwhile.
        const refused = await t.engineB
          .submit(tenant('fence', '2.0.0'), 'user:default/alice')
          .catch(e => e);
        expect(refused).toBeInstanceOf(ConflictError);
        expect(refused.message).toContain(`Run ${first.id}`);
        expect(refused.message).toMatch(/may still be executing it/);

        // A reaches the database again: it learns the run was reconciled and releases its locks.
        t.linkA.heal();
        await t.engineA.waitFor(first.id);
        const second = await until('the tenant to be free', () =>
          t.engineB
            .submit(tenant('fence', '2.0.0'), 'user:default/alice')
            .catch(e => {
              if (e instanceof ConflictError) return undefined;
              throw e;
            }),
        );
        await t.engineB.waitFor(second.id);
        writeFileSync(gate, '');
        await sleep(300);

        const won = (await t.store.getRun(second.id))!;
        expect({ status: won.status, reason: won.failureReason }).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        const lost = (await t.store.getRun(first.id))!;
        expect({
          status: lost.status,
          reason: lost.failureReason,
          transitions: lost.transitions.map(x => x.status),
        }).toEqual({
          status: 'failed',
          reason: reconciled.failureReason,
          transitions: ['pending', 'running', 'failed'],
        });
        // Zero double applies: A's upgrade never reached helm; B applied once.
        expect({
          a: helmA.log().map(l => l.split(' ')[0]),
          b: helmB.log().map(l => l.split(' ')[0]),
        }).toEqual({ a: ['start'], b: ['start', 'apply'] });
        expect(await helmRevisions(t.clusters, 'tenant-fence')).toEqual(['1']);
        const d = await t.clusters
          .kubeConfig('dev')
          .makeApiClient(AppsV1Api)
          .readNamespacedDeployment({
            name: 'shop',
            namespace: 'tenant-fence',
          });
        expect(d.spec?.template.spec?.containers[0].image).toMatch(/:2\.0\.0$/);
        expect((await t.store.getTenants('fence'))[0]).toMatchObject({
          status: 'active',
          lastRunId: second.id,
        });
      } finally {
        writeFileSync(gate, '');
        await t.close();
      }
    });

    it('a backend whose heartbeat was late cannot overwrite the reconciled status, and no second run starts until it stopped', async () => {
      const gate = path.join(dir, 'gate');
      const helmA = helmWrapper(dir, 'a', gate);
      const helmB = helmWrapper(dir, 'b');
      // A's heartbeat is far too slow (a starved timer): to everyone else it looks dead after 2 s.
      const t = await twoBackends(
        databaseId,
        {
          helm: helmA.binary,
          recovery: { heartbeatSeconds: 3600, staleAfterSeconds: 7200 },
        },
        { helm: helmB.binary },
      );
      try {
        const first = await t.engineA.submit(
          tenant('late', '1.0.0'),
          'user:default/alice',
        );
        await until('helm upgrade on backend A', () =>
          helmA.log().find(l => l.startsWith('start')),
        );
        await until(
          'backend B to reconcile the run',
          async () => (await t.engineB.recoverStaleRuns()) > 0,
        );
        const reconciled = (await t.store.getRun(first.id))!;
        expect(reconciled.status).toBe('failed');

        const refused = await t.engineB
          .submit(tenant('late', '2.0.0'), 'user:default/alice')
          .catch(e => e);
        expect(refused).toBeInstanceOf(ConflictError);
        expect(refused.message).toMatch(/may still be executing it/);

        // A's helm goes on (it was already past the lease check) and A tries to record its progress.
        writeFileSync(gate, '');
        await t.engineA.waitFor(first.id);
        const aStoppedAt = Date.now();
        const lost = (await t.store.getRun(first.id))!;
        expect({
          status: lost.status,
          reason: lost.failureReason,
          transitions: lost.transitions.map(x => x.status),
          values: lost.values,
        }).toEqual({
          status: 'failed',
          reason: reconciled.failureReason,
          transitions: ['pending', 'running', 'failed'],
          values: undefined,
        });
        const events = await t.store.getEvents(first.id);
        expect(events[events.length - 1].message).toBe(
          `Run failed: ${reconciled.failureReason}`,
        );
        expect(
          events.filter(e => e.type === 'status').map(e => e.message),
        ).not.toContainEqual(
          expect.stringMatching(/succeeded|no longer executed/),
        );

        // A released its locks when it stopped; the next run starts only now.
        const second = await t.engineB.submit(
          tenant('late', '2.0.0'),
          'user:default/alice',
        );
        expect(Date.parse(second.createdAt)).toBeGreaterThanOrEqual(
          aStoppedAt - 5,
        );
        await t.engineB.waitFor(second.id);
        const won = (await t.store.getRun(second.id))!;
        expect({ status: won.status, reason: won.failureReason }).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        // One apply each, one after the other: two helm revisions, never two at once.
        expect({
          a: helmA.log().map(l => l.split(' ')[0]),
          b: helmB.log().map(l => l.split(' ')[0]),
        }).toEqual({ a: ['start', 'apply'], b: ['start', 'apply'] });
        expect(await helmRevisions(t.clusters, 'tenant-late')).toEqual([
          '1',
          '2',
        ]);
      } finally {
        writeFileSync(gate, '');
        await t.close();
      }
    });
  },
);
