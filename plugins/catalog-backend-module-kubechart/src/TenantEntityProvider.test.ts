import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import type { Tenant } from '@kubechart/plugin-kubechart-common';
import {
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
});

describe('catalogModuleKubechartTenants', () => {
  it('registers the provider with the catalog', async () => {
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
          factory: () => fakeRuns(async () => [acme]),
        }),
      ],
    });
    expect(providers.map(p => p.getProviderName())).toEqual([
      'kubechart-tenants',
    ]);
  });
});
