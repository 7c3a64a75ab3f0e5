import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const PASSWORD = 'hunter2hunter2-envEntry';
const PROXY_AUTH = 'zq81kfa9wq-proxyAuth';

/**
 * Values a chart turns into env variables (`extraEnvVars: [{ name, value }]`) and a proxy's
 * `authorization` are kept out of what a run stores: its input, its values, its events.
 */
describe.each(databases.eachSupportedId())(
  'secrets of env entries on %p',
  databaseId => {
    let sim: KubeSim;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    it('stores a chart run without the value of a secret env entry or an authorization key', async () => {
      const { engine, store } = await createTestEngine({
        databases,
        databaseId,
        sim,
      });
      const tenant = await engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'envs',
          credentials: [],
          releases: [],
        },
        'user:default/alice',
        plainCaller('user:default/alice'),
      );
      await engine.waitFor(tenant.id);
      const submitted = await engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-envs',
          release: {
            name: 'shop',
            chart: 'webapp',
            values: {
              replicas: 1,
              extraEnvVars: [
                { name: 'DB_PASSWORD', value: PASSWORD },
                { name: 'LOG_LEVEL', value: 'debug' },
              ],
              proxy: { authorization: PROXY_AUTH },
            },
          },
        },
        'user:default/alice',
        plainCaller('user:default/alice'),
      );
      await engine.waitFor(submitted.id);
      const run = (await store.getRun(submitted.id))!;
      const events = await store.getEvents(submitted.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(run.input).toMatchObject({
        release: {
          values: {
            extraEnvVars: [
              { name: 'DB_PASSWORD', value: '***' },
              { name: 'LOG_LEVEL', value: 'debug' },
            ],
            proxy: { authorization: '***' },
          },
        },
      });
      expect(run.values).toMatchObject({
        extraEnvVars: [
          { name: 'DB_PASSWORD', value: '***' },
          { name: 'LOG_LEVEL', value: 'debug' },
        ],
        proxy: { authorization: '***' },
      });
      const stored = JSON.stringify([run, events]);
      expect(stored).not.toContain(PASSWORD);
      expect(stored).not.toContain(PROXY_AUTH);
    });
  },
);
