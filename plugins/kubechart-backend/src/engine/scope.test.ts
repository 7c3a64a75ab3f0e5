import { NotAllowedError } from '@backstage/errors';
import { ConfigReader } from '@backstage/config';
import { RunStore, TenantRecord } from '../database/RunStore';
import {
  checkRequestedTenantOwner,
  checkTenantNamespace,
  checkTenantOwnership,
  describeTenantChange,
  objectOwnershipResults,
  plainCaller,
  resolveRunScope,
  tenantCodeNamer,
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
      undefined,
      async code => code === 'rival',
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

describe('objectOwnershipResults, told to a caller who may not learn of the other tenant or namespace', () => {
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
  const helmOwned = (releaseNamespace: string) => ({
    metadata: {
      namespace: 'tenant-acme',
      annotations: {
        'meta.helm.sh/release-name': 'payments',
        'meta.helm.sh/release-namespace': releaseNamespace,
      },
    },
  });
  const live: Record<string, any> = {
    rival: {
      metadata: {
        namespace: 'tenant-acme',
        labels: { 'kubechart.io/tenant': 'rival' },
      },
    },
    released: helmOwned('tenant-acme'),
    elsewhere: helmOwned('tenant-rival'),
  };

  it('names neither the tenant an object is labelled for nor a release of another namespace', async () => {
    const asked: string[] = [];
    const results = await objectOwnershipResults(
      ['rival', 'released', 'elsewhere'].map(cm),
      scope,
      async o => live[String(o.metadata?.name)],
      undefined,
      async code => {
        asked.push(code);
        return false;
      },
    );
    expect(results.map(r => `${r.object.name}: ${r.message}`)).toEqual([
      'rival: ConfigMap/rival already exists and it belongs to another tenant; a forced apply would take it over',
      'released: ConfigMap/released already exists and it is managed by Helm release payments; a forced apply would take it over',
      'elsewhere: ConfigMap/elsewhere already exists and it is managed by a Helm release of another namespace; a forced apply would take it over',
    ]);
    expect(asked).toEqual(['rival']);
    // Without being told whom it is for, it names no other tenant.
    const [unnamed] = await objectOwnershipResults(
      [cm('rival')],
      scope,
      async o => live[String(o.metadata?.name)],
    );
    expect(unnamed.message).toContain('it belongs to another tenant');
  });
});

describe('describeTenantChange', () => {
  const shop = { tenant: 'shop', cluster: 'dev' };
  const was = { live: true, owner: 'group:default/acme-team' };
  const movedTo = tenantRecord('shop', 'group:default/rival-team');
  const prefix =
    'Tenant shop on cluster dev changed after this run was requested:';

  it('names an owner only to whom acts for it or may read the tenant', async () => {
    expect(
      await describeTenantChange(shop, was, movedTo, {
        ownershipRefs: ['group:default/acme-team'],
      }),
    ).toBe(
      `${prefix} it was owned by group:default/acme-team, and is now owned by another owner`,
    );
    expect(await describeTenantChange(shop, was, movedTo)).toBe(
      `${prefix} it was owned by another owner, and is now owned by another owner`,
    );
    expect(
      await describeTenantChange(
        shop,
        { live: false },
        tenantRecord('shop', 'group:default/rival-team'),
        { ownershipRefs: [], mayReadEveryTenant: async () => true },
      ),
    ).toBe(
      `${prefix} it did not exist then, and now exists, owned by group:default/rival-team`,
    );
    const readIt: TenantRecord[] = [];
    expect(
      await describeTenantChange(shop, was, movedTo, {
        mayReadTenant: async t => {
          readIt.push(t);
          return true;
        },
      }),
    ).toBe(
      `${prefix} it was owned by group:default/acme-team, and is now owned by group:default/rival-team`,
    );
    expect(readIt).toEqual([movedTo]);
  });

  it('names no owner when whether it may cannot be told', async () => {
    expect(
      await describeTenantChange(shop, was, movedTo, {
        mayReadTenant: async () => {
          throw new Error('permission backend down');
        },
      }),
    ).toBe(
      `${prefix} it was owned by another owner, and is now owned by another owner`,
    );
  });

  it('is undefined, asking nothing, while the tenant is as it was', async () => {
    const asked: string[] = [];
    expect(
      await describeTenantChange(
        shop,
        was,
        tenantRecord('shop', 'group:default/acme-team'),
        {
          mayReadEveryTenant: async () => {
            asked.push('every');
            return true;
          },
        },
      ),
    ).toBeUndefined();
    expect(asked).toEqual([]);
  });
});

describe('checkTenantNamespace', () => {
  const labelled = (label: string) => ({
    metadata: { labels: { 'kubechart.io/tenant': label } },
  });
  const target = { cluster: 'dev', namespace: 'tenant-shop', tenant: 'shop' };
  const rival = tenantRecord('rival', 'group:default/rival-team');
  const failure = (p: Promise<void>) =>
    p.then(
      () => 'passed',
      e => String(e.message),
    );

  it("names the tenant a namespace is labelled for only to a caller who may read that tenant's record", async () => {
    const readable: TenantRecord[] = [];
    const carol = tenantCodeNamer(
      {
        mayReadTenant: async t => {
          readable.push(t);
          return t.code === 'rival';
        },
      },
      'dev',
      store([rival]),
    );
    expect(
      await failure(
        checkTenantNamespace(labelled('rival'), target, 'tenant', carol),
      ),
    ).toContain('(it is labelled kubechart.io/tenant=rival);');
    expect(readable).toEqual([rival]);
    // A label naming no tenant on the cluster: only to a caller who may read every tenant.
    expect(
      await failure(
        checkTenantNamespace(labelled('ghost'), target, 'tenant', carol),
      ),
    ).toContain('(it is labelled kubechart.io/tenant for another tenant);');
    const admin = tenantCodeNamer(
      { mayReadEveryTenant: async () => true },
      'dev',
      store([]),
    );
    expect(
      await failure(
        checkTenantNamespace(labelled('ghost'), target, 'tenant-delete', admin),
      ),
    ).toContain('(it is labelled kubechart.io/tenant=ghost);');
    for (const naming of [undefined, { ownershipRefs: ['user:default/bob'] }])
      expect(
        await failure(
          checkTenantNamespace(
            labelled('rival'),
            target,
            'tenant',
            tenantCodeNamer(naming, 'dev', store([rival])),
          ),
        ),
      ).toContain('(it is labelled kubechart.io/tenant for another tenant);');
    expect(
      await failure(checkTenantNamespace(labelled('shop'), target, 'tenant')),
    ).toBe('passed');
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
