import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { simKubeConfig } from '../__testUtils__/backend';
import { startSim, testConfig } from '../__testUtils__/setup';
import { catalogUsers } from '../__testUtils__/tenantCallers';

jest.setTimeout(240_000);

/**
 * The secret values a recorded run's finish reports are removed from everything stored for the
 * run, the events its action posted before they were known included.
 */
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const SECRET = 'RecordedEarly-Passw0rd-events1';

describe.each(databases.eachSupportedId())(
  'the events of a recorded run, on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const post = (path: string, body: object) =>
      request(server).post(`/api/kubechart${path}`).send(body);

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

    it('hides a secret its finish reports in the events posted before', async () => {
      const started = await post('/runs/record', {
        kind: 'custom',
        action: 'acme:db:rotate',
        target: { cluster: 'dev', namespace: 'team-s' },
      });
      expect(started.status).toBe(201);
      const id = started.body.id;
      const events = await post(`/runs/${id}/events`, {
        events: [
          { message: `rotated role app to ${SECRET}` },
          { message: 'restarted the pods', step: 'restart' },
        ],
      });
      expect(events.status).toBe(204);
      const finished = await post(`/runs/${id}/finish`, {
        status: 'succeeded',
        values: { db: { password: SECRET } },
      });
      expect(finished.status).toBe(204);
      const run = (await request(server).get(`/api/kubechart/runs/${id}`)).body;
      expect(run.status).toBe('succeeded');
      expect(JSON.stringify(run.values)).not.toContain(SECRET);
      const stored = await request(server).get(
        `/api/kubechart/runs/${id}/events`,
      );
      expect(stored.status).toBe(200);
      expect(stored.text).not.toContain(SECRET);
      expect(stored.text).toContain('rotated role app to ***');
      expect(stored.text).toContain('restarted the pods');
    });
  },
);
