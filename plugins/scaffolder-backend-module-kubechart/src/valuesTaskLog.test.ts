/*
 * The task log as the scaffolder stores it and the task page shows it: a template whose `values`
 * are broken YAML runs through the real scaffolder (task broker, workflow runner, task events), and
 * the log of the failed step names the reason and the position, never the text of the values.
 */
import {
  createBackendPlugin,
  createServiceFactory,
  coreServices,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import { kubechartRunsServiceRef } from '@kubechart/plugin-kubechart-node';
import request from 'supertest';
import { FakeKubechartRuns } from './testing/FakeKubechartRuns';
import scaffolderModuleKubechart from '.';

jest.setTimeout(60_000);

const template = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: { name: 'install-web', namespace: 'default' },
  spec: {
    type: 'service',
    parameters: [
      {
        properties: {
          values: { type: 'string', title: 'Helm values (YAML)' },
        },
      },
    ],
    steps: [
      {
        id: 'install',
        name: 'Install',
        action: 'kubechart:chart:install',
        input: {
          cluster: 'kube-sim',
          namespace: 'shop',
          release: 'web',
          chart: 'kubechart-service',
          values: '${{ parameters.values }}',
        },
      },
    ],
  },
};

/** Serves the one template from a stand-in catalog, as the scaffolder reads it over HTTP. */
const fakeCatalog = createBackendPlugin({
  pluginId: 'catalog',
  register(env) {
    env.registerInit({
      deps: { http: coreServices.httpRouter },
      async init({ http }) {
        http.addAuthPolicy({ path: '/', allow: 'unauthenticated' });
        http.use((req: any, res: any) => {
          if (
            req.method === 'GET' &&
            req.path === '/entities/by-name/template/default/install-web'
          ) {
            res.json(template);
          } else {
            res.status(404).json({ error: { name: 'NotFoundError' } });
          }
        });
      },
    });
  },
});

describe('the task log of a step whose values are not valid YAML', () => {
  it('shows the reason and position, not the values', async () => {
    const secret = 'Sup3rS3cretValue';
    const runs = new FakeKubechartRuns();
    const { server } = await startTestBackend({
      features: [
        scaffolderPlugin,
        scaffolderModuleKubechart,
        fakeCatalog,
        createServiceFactory({
          service: kubechartRunsServiceRef,
          deps: {},
          factory: () => runs,
        }),
        mockServices.rootConfig.factory({
          data: { app: { baseUrl: 'http://localhost:3000' } },
        }),
      ],
    });

    const created = await request(server)
      .post('/api/scaffolder/v2/tasks')
      .send({
        templateRef: 'template:default/install-web',
        values: { values: `db:\n  password: ${secret}\n   user: admin\n` },
      });
    expect(created.status).toBe(201);
    const taskId = created.body.id;

    let status = '';
    for (let i = 0; i < 200 && !['failed', 'completed'].includes(status); i++) {
      await new Promise(r => setTimeout(r, 100));
      status = (await request(server).get(`/api/scaffolder/v2/tasks/${taskId}`))
        .body.status;
    }
    expect(status).toBe('failed');

    const events = (
      await request(server).get(`/api/scaffolder/v2/tasks/${taskId}/events`)
    ).body as Array<{ type: string; body: { message?: string } }>;
    const log = events
      .filter(e => e.type === 'log')
      .map(e => e.body.message ?? '')
      .join('\n');
    expect(log).toMatch(
      /InputError: values are not valid YAML: [^\n]+ \(line 3, column \d+\)/,
    );
    expect(log).not.toContain(secret);
    expect(log).not.toContain('password');
    // The reason alone: no Node stack frames around it.
    expect(log).not.toMatch(/\n\s+at \S/);
    expect(runs.created).toHaveLength(0);
  });
});
