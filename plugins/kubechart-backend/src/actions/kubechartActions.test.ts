import {
  BackstageCredentials,
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  ActionsService,
  actionsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import {
  actionsRegistryServiceFactory,
  actionsServiceFactory,
} from '@backstage/backend-defaults/alpha';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';

jest.setTimeout(240_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const DENIED = 'user:default/denied';

/** Everyone may do everything except `denied`, who is refused every permission. */
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = (c?: BackstageCredentials) =>
      (c?.principal as any)?.userEntityRef === DENIED
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW;
    return {
      authorize: async (
        requests: any[],
        o?: { credentials: BackstageCredentials },
      ) => requests.map(() => ({ result: decide(o?.credentials) })),
      authorizeConditional: async (
        requests: any[],
        o?: { credentials: BackstageCredentials },
      ) => requests.map(() => ({ result: decide(o?.credentials) })),
    } as any;
  },
});

const ACTION_NAMES = {
  readOnly: [
    'get-cluster-health',
    'list-tenants',
    'get-tenant-health',
    'list-runs',
    'get-run',
    'check-policy',
  ],
  mutating: ['install-chart', 'rollback-release', 'provision-tenant'],
};

describe('kubechart actions (actions registry / MCP)', () => {
  let sim: KubeSim;
  let server: any;
  let actions: ActionsService;
  let stop: () => Promise<void>;

  const as = (user: string) => mockCredentials.user(user);
  const invoke = (user: string, name: string, input: Record<string, any>) =>
    actions.invoke({ id: `kubechart:${name}`, input, credentials: as(user) });

  /** What a failed invocation tells the agent: the status and the kubechart backend's own message. */
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the action to be refused');
      },
      (e: any) => ({
        statusCode: e.statusCode,
        message: String(e.body?.error?.message ?? e.message),
      }),
    );

  async function finished(user: string, runId: string) {
    for (let i = 0; i < 600; i++) {
      const { output } = (await invoke(user, 'get-run', { runId })) as any;
      if (output.run.status === 'succeeded' || output.run.status === 'failed')
        return output;
      await new Promise(r => setTimeout(r, 200));
    }
    throw new Error(`run ${runId} did not finish`);
  }

  beforeAll(async () => {
    sim = await startSim();
    const data: any = testConfig(sim, {});
    data.app = { baseUrl: 'http://portal.example.com' };
    data.backend = { actions: { pluginSources: ['kubechart'] } };
    const probe = createBackendPlugin({
      pluginId: 'probe',
      register(env) {
        env.registerInit({
          deps: { actionsService: actionsServiceRef },
          async init({ actionsService }) {
            actions = actionsService;
          },
        });
      },
    });
    const backend = await startTestBackend({
      features: [
        kubechartPlugin,
        probe,
        actionsRegistryServiceFactory,
        actionsServiceFactory,
        permissions,
        // The entity the runs belong to: alice's component, deployed into her tenant.
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'agent',
                namespace: 'default',
                annotations: { 'kubechart.io/tenant': 'agent' },
              },
              spec: { type: 'service', lifecycle: 'production', owner: ALICE },
              relations: [{ type: 'ownedBy', targetRef: ALICE }],
            },
          ],
        }),
        mockServices.rootConfig.factory({ data }),
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({ publish: async () => {} }),
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('lists every action with the attributes an agent decides by; none for a user without permission', async () => {
    const { actions: listed } = await actions.list({ credentials: as(ALICE) });
    const ours = listed.filter(a => a.pluginId === 'kubechart');
    expect(ours.map(a => a.name).sort()).toEqual(
      [...ACTION_NAMES.readOnly, ...ACTION_NAMES.mutating].sort(),
    );
    for (const a of ours) {
      const readOnly = ACTION_NAMES.readOnly.includes(a.name);
      expect({ name: a.name, ...a.attributes }).toEqual({
        name: a.name,
        readOnly,
        destructive: !readOnly,
        idempotent: readOnly,
      });
      expect(a.description.length).toBeGreaterThan(60);
      expect(a.schema.input).toHaveProperty('type', 'object');
    }
    const denied = await actions.list({ credentials: as(DENIED) });
    expect(denied.actions.filter(a => a.pluginId === 'kubechart')).toEqual([]);
    expect(
      await refusal(invoke(DENIED, 'get-cluster-health', { cluster: 'dev' })),
    ).toMatchObject({
      statusCode: 404,
    });
  });

  it('validates input against the schema and changes nothing on bad input', async () => {
    expect(
      await refusal(
        invoke(ALICE, 'install-chart', {
          cluster: 'dev',
          namespace: 'tenant-agent',
        }),
      ),
    ).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('Invalid input'),
    });
    expect(
      await refusal(
        invoke(ALICE, 'check-policy', { namespace: 'tenant-agent' }),
      ),
    ).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('exactly one of release or manifests'),
    });
    const { output } = (await invoke(ALICE, 'list-runs', {})) as any;
    expect(output.runs).toEqual([]);
  });

  it('provisions a tenant, installs and rolls back a chart as the calling user, and reads it all back', async () => {
    const provisioned = (await invoke(ALICE, 'provision-tenant', {
      cluster: 'dev',
      tenant: 'agent',
      entityRef: 'component:default/agent',
      releases: [{ name: 'web', chart: 'webapp' }],
    })) as any;
    expect(provisioned.output).toEqual({
      runId: expect.any(String),
      status: 'pending',
      link: `http://portal.example.com/catalog/default/component/agent/deployment-history?run=${provisioned.output.runId}`,
    });
    const tenantRun = await finished(ALICE, provisioned.output.runId);
    expect(tenantRun.run).toMatchObject({
      status: 'succeeded',
      actor: ALICE,
      kind: 'tenant',
    });

    const installed = (await invoke(ALICE, 'install-chart', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      entityRef: 'component:default/agent',
      release: { name: 'api', chart: 'webapp', values: { replicas: 1 } },
    })) as any;
    const install = await finished(ALICE, installed.output.runId);
    expect(install.run).toMatchObject({
      status: 'succeeded',
      actor: ALICE,
      kind: 'chart',
      helmRevision: 1,
    });
    const upgraded = (await invoke(ALICE, 'install-chart', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      entityRef: 'component:default/agent',
      release: { name: 'api', chart: 'webapp', values: { replicas: 2 } },
    })) as any;
    expect((await finished(ALICE, upgraded.output.runId)).run).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });

    // The same history the portal shows: REST agrees on who did what.
    const rest = await request(server)
      .get(`/api/kubechart/runs/${installed.output.runId}`)
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(rest.body).toMatchObject({
      actor: ALICE,
      entityRef: 'component:default/agent',
      // It recorded its release record: a rollback from it (fromRunId) is bound to that record.
      rollbackBound: true,
    });

    const compared = (await invoke(ALICE, 'get-run', {
      runId: upgraded.output.runId,
      compareWith: installed.output.runId,
    })) as any;
    expect(compared.output.diff.values).toMatch(/-replicas: 1\n\+replicas: 2/);
    // An agent is told, as the history tab is, that rollback-release may name this run as fromRunId.
    expect(compared.output.run.rollbackBound).toBe(true);

    const rolledBack = (await invoke(ALICE, 'rollback-release', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      release: 'api',
      revision: 1,
      fromRunId: installed.output.runId,
      entityRef: 'component:default/agent',
    })) as any;
    expect((await finished(ALICE, rolledBack.output.runId)).run).toMatchObject({
      status: 'succeeded',
      kind: 'rollback',
      actor: ALICE,
    });
    // Bound to the release record the install recorded for revision 1.
    const rollbackRun = await request(server)
      .get(`/api/kubechart/runs/${rolledBack.output.runId}`)
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(rollbackRun.body.input).toMatchObject({
      revision: 1,
      fromRunId: installed.output.runId,
    });

    const listed = (await invoke(ALICE, 'list-runs', {
      entityRef: 'component:default/agent',
    })) as any;
    expect(listed.output.runs.map((r: any) => [r.kind, r.actor])).toEqual([
      ['rollback', ALICE],
      ['chart', ALICE],
      ['chart', ALICE],
      ['tenant', ALICE],
    ]);
    // A page of runs carries no policy report, only its summary: each run still says how its policy check went.
    for (const run of listed.output.runs.filter(
      (r: any) => r.kind !== 'rollback',
    )) {
      const opened = (await invoke(ALICE, 'get-run', { runId: run.id })) as any;
      expect(opened.output.run.policy).toEqual({
        passed: true,
        blocking: false,
        errors: 0,
        warnings: expect.any(Number),
      });
      expect(run.policy).toEqual(opened.output.run.policy);
    }

    const tenants = (await invoke(ALICE, 'list-tenants', {})) as any;
    expect(tenants.output.tenants).toContainEqual(
      expect.objectContaining({
        code: 'agent',
        namespace: 'tenant-agent',
        status: 'active',
      }),
    );
    const health = (await invoke(ALICE, 'get-tenant-health', {
      tenant: 'agent',
    })) as any;
    expect(health.output).toMatchObject({
      tenant: 'agent',
      namespace: 'tenant-agent',
    });
    expect(health.output.releases.map((r: any) => r.name)).toContain('web');

    const cluster = (await invoke(ALICE, 'get-cluster-health', {
      cluster: 'dev',
    })) as any;
    expect(cluster.output.clusters).toContainEqual(
      expect.objectContaining({ name: 'dev' }),
    );
    expect(cluster.output.health.status).not.toBe('error');
    expect(cluster.output.health.nodes.total).toBeGreaterThan(0);
    // The tool says of how many nodes' capacity the utilisation is (every node is Ready here).
    expect(cluster.output.health.utilisation.excludedNodes).toBe(0);
  });

  it('refuses a run outside the caller’s scope exactly as the REST API does, and records nothing', async () => {
    const body = {
      cluster: 'dev',
      namespace: 'tenant-agent',
      release: { name: 'intruder', chart: 'webapp' },
    };
    const rest = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header(BOB))
      .send({ kind: 'chart', ...body });
    expect(rest.status).toBe(403);
    expect(await refusal(invoke(BOB, 'install-chart', body))).toEqual({
      statusCode: 403,
      message: rest.body.error.message,
    });
    const bobs = (await invoke(ALICE, 'list-runs', { actor: BOB })) as any;
    expect(bobs.output.runs).toEqual([]);
  });

  it('refuses a change asked by a service, which the kubechart backend could only record as itself, and records nothing', async () => {
    const before = (await invoke(ALICE, 'list-runs', {})) as any;
    for (const [name, input] of [
      [
        'install-chart',
        {
          cluster: 'dev',
          namespace: 'tenant-agent',
          release: { name: 'bot', chart: 'webapp' },
        },
      ],
      [
        'provision-tenant',
        { cluster: 'dev', tenant: 'bot-made', releases: [] },
      ],
    ] as const) {
      const refused = await refusal(
        actions.invoke({
          id: `kubechart:${name}`,
          input: input as any,
          credentials: mockCredentials.service('external:release-bot'),
        }),
      );
      expect(refused).toEqual({
        statusCode: 403,
        message: `kubechart:${name} changes a cluster for a signed-in user; service:external:release-bot is a service, which the kubechart backend would record as the kubechart plugin itself. A service starts runs through POST /api/kubechart/runs with its own token`,
      });
    }
    const after = (await invoke(ALICE, 'list-runs', {})) as any;
    expect(after.output.runs.length).toBe(before.output.runs.length);
  });

  it('refuses a read asked by a service, which the kubechart backend could only see as itself', async () => {
    // Backstage passes a service's credentials on as the calling plugin's own token, so the reads
    // would be authorized, scoped and audited as plugin:kubechart, not as the external service.
    const inputs: Record<string, Record<string, any>> = {
      'get-cluster-health': { cluster: 'dev' },
      'list-tenants': {},
      'get-tenant-health': { tenant: 'agent' },
      'list-runs': {},
      'get-run': { runId: 'any' },
      'check-policy': {
        namespace: 'tenant-agent',
        manifests: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }',
      },
    };
    expect(Object.keys(inputs).sort()).toEqual(
      [...ACTION_NAMES.readOnly].sort(),
    );
    for (const [name, input] of Object.entries(inputs)) {
      const refused = await refusal(
        actions.invoke({
          id: `kubechart:${name}`,
          input,
          credentials: mockCredentials.service('external:release-bot'),
        }),
      );
      expect(refused).toEqual({
        statusCode: 403,
        message: `kubechart:${name} reads for a signed-in user; service:external:release-bot is a service, which the kubechart backend would see as the kubechart plugin itself (its rights, and its name in the audit trail). A service reads through the kubechart REST API (/api/kubechart) with its own token`,
      });
    }
  });

  it('checks a chart or manifests against the policy without applying it', async () => {
    const privileged = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: root, namespace: tenant-agent }',
      'spec:',
      '  containers:',
      '    - name: c',
      '      image: registry.example.com/app:1.0',
      '      securityContext: { privileged: true }',
    ].join('\n');
    const checked = (await invoke(ALICE, 'check-policy', {
      namespace: 'tenant-agent',
      manifests: privileged,
    })) as any;
    expect(checked.output.passed).toBe(false);
    expect(checked.output.findings).toContainEqual(
      expect.objectContaining({
        ruleId: 'no-privileged',
        object: 'Pod/root',
        severity: 'error',
      }),
    );
    const pods = await request(server)
      .get(
        '/api/kubechart/runs?entityRef=component:default/agent&kind=manifests',
      )
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(pods.body.items).toEqual([]);
  });

  it('answers that an install would be blocked by the run scope, as the preview does', async () => {
    const outside = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: planted, namespace: kube-system }',
      'data: { a: "1" }',
      '---',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata: { name: reader, namespace: tenant-agent }',
      'rules: []',
    ].join('\n');
    const preview = await request(server)
      .post('/api/kubechart/runs/preview')
      .set('Authorization', mockCredentials.user.header(ALICE))
      .send({
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'tenant-agent',
        manifests: outside,
      });
    expect(preview.body.policyReport.blocking).toBe(true);
    const checked = (await invoke(ALICE, 'check-policy', {
      cluster: 'dev',
      namespace: 'tenant-agent',
      manifests: outside,
    })) as any;
    expect(checked.output).toMatchObject({ passed: false, blocking: true });
    const scope = checked.output.findings.filter(
      (f: any) => f.ruleId === 'run-scope',
    );
    expect(scope.map((f: any) => f.object).sort()).toEqual([
      'ClusterRole/reader',
      'ConfigMap/planted',
    ]);
    expect(scope.map((f: any) => f.message).sort()).toEqual(
      preview.body.policyReport.results
        .filter((r: any) => r.ruleId === 'run-scope' && !r.passed)
        .map((r: any) => r.message)
        .sort(),
    );
  });
});
