import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { kubechartRunsServiceRef } from '@kubechart/plugin-kubechart-node';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import request from 'supertest';
import { FakeKubechartRuns } from './testing/FakeKubechartRuns';
import scaffolderModuleKubechart from '.';

describe('scaffolderModuleKubechart', () => {
  it('adds the kubechart actions to the scaffolder, with their schemas and examples', async () => {
    const { server } = await startTestBackend({
      features: [
        scaffolderPlugin,
        scaffolderModuleKubechart,
        createServiceFactory({
          service: kubechartRunsServiceRef,
          deps: {},
          factory: () => new FakeKubechartRuns(),
        }),
        mockServices.rootConfig.factory({
          data: { app: { baseUrl: 'http://localhost:3000' } },
        }),
      ],
    });

    const res = await request(server).get('/api/scaffolder/v2/actions');
    expect(res.status).toBe(200);
    const ours = (
      res.body as Array<{ id: string; schema: any; examples?: unknown[] }>
    )
      .filter(a => a.id.startsWith('kubechart:'))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(ours.map(a => a.id)).toEqual([
      'kubechart:chart:install',
      'kubechart:chart:validate',
      'kubechart:manifests:apply',
      'kubechart:tenant:delete',
      'kubechart:tenant:provision',
    ]);
    const provision = ours.find(a => a.id === 'kubechart:tenant:provision')!;
    expect(provision.schema.input.required).toEqual(
      expect.arrayContaining(['cluster', 'tenant', 'releases']),
    );
    expect(provision.examples?.length).toBeGreaterThan(0);
  });
});
