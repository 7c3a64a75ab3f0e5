import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { serviceHeader } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const SCAFFOLDER = serviceHeader('plugin:scaffolder');
/** A user entity ref of 263 characters once its namespace is filled in. */
const LONG_NAME = 'a'.repeat(250);
const LONG_USER = `user:default/${LONG_NAME}`;

/**
 * Text longer than the varchar column it is stored in, which PostgreSQL refuses (SQLite keeps it):
 * a step name built from what a run applies is cut to fit and says so; an identifier is refused with
 * a 400 before anything is recorded. Both databases store the same.
 */
describe.each(databases.eachSupportedId())(
  'text longer than its column on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;

    const runs = async () => {
      const page = await request(server)
        .get('/api/kubechart/runs')
        .query({ limit: 200 })
        .set('Authorization', mockCredentials.user.header());
      expect(page.status).toBe(200);
      return page.body.items.length as number;
    };
    /** Waits for a run to end; resolves it with its events. */
    const finished = async (id: string) => {
      for (let i = 0; i < 600; i++) {
        const run = await request(server)
          .get(`/api/kubechart/runs/${id}`)
          .set('Authorization', mockCredentials.user.header());
        if (run.body.status === 'succeeded' || run.body.status === 'failed') {
          // The run's last events are written within 100 ms of its end.
          await new Promise(r => setTimeout(r, 300));
          const events = await request(server)
            .get(`/api/kubechart/runs/${id}/events`)
            .set('Authorization', mockCredentials.user.header());
          return { run: run.body, events: events.body.items as any[] };
        }
        await new Promise(r => setTimeout(r, 100));
      }
      throw new Error(`run ${id} did not end`);
    };

    beforeAll(async () => {
      sim = await startSim();
      const backend = await startKubechartBackend({
        config: testConfig(sim, {
          health: { startOnBoot: false },
          onBehalfOf: { allowedServices: ['plugin:scaffolder'] },
          clusters: { dev: { namespaces: { long: { owner: LONG_USER } } } },
        }),
        knex: await databases.init(databaseId),
      });
      server = backend.server;
      stop = () => backend.stop();
      const tenant = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header())
        .send({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'lengths',
          releases: [{ name: 'web', chart: 'webapp' }],
        });
      if (tenant.status !== 202)
        throw new Error(`tenant run refused: ${tenant.text}`);
      const { run } = await finished(tenant.body.id);
      if (run.status !== 'succeeded')
        throw new Error(`tenant run ${run.status}: ${run.failureReason}`);
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it('records the steps of an object whose name makes its step longer than 255 characters, cut to fit and marked with …', async () => {
      // A valid ConfigMap name (Kubernetes allows 253 characters): its step `apply:ConfigMap/<name>` has 266.
      const started = await request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header())
        .send({
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-lengths',
          manifests: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${LONG_NAME}\n  namespace: tenant-lengths\ndata:\n  color: blue\n`,
        });
      expect(started.status).toBe(202);
      const { run, events } = await finished(started.body.id);
      expect(run.status).toBe('succeeded');
      const step = `apply:ConfigMap/${'a'.repeat(238)}…`;
      expect(step).toHaveLength(255);
      expect(
        events
          .filter(e => e.type === 'step' && e.step?.startsWith('apply:'))
          .map(e => [e.step, e.stepStatus, e.message]),
      ).toEqual([
        [step, 'started', `apply:ConfigMap/${LONG_NAME}: started`],
        [step, 'succeeded', `ConfigMap/${LONG_NAME}: created`],
      ]);
    });

    it('refuses with 400, recording nothing, a run on behalf of a user whose entity ref is longer than 255 characters', async () => {
      const before = await runs();
      const res = await request(server)
        .post('/api/kubechart/runs/record')
        .set('Authorization', SCAFFOLDER)
        .send({
          kind: 'chart',
          action: 'acme:cache:create',
          target: { cluster: 'dev', namespace: 'long' },
          // 255 characters as sent; the namespace filled in makes 263.
          onBehalfOf: `user:${LONG_NAME}`,
        });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        `The run's actor ${JSON.stringify(
          `${LONG_USER.slice(0, 100)}…`,
        )} has 263 characters; at most 255 are stored`,
      );
      expect(await runs()).toBe(before);
    });

    it('does not start with an approval rule whose name is longer than 255 characters, which every run it gates would store', async () => {
      await expect(
        startKubechartBackend({
          config: testConfig(sim, {
            health: { startOnBoot: false },
            approvals: {
              rules: [
                { name: 'r'.repeat(256), namespaces: ['tenant-lengths'] },
              ],
            },
          }),
          knex: await databases.init(databaseId),
        }),
      ).rejects.toThrow(
        'kubechart.approvals rule 1: its name has 256 characters; at most 255 are allowed',
      );
    });
  },
);
