import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { simKubeConfig } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { catalogUsers } from '../__testUtils__/tenantCallers';
import { CoreV1Api } from '@kubernetes/client-node';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * A recorded run may not name one of KubeChart's own actions (it would stand in history as
 * KubeChart's work), however the name is spelled: an invisible or blank first character, another
 * case. An action name is a plain identifier; anything else is refused with a reason.
 */
describe.each(databases.eachSupportedId())(
  'the action a recorded run names, on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const record = (action: string, release: string) =>
      request(server)
        .post('/api/kubechart/runs/record')
        .send({
          kind: 'chart',
          action,
          target: { cluster: 'dev', namespace: 'team-s', release },
        });

    beforeAll(async () => {
      sim = await startSim();
      const data = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-s': { owner: 'user:default/mock' } } },
        },
      });
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data }),
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          catalogServiceMock.factory({
            entities: catalogUsers({ 'user:default/mock': [] }),
          }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => {} }),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      const kc = simKubeConfig(sim);
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      await kc
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: 'team-s' } } });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it.each([
      ['as KubeChart spells it', 'kubechart:chart:install'],
      ['in another case', 'KubeChart:chart:install'],
      ['after a zero-width space', '\u200bkubechart:chart:install'],
      ['after a blank', ' kubechart:chart:install'],
      ['in full-width letters', 'ｋｕｂｅｃｈａｒｔ:chart:install'],
    ])(
      'refuses a KubeChart action %s, recording nothing',
      async (_how, action) => {
        const res = await record(action, 'web');
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(/nothing was recorded/);
        const runs = await request(server).get(
          '/api/kubechart/runs?kind=chart',
        );
        expect(runs.body.items ?? []).toEqual([]);
      },
    );

    it('names what is wrong with an action name that is not a plain identifier', async () => {
      const res = await record('acme deploy\u200b', 'web');
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('"acme deploy\\u200b"');
      expect(res.body.error.message).toMatch(/letters, digits and : \. _ \/ -/);
    });

    it('records a run whose action is a plain identifier of its own', async () => {
      const res = await record('acme:db.rotate/v2_x-1', 'db');
      expect(res.status).toBe(201);
    });
  },
);
