import { NotAllowedError } from '@backstage/errors';
import { ConfigReader } from '@backstage/config';
import { RunStore, TenantRecord } from '../database/RunStore';
import {
  checkRequestedTenantOwner,
  checkTenantOwnership,
  objectOwnershipResults,
  plainCaller,
  resolveRunScope,
} from './scope';
import { readEngineSettings } from './settings';

const tenantRecord = (
  code: string,
  owner: string | undefined,
  status: TenantRecord['status'] = 'active',
): TenantRecord => ({
  cluster: 'dev',
  code,
  namespace: `tenant-${code}`,
  owner,
  status,
  releases: [],
  createdAt: '',
  updatedAt: '',
});

const store = (tenants: TenantRecord[]) =>
  ({ getTenants: async () => tenants } as unknown as RunStore);

const settings = readEngineSettings(
  new ConfigReader({
    kubechart: {
      clusters: {
        dev: {
          allowedClusterScopedKinds: [
            'apiextensions.k8s.io/CustomResourceDefinition',
          ],
          namespaces: { shop: { owner: 'group:default/shop-team' } },
        },
      },
    },
  }),
);

const shopMember = {
  ownershipRefs: ['user:default/sam', 'group:default/shop-team'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const manifestsInto = (namespace: string) => ({
  kind: 'manifests' as const,
  cluster: 'dev',
  namespace,
  manifests: 'x',
});

describe('resolveRunScope', () => {
  const deps = {
    store: store([
      tenantRecord('acme', 'group:default/acme-team'),
      tenantRecord('old', 'group:default/shop-team', 'deleted'),
    ]),
    settings,
  };

  it('scopes a tenant run to its namespace with no cluster-scoped kinds', async () => {
    const scope = await resolveRunScope(
      { kind: 'tenant', cluster: 'dev', tenant: 'acme', releases: [] },
      { ...shopMember, mayApplyClusterScoped: true },
      deps,
    );
    expect(scope).toMatchObject({
      namespaces: ['tenant-acme'],
      defaultNamespace: 'tenant-acme',
      allowedClusterScopedKinds: [],
      tenant: 'acme',
    });
  });

  it('lets the owner of a namespace assigned in config deploy there, with allowed kinds only for holders of the permission', async () => {
    expect(
      await resolveRunScope(manifestsInto('shop'), shopMember, deps),
    ).toMatchObject({ namespaces: ['shop'], allowedClusterScopedKinds: [] });
    expect(
      await resolveRunScope(
        manifestsInto('shop'),
        { ...shopMember, mayApplyClusterScoped: true },
        deps,
      ),
    ).toMatchObject({
      allowedClusterScopedKinds: [
        'apiextensions.k8s.io/CustomResourceDefinition',
      ],
    });
  });

  it('refuses namespaces the caller does not own, naming their owner to a caller who may read every tenant', async () => {
    await expect(
      resolveRunScope(
        manifestsInto('shop'),
        {
          ...plainCaller('user:default/eve'),
          mayReadEveryTenant: async () => true,
        },
        deps,
      ),
    ).rejects.toThrow(
      'Namespace shop on cluster dev is assigned to group:default/shop-team; runs there need membership of that owner',
    );
    // To anyone else, the same words as another owner's tenant namespace.
    await expect(
      resolveRunScope(
        manifestsInto('shop'),
        plainCaller('user:default/eve'),
        deps,
      ),
    ).rejects.toThrow(
      'Namespace shop on cluster dev is not one you may deploy to; runs there need membership of its owner',
    );
    await expect(
      resolveRunScope(manifestsInto('tenant-acme'), shopMember, deps),
    ).rejects.toBeInstanceOf(NotAllowedError);
    // A deleted tenant's namespace belongs to nobody any more.
    await expect(
      resolveRunScope(manifestsInto('tenant-old'), shopMember, deps),
    ).rejects.toThrow(/is neither a kubechart tenant nor assigned/);
    await expect(
      resolveRunScope(
        manifestsInto('kube-system'),
        { ...shopMember, isTenantAdmin: true },
        deps,
      ),
    ).rejects.toBeInstanceOf(NotAllowedError);
  });
});

describe('checkTenantOwnership', () => {
  const acme = tenantRecord('acme', 'group:default/acme-team');
  it('accepts the owner and tenants admins only (an ownerless tenant needs an admin)', () => {
    expect(
      checkTenantOwnership(acme, {
        ...shopMember,
        ownershipRefs: ['group:default/acme-team'],
      }),
    ).toBe(acme);
    expect(
      checkTenantOwnership(acme, { ...shopMember, isTenantAdmin: true }),
    ).toBe(acme);
    expect(checkTenantOwnership(acme, shopMember)).toBeUndefined();
    expect(
      checkTenantOwnership(tenantRecord('x', undefined), shopMember),
    ).toBeUndefined();
  });
});

describe('objectOwnershipResults', () => {
  const scope = {
    cluster: 'dev',
    namespaces: ['tenant-acme'],
    defaultNamespace: 'tenant-acme',
    allowedClusterScopedKinds: [],
    tenant: 'acme',
    reason: '',
  };
  const cm = (name: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'tenant-acme' },
  });
  const live: Record<string, any> = {
    ours: {
      metadata: {
        namespace: 'tenant-acme',
        labels: { 'kubechart.io/tenant': 'acme' },
        managedFields: [{ manager: 'kubechart', operation: 'Apply' }],
      },
    },
    rival: {
      metadata: {
        namespace: 'tenant-acme',
        labels: { 'kubechart.io/tenant': 'rival' },
      },
    },
    applied: {
      metadata: {
        namespace: 'tenant-acme',
        managedFields: [
          { manager: 'kubectl', operation: 'Apply' },
          {
            manager: 'kube-controller-manager',
            operation: 'Update',
            subresource: 'status',
          },
        ],
      },
    },
    other: {
      metadata: {
        namespace: 'tenant-acme',
        labels: { 'app.kubernetes.io/managed-by': 'argocd' },
      },
    },
  };

  it('refuses existing objects of another tenant, manager or applier, and passes new and own objects', async () => {
    const results = await objectOwnershipResults(
      ['ours', 'rival', 'applied', 'other', 'absent'].map(cm),
      scope,
      async o => live[String(o.metadata?.name)],
    );
    expect(results.map(r => `${r.object.name}: ${r.message}`)).toEqual([
      'rival: ConfigMap/rival already exists and it belongs to tenant rival; a forced apply would take it over',
      'applied: ConfigMap/applied already exists and its fields are applied by kubectl; a forced apply would take it over',
      'other: ConfigMap/other already exists and it is managed by argocd; a forced apply would take it over',
    ]);
    expect(
      results.every(
        r =>
          r.ruleId === 'object-ownership' &&
          r.severity === 'error' &&
          !r.passed,
      ),
    ).toBe(true);
  });
});

describe('checkRequestedTenantOwner', () => {
  const sam = 'user:default/sam';
  const tenantRun = (owner?: string) => ({
    kind: 'tenant' as const,
    cluster: 'dev',
    tenant: 'shop',
    releases: [],
    ...(owner ? { owner } : {}),
  });
  const check =
    (
      owner: string | undefined,
      existing: TenantRecord | undefined,
      caller = shopMember,
    ) =>
    () =>
      checkRequestedTenantOwner(tenantRun(owner), existing, caller, sam);

  it('lets a new tenant be owned by the caller or one of its groups, anyone else only by a tenant admin', () => {
    expect(check('group:default/shop-team', undefined)).not.toThrow();
    expect(check(undefined, undefined)).not.toThrow(); // owned by its requester
    expect(check('group:default/acme-team', undefined)).toThrow(
      NotAllowedError,
    );
    // A deleted tenant is created anew.
    expect(
      check(
        'group:default/acme-team',
        tenantRecord('shop', 'group:default/acme-team', 'deleted'),
      ),
    ).toThrow(
      /You may not create tenant shop owned by group:default\/acme-team/,
    );
    expect(
      check('group:default/acme-team', undefined, {
        ...shopMember,
        isTenantAdmin: true,
      }),
    ).not.toThrow();
  });

  it('refuses moving a tenant to an owner the caller does not act for; keeping its owner is no move', () => {
    const owned = tenantRecord('shop', 'group:default/shop-team');
    expect(check('group:default/acme-team', owned)).toThrow(
      /You may not move tenant shop from group:default\/shop-team to group:default\/acme-team/,
    );
    expect(check(undefined, owned)).not.toThrow();
    expect(check('user:default/sam', owned)).not.toThrow();
    // Updating a tenant that already belongs to someone else is checkTenantOwnership's question (an admin's).
    const admin = { ...shopMember, isTenantAdmin: true };
    expect(
      check(
        'group:default/acme-team',
        tenantRecord('shop', 'group:default/acme-team'),
        admin,
      ),
    ).not.toThrow();
  });
});
