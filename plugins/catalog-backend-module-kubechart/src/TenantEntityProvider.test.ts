import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  type EventsService,
  eventsServiceRef,
} from '@backstage/plugin-events-node';
import type { Tenant } from '@kubechart/plugin-kubechart-common';
import {
  KUBECHART_TENANTS_TOPIC,
  kubechartRunsServiceRef,
  type KubechartRunsService,
} from '@kubechart/plugin-kubechart-node';
import {
  catalogProcessingExtensionPoint,
  type EntityProvider,
  type EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { TenantEntityProvider } from './TenantEntityProvider';
import catalogModuleKubechartTenants from '.';

const acme: Tenant = {
  code: 'acme',
  cluster: 'kube-sim',
  namespace: 'tenant-acme',
  releases: ['db', 'api', 'web'],
  entityRef: 'system:default/acme',
  owner: 'group:default/shop-team',
  displayName: 'Acme Corp',
};

function fakeRuns(list: () => Promise<Tenant[]>) {
  return { listTenants: jest.fn(list) } as unknown as KubechartRunsService;
}

function connection() {
  return {
    applyMutation: jest.fn(async () => {}),
    refresh: jest.fn(async () => {}),
  } satisfies EntityProviderConnection;
}

function provider(runs: KubechartRunsService) {
  return new TenantEntityProvider({
    runs,
    auth: mockServices.auth(),
    logger: mockServices.logger.mock(),
    taskRunner: { run: jest.fn(async () => {}) },
  });
}

describe('TenantEntityProvider', () => {
  it('provides one entity per tenant, annotated for the Kubernetes and KubeChart views', async () => {
    const conn = connection();
    const p = provider(
      fakeRuns(async () => [
        acme,
        {
          ...acme,
          code: 'beta',
          entityRef: undefined,
          owner: undefined,
          displayName: undefined,
          namespace: 'tenant-beta',
        },
      ]),
    );
    await p.connect(conn);
    await p.refresh();

    expect(conn.applyMutation).toHaveBeenCalledTimes(1);
    const mutation = (conn.applyMutation.mock.calls[0] as any)[0];
    expect(mutation.type).toBe('full');
    const [first, second] = mutation.entities.map((e: any) => e.entity);
    expect(first).toMatchObject({
      kind: 'System',
      metadata: {
        name: 'acme',
        namespace: 'default',
        title: 'Acme Corp',
        annotations: {
          'kubechart.io/tenant': 'acme',
          'kubechart.io/cluster': 'kube-sim',
          'backstage.io/kubernetes-namespace': 'tenant-acme',
          'backstage.io/kubernetes-label-selector': 'kubechart.io/tenant=acme',
        },
      },
      spec: { owner: 'group:default/shop-team' },
    });
    expect(second).toMatchObject({
      kind: 'System',
      metadata: { name: 'beta' },
      spec: { owner: 'group:default/platform-team' },
    });
  });

  it('leaves out a tenant whose entityRef is malformed or names a kind a tenant cannot be, and still provides the others', async () => {
    const conn = connection();
    const logger = mockServices.logger.mock();
    const p = new TenantEntityProvider({
      runs: fakeRuns(async () => [
        { ...acme, code: 'broken', entityRef: 'component:' },
        { ...acme, code: 'admin', entityRef: 'user:default/admin' },
        { ...acme, code: 'team', entityRef: 'group:default/platform-team' },
        { ...acme, code: 'loc', entityRef: 'location:default/elsewhere' },
        acme,
        { ...acme, code: 'svc', entityRef: 'component:default/svc' },
      ]),
      auth: mockServices.auth(),
      logger,
      taskRunner: { run: jest.fn(async () => {}) },
    });
    await p.connect(conn);
    await p.refresh();

    expect(conn.applyMutation).toHaveBeenCalledTimes(1);
    const mutation = (conn.applyMutation.mock.calls[0] as any)[0];
    expect(
      mutation.entities.map(
        (e: any) => `${e.entity.kind}:${e.entity.metadata.name}`,
      ),
    ).toEqual(['System:acme', 'Component:svc']);
    const warnings = logger.warn.mock.calls.map(c => String(c[0]));
    expect(warnings).toHaveLength(4);
    expect(warnings.join('\n')).toMatch(/tenant broken .*"component:"/);
    expect(warnings.join('\n')).toMatch(/tenant admin .*not a user/);
  });

  it("keeps a tenant's entity with the tenant that had it first when another owner's tenant maps to the same ref", async () => {
    const conn = connection();
    const logger = mockServices.logger.mock();
    const p = new TenantEntityProvider({
      // listed by code: bob's later tenant "shop" (no entityRef, so system:default/shop) comes last
      runs: fakeRuns(async () => [
        {
          ...acme,
          code: 'a-shop',
          namespace: 'tenant-a-shop',
          entityRef: 'system:default/shop',
          createdAt: '2026-12-01T10:00:00.000Z',
        },
        {
          ...acme,
          code: 'shop',
          namespace: 'tenant-shop',
          entityRef: undefined,
          owner: 'user:default/bob',
          displayName: undefined,
          createdAt: '2026-12-02T10:00:00.000Z',
        },
      ]),
      auth: mockServices.auth(),
      logger,
      taskRunner: { run: jest.fn(async () => {}) },
    });
    await p.connect(conn);
    await p.refresh();
    const entities = (conn.applyMutation.mock.calls[0] as any)[0].entities.map(
      (e: any) => e.entity,
    );
    expect(entities).toHaveLength(1);
    expect(entities[0]).toMatchObject({
      metadata: {
        name: 'shop',
        annotations: { 'kubechart.io/tenant': 'a-shop' },
      },
      spec: { owner: 'group:default/shop-team' },
    });
    expect(logger.warn).toHaveBeenCalledWith(
      'Skipped KubeChart tenant shop on kube-sim: its entity system:default/shop is tenant a-shop on kube-sim, owned by group:default/shop-team, not by user:default/bob',
    );
  });

  it("keeps each tenant's Kubernetes view to its own cluster when another owner has the same tenant code on another cluster", async () => {
    const conn = connection();
    const p = provider(
      fakeRuns(async () => [
        {
          ...acme,
          code: 'shop',
          cluster: 'prod-eu',
          namespace: 'tenant-shop',
          entityRef: 'system:default/shop-eu',
          owner: 'group:default/team-a',
        },
        {
          ...acme,
          code: 'shop',
          cluster: 'prod-us',
          namespace: 'tenant-shop',
          entityRef: 'system:default/shop-us',
          owner: 'group:default/team-b',
        },
      ]),
    );
    await p.connect(conn);
    await p.refresh();

    const kubernetesAnnotations = (
      conn.applyMutation.mock.calls[0] as any
    )[0].entities.map((e: any) =>
      Object.fromEntries(
        Object.entries(e.entity.metadata.annotations).filter(([key]) =>
          key.startsWith('backstage.io/kubernetes-'),
        ),
      ),
    );
    // The namespace and the label selector are the same on both clusters; only the cluster
    // annotation keeps team-b's pods out of team-a's Kubernetes tab, and the other way round.
    expect(kubernetesAnnotations).toEqual([
      {
        'backstage.io/kubernetes-cluster': 'prod-eu',
        'backstage.io/kubernetes-namespace': 'tenant-shop',
        'backstage.io/kubernetes-label-selector': 'kubechart.io/tenant=shop',
      },
      {
        'backstage.io/kubernetes-cluster': 'prod-us',
        'backstage.io/kubernetes-namespace': 'tenant-shop',
        'backstage.io/kubernetes-label-selector': 'kubechart.io/tenant=shop',
      },
    ]);
  });

  it('drops deleted tenants on the next refresh', async () => {
    const conn = connection();
    let tenants = [acme];
    const p = provider(fakeRuns(async () => tenants));
    await p.connect(conn);
    await p.refresh();
    tenants = [];
    await p.refresh();
    expect((conn.applyMutation.mock.calls[1] as any)[0]).toEqual({
      type: 'full',
      entities: [],
    });
  });

  it('keeps the catalog as it is while the kubechart backend cannot be reached', async () => {
    const conn = connection();
    const p = provider(
      fakeRuns(async () => {
        throw new Error('ECONNREFUSED');
      }),
    );
    await p.connect(conn);
    await p.refresh();
    expect(conn.applyMutation).not.toHaveBeenCalled();
  });

  it('serializes refreshes for tenant changes: the last list read is the one the catalog keeps', async () => {
    const conn = connection();
    const lists: Array<(t: Tenant[]) => void> = [];
    const runs = fakeRuns(
      () => new Promise<Tenant[]>(resolve => lists.push(resolve)),
    );
    const p = provider(runs);
    await p.connect(conn);
    const first = p.refreshSoon();
    // two more changes while the first refresh still waits for the kubechart backend
    const second = p.refreshSoon();
    const third = p.refreshSoon();
    await new Promise(r => setImmediate(r));
    expect(runs.listTenants).toHaveBeenCalledTimes(1);
    lists[0]([]);
    await new Promise(r => setImmediate(r));
    // one more refresh takes up both changes, read after the first refresh was applied
    expect(runs.listTenants).toHaveBeenCalledTimes(2);
    lists[1]([acme]);
    await Promise.all([first, second, third]);
    expect(runs.listTenants).toHaveBeenCalledTimes(2);
    expect(
      conn.applyMutation.mock.calls.map((c: any) => c[0].entities.length),
    ).toEqual([0, 1]);
  });

  it('runs its scheduled refresh through the same queue, and a failed refresh does not stop the next', async () => {
    const conn = connection();
    let calls = 0;
    const runs = fakeRuns(async () => [acme]);
    conn.applyMutation.mockImplementation(async () => {
      calls += 1;
      if (calls === 1) throw new Error('catalog database unavailable');
    });
    const taskRunner = { run: jest.fn(async () => {}) };
    const p = new TenantEntityProvider({
      runs,
      auth: mockServices.auth(),
      logger: mockServices.logger.mock(),
      taskRunner,
    });
    await p.connect(conn);
    const scheduled = (taskRunner.run.mock.calls[0] as any)[0].fn;
    await expect(scheduled()).resolves.toBeUndefined();
    await p.refreshSoon();
    expect(conn.applyMutation).toHaveBeenCalledTimes(2);
  });
});

describe('catalogModuleKubechartTenants', () => {
  /** Starts the module with the given tenants service; returns the providers it registered. */
  async function startModule(
    runs: KubechartRunsService,
    features: Parameters<typeof startTestBackend>[0]['features'] = [],
  ) {
    const providers: EntityProvider[] = [];
    await startTestBackend({
      extensionPoints: [
        [
          catalogProcessingExtensionPoint,
          {
            addEntityProvider: (...p: any[]) => providers.push(...p.flat()),
          } as any,
        ],
      ],
      features: [
        catalogModuleKubechartTenants,
        createServiceFactory({
          service: kubechartRunsServiceRef,
          deps: {},
          factory: () => runs,
        }),
        ...(features ?? []),
      ],
    });
    return providers;
  }

  it('registers the provider with the catalog', async () => {
    const providers = await startModule(fakeRuns(async () => [acme]));
    expect(providers.map(p => p.getProviderName())).toEqual([
      'kubechart-tenants',
    ]);
  });

  it('refreshes the tenant entities as soon as the kubechart backend publishes a tenant change', async () => {
    let tenants: Tenant[] = [];
    let publish: EventsService['publish'] | undefined;
    const bus = mockServices.events();
    const providers = await startModule(
      fakeRuns(async () => tenants),
      [
        // one events service for every plugin, as Backstage's is within a backend
        createServiceFactory({
          service: eventsServiceRef,
          deps: {},
          factory: () => bus,
        }),
        // another plugin on the same events service, as the kubechart backend is
        createBackendPlugin({
          pluginId: 'publisher',
          register(env) {
            env.registerInit({
              deps: { events: eventsServiceRef },
              async init({ events }) {
                publish = params => events.publish(params);
              },
            });
          },
        }),
      ],
    );
    const conn = connection();
    // the catalog connects the provider; its first scheduled refresh comes 5 s later
    await providers[0].connect(conn);
    tenants = [acme];
    await publish!({
      topic: KUBECHART_TENANTS_TOPIC,
      eventPayload: {
        cluster: 'kube-sim',
        tenant: 'acme',
        runId: 'r1',
        status: 'succeeded',
      },
    });
    await waitFor(
      () => expect(conn.applyMutation).toHaveBeenCalledTimes(1),
      2000,
    );
    expect(
      (conn.applyMutation.mock.calls[0] as any)[0].entities.map(
        (e: any) => e.entity.metadata.name,
      ),
    ).toEqual(['acme']);
  });
});

async function waitFor(check: () => void, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise(r => setTimeout(r, 20));
    }
  }
}
