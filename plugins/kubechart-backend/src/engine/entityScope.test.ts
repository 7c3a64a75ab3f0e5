import { Entity } from '@backstage/catalog-model';
import { ConfigReader } from '@backstage/config';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { RunStore, TenantRecord } from '../database/RunStore';
import { resolveRunCaller } from './caller';
import {
  CATALOG_READ_TIMEOUT_MS,
  checkTenantEntity,
  checkTenantSystemInCatalog,
  entityRefOfTenant,
  normalizeTenantEntityRef,
  tenantRunEntityOwner,
} from './entityScope';
import { RunCaller, resolveRunScope } from './scope';
import { readEngineSettings } from './settings';

const tenantRecord = (
  code: string,
  owner: string,
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

const deps = {
  store: {
    getTenants: async () => [
      tenantRecord('acme', 'group:default/acme-team'),
      tenantRecord('rival', 'group:default/rival-team'),
      tenantRecord('gone', 'group:default/acme-team', 'deleted'),
    ],
  } as unknown as RunStore,
  settings: readEngineSettings(
    new ConfigReader({
      kubechart: {
        clusters: {
          dev: {
            namespaces: {
              shop: { owner: 'group:default/acme-team' },
              payments: { owner: 'group:default/platform-team' },
            },
          },
        },
      },
    }),
  ),
};

const component = (
  name: string,
  owner: string,
  annotations: Record<string, string>,
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'service', lifecycle: 'production', owner },
});

const catalog: Record<string, Entity> = {
  'component:default/web': component('web', 'acme-team', {
    'kubechart.io/tenant': 'acme',
  }),
  'component:default/cart': component('cart', 'group:default/acme-team', {
    'backstage.io/kubernetes-namespace': 'shop',
    'kubechart.io/cluster': 'dev',
  }),
  'component:default/api': component('api', 'acme-team', {
    'kubechart.io/namespace': 'tenant-acme',
  }),
  // Annotations anyone can write, pointing at namespaces the owner was never given.
  'component:default/squatter': component('squatter', 'acme-team', {
    'kubechart.io/tenant': 'rival',
    'backstage.io/kubernetes-namespace': 'payments',
    'kubechart.io/namespace': 'tenant-rival',
  }),
  'component:default/bare': component('bare', 'acme-team', {}),
  'component:default/elsewhere': component('elsewhere', 'acme-team', {
    'kubechart.io/tenant': 'acme',
    'kubechart.io/cluster': 'prod',
  }),
  'component:default/old': component('old', 'acme-team', {
    'kubechart.io/tenant': 'gone',
  }),
};

const alice: RunCaller = {
  ownershipRefs: ['user:default/alice', 'group:default/acme-team'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
  readEntity: async ref => catalog[ref],
};

const run = (
  kind: 'chart' | 'manifests' | 'rollback',
  namespace: string,
  entityRef: string,
) => {
  if (kind === 'chart')
    return {
      kind,
      cluster: 'dev',
      namespace,
      entityRef,
      release: { name: 'x', chart: 'webapp' },
    };
  if (kind === 'rollback')
    return {
      kind,
      cluster: 'dev',
      namespace,
      entityRef,
      release: 'x',
      revision: 1,
    };
  return { kind, cluster: 'dev', namespace, entityRef, manifests: 'x' };
};

describe.each(['chart', 'manifests', 'rollback'] as const)(
  'the scope of a %s run for an entity',
  kind => {
    it('is the namespace of the tenant named by kubechart.io/tenant, when the tenant is owned by the entity owner', async () => {
      expect(
        await resolveRunScope(
          run(kind, 'tenant-acme', 'component:default/web'),
          alice,
          deps,
        ),
      ).toEqual({
        cluster: 'dev',
        namespaces: ['tenant-acme'],
        defaultNamespace: 'tenant-acme',
        allowedClusterScopedKinds: [],
        tenant: 'acme',
        entityOwner: 'group:default/acme-team',
        reason:
          'namespace tenant-acme of component:default/web (kubechart.io/tenant: acme, tenant owned by group:default/acme-team)',
      });
    });

    it('is a namespace named by backstage.io/kubernetes-namespace that the platform assigned to the entity owner', async () => {
      expect(
        await resolveRunScope(
          run(kind, 'shop', 'component:default/cart'),
          alice,
          deps,
        ),
      ).toMatchObject({
        namespaces: ['shop'],
        reason:
          'namespace shop of component:default/cart (backstage.io/kubernetes-namespace: shop, assigned to group:default/acme-team in kubechart.clusters.dev.namespaces)',
      });
    });

    it('is a tenant namespace named by kubechart.io/namespace when the tenant is owned by the entity owner', async () => {
      expect(
        await resolveRunScope(
          run(kind, 'tenant-acme', 'component:default/api'),
          alice,
          deps,
        ),
      ).toMatchObject({ namespaces: ['tenant-acme'], tenant: 'acme' });
    });

    it('refuses annotations naming a tenant or namespace whose record lists another owner', async () => {
      // Alice may read every tenant: the refusal names them and their owners.
      const reader: RunCaller = {
        ...alice,
        mayReadTenant: async () => true,
        mayReadEveryTenant: async () => true,
      };
      for (const namespace of ['tenant-rival', 'payments']) {
        const err = await resolveRunScope(
          run(kind, namespace, 'component:default/squatter'),
          reader,
          deps,
        ).catch(e => e);
        expect(err).toBeInstanceOf(NotAllowedError);
        expect(err.message).toBe(
          'A run for component:default/squatter may deploy only where that entity may deploy; it may deploy to no namespace on cluster dev: ' +
            "kubechart.io/tenant: rival: tenant rival is owned by group:default/rival-team, not by the entity's owner group:default/acme-team; " +
            "backstage.io/kubernetes-namespace: payments: assigned to group:default/platform-team, not to the entity's owner group:default/acme-team; " +
            "kubechart.io/namespace: tenant-rival: namespace of tenant rival, owned by group:default/rival-team, not by the entity's owner group:default/acme-team",
        );
      }
    });

    it('names no other tenant or owner in that refusal to a caller who may not read them', async () => {
      const reader: RunCaller = {
        ...alice,
        mayReadTenant: async t => t.code === 'acme',
        mayReadEveryTenant: async () => false,
      };
      for (const caller of [alice, reader]) {
        const err = await resolveRunScope(
          run(kind, 'tenant-rival', 'component:default/squatter'),
          caller,
          deps,
        ).catch(e => e);
        expect(err).toBeInstanceOf(NotAllowedError);
        expect(err.message).toBe(
          'A run for component:default/squatter may deploy only where that entity may deploy; it may deploy to no namespace on cluster dev: ' +
            "kubechart.io/tenant: rival: a tenant not owned by the entity's owner group:default/acme-team; " +
            "backstage.io/kubernetes-namespace: payments: not a namespace of the entity's owner group:default/acme-team; " +
            "kubechart.io/namespace: tenant-rival: not a namespace of the entity's owner group:default/acme-team",
        );
      }
    });

    it("refuses a namespace other than the entity's, even one the caller owns", async () => {
      await expect(
        resolveRunScope(
          run(kind, 'shop', 'component:default/web'),
          alice,
          deps,
        ),
      ).rejects.toThrow(
        'A run for component:default/web may deploy only where that entity may deploy; it may deploy to tenant-acme on cluster dev, not to shop',
      );
    });

    it('fails closed: a missing entity, no catalog, no annotation, a deleted tenant, another cluster, a caller outside the owner', async () => {
      const refusals = await Promise.all(
        [
          [run(kind, 'tenant-acme', 'component:default/ghost'), alice],
          [
            run(kind, 'tenant-acme', 'component:default/web'),
            { ...alice, readEntity: undefined },
          ],
          [run(kind, 'tenant-acme', 'component:default/bare'), alice],
          [run(kind, 'tenant-gone', 'component:default/old'), alice],
          [run(kind, 'tenant-acme', 'component:default/elsewhere'), alice],
          [
            run(kind, 'tenant-acme', 'component:default/web'),
            {
              ...alice,
              ownershipRefs: ['user:default/eve', 'group:default/rival-team'],
            },
          ],
        ].map(([request, who]) =>
          resolveRunScope(request as any, who as RunCaller, deps).catch(e => e),
        ),
      );
      expect(refusals.every(e => e instanceof NotAllowedError)).toBe(true);
      expect(
        refusals.map(e => e.message.split('; ').slice(1).join('; ')),
      ).toEqual([
        'the catalog has no entity component:default/ghost visible to user:default/alice',
        'the catalog cannot be read here, so its scope is unknown',
        'it may deploy to no namespace on cluster dev: it has no kubechart.io/tenant, backstage.io/kubernetes-namespace or kubechart.io/namespace annotation',
        'it may deploy to no namespace on cluster dev: kubechart.io/tenant: gone names no tenant on cluster dev',
        'its kubechart.io/cluster annotation is prod, not dev',
        'component:default/web is owned by group:default/acme-team and user:default/eve is not a member of it',
      ]);
    });
  },
);

describe('resolveRunCaller', () => {
  /** A permission service that grants nothing beyond what the route checked. */
  const denyAll = {
    authorize: async (requests: unknown[]) =>
      requests.map(() => ({ result: AuthorizeResult.DENY })),
  } as any;

  it("reads entities from the catalog with the caller's own credentials", async () => {
    const credentials = mockCredentials.user('user:default/alice');
    // The part of the catalog service (catalogServiceRef) the scope reads.
    const getEntityByRef = jest.fn(async (ref: string) => catalog[ref]);
    const entities = { getEntityByRef };
    const caller = await resolveRunCaller({
      credentials,
      actor: 'user:default/alice',
      permissions: denyAll,
      catalog: entities,
    });
    expect(
      (await caller.readEntity!('component:default/web'))?.metadata.name,
    ).toBe('web');
    expect(await caller.readEntity!('component:default/ghost')).toBeUndefined();
    expect(getEntityByRef).toHaveBeenCalledWith('component:default/web', {
      credentials,
    });
    // Without the plugin's credentials it cannot tell a hidden entity from an absent one.
    expect(caller.entityExists).toBeUndefined();
  });

  it("asks whether an entity exists with the plugin's own credentials, not the caller's", async () => {
    const credentials = mockCredentials.user('user:default/alice');
    const own = mockCredentials.service('plugin:kubechart');
    // The catalog hides payments-api from alice, not from the plugin.
    const hiddenApi = component('payments-api', 'group:default/payments', {});
    const getEntityByRef = jest.fn(async (ref: string, o: any) =>
      o.credentials === own ? catalog[ref] ?? hiddenApi : undefined,
    );
    const caller = await resolveRunCaller({
      credentials,
      actor: 'user:default/alice',
      permissions: denyAll,
      catalog: { getEntityByRef },
      auth: { getOwnServiceCredentials: async () => own },
    });
    expect(await caller.readEntity!('component:default/payments-api')).toBe(
      undefined,
    );
    expect(await caller.entityExists!('component:default/payments-api')).toBe(
      true,
    );
  });

  /**
   * Backstage's own decision for a service principal (ServerPermissionClient): every permission,
   * unless its token's access restrictions name the permissions it may use.
   */
  const asBackstageDecidesForServices = {
    authorize: async (
      requests: { permission: { name: string } }[],
      o: { credentials: any },
    ) =>
      requests.map(r => {
        const names =
          o.credentials.principal.accessRestrictions?.permissionNames;
        return {
          result:
            names && !names.includes(r.permission.name)
              ? AuthorizeResult.DENY
              : AuthorizeResult.ALLOW,
        };
      }),
  } as any;

  it('gives a service acting as itself neither kubechart.tenants.admin nor kubechart.runs.cluster-scoped unless its token names them', async () => {
    for (const subject of ['plugin:catalog', 'external:ci-bot']) {
      const caller = await resolveRunCaller({
        credentials: mockCredentials.service(subject),
        actor: `service:${subject}`,
        permissions: asBackstageDecidesForServices,
      });
      expect(caller).toMatchObject({
        ownershipRefs: [`service:${subject}`],
        isTenantAdmin: false,
        mayApplyClusterScoped: false,
      });
    }
    // Granted explicitly: the external access token's restrictions name the permission.
    const granted = await resolveRunCaller({
      credentials: mockCredentials.service('external:ci-bot', {
        permissionNames: ['kubechart.runs.create', 'kubechart.tenants.admin'],
      }),
      actor: 'service:external:ci-bot',
      permissions: asBackstageDecidesForServices,
    });
    expect(granted).toMatchObject({
      isTenantAdmin: true,
      mayApplyClusterScoped: false,
    });
    // A user holds what the policy decides.
    const user = await resolveRunCaller({
      credentials: mockCredentials.user('user:default/admin'),
      actor: 'user:default/admin',
      permissions: asBackstageDecidesForServices,
    });
    expect(user).toMatchObject({
      isTenantAdmin: true,
      mayApplyClusterScoped: true,
    });
  });
});

describe("a tenant run's entityRef", () => {
  const acmeMember = {
    ownershipRefs: ['user:default/sam', 'group:default/acme-team'],
    isTenantAdmin: false,
  };
  const shopRun = {
    cluster: 'dev',
    tenant: 'shop',
    entityRef: 'system:default/shop',
  };

  it('is normalised as entity pages ask for it, a System in default unless it says otherwise', () => {
    expect(normalizeTenantEntityRef('System:Default/Shop', 'shop')).toBe(
      'system:default/shop',
    );
    expect(normalizeTenantEntityRef('shop', 'shop')).toBe(
      'system:default/shop',
    );
    expect(normalizeTenantEntityRef('team/shop', 'shop')).toBe(
      'system:team/shop',
    );
    expect(normalizeTenantEntityRef('resource:shop-db', 'shop')).toBe(
      'resource:default/shop-db',
    );
    for (const bad of [
      'component:',
      ':x',
      'component:default/a/b',
      'x'.repeat(300),
    ])
      expect(() => normalizeTenantEntityRef(bad, 'shop')).toThrow(InputError);
    for (const kind of [
      'user',
      'group',
      'location',
      'template',
      'api',
      'domain',
    ])
      expect(() =>
        normalizeTenantEntityRef(`${kind}:default/x`, 'shop'),
      ).toThrow(/a tenant's entity must be a Component, System or Resource/);
    // What the catalog module makes of a stored tenant; an unusable one is no entity.
    expect(entityRefOfTenant({ code: 'shop' })).toBe('system:default/shop');
    expect(
      entityRefOfTenant({ code: 'shop', entityRef: 'user:default/x' }),
    ).toBeUndefined();
  });

  it('fails closed without a catalog (403) or when the catalog cannot be read (503)', async () => {
    await expect(
      checkTenantEntity(
        shopRun,
        undefined,
        'user:default/sam',
        acmeMember,
        deps,
      ),
    ).rejects.toThrow(
      new NotAllowedError(
        'Tenant shop may not name system:default/shop: the catalog cannot be read here, so whose entity it is is unknown',
      ),
    );
    const broken = {
      ...acmeMember,
      readEntity: async () => {
        throw new Error('catalog is down');
      },
    };
    const error = await checkTenantEntity(
      shopRun,
      undefined,
      'user:default/sam',
      broken,
      deps,
    ).catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toContain('catalog is down');
  });

  it("refuses another team's entity and another owner's tenant entity; accepts one's own and a new one", async () => {
    const catalogOf = (entities: Entity[]) => ({
      ...acmeMember,
      readEntity: async (ref: string) =>
        entities.find(
          e => `${e.kind.toLowerCase()}:default/${e.metadata.name}` === ref,
        ),
      entityExists: async (ref: string) =>
        entities.some(
          e => `${e.kind.toLowerCase()}:default/${e.metadata.name}` === ref,
        ),
    });
    const check = (
      entityRef: string,
      c: Parameters<typeof checkTenantEntity>[3],
      owner = 'group:default/acme-team',
    ) =>
      checkTenantEntity({ ...shopRun, entityRef }, undefined, owner, c, deps);
    const entities = [
      component('payments-api', 'group:default/payments', {}),
      component('acme-api', 'group:default/acme-team', {}),
      component('orphan', '', {}),
    ];
    await expect(
      check('component:default/payments-api', catalogOf(entities)),
    ).rejects.toThrow(NotAllowedError);
    await expect(
      check('component:default/orphan', catalogOf(entities)),
    ).rejects.toThrow(/has no owner in the catalog/);
    await expect(
      check('component:default/acme-api', catalogOf(entities)),
    ).resolves.toBeUndefined();
    await expect(
      check('system:default/new', catalogOf(entities)),
    ).resolves.toBeUndefined();
    await expect(
      check('component:default/payments-api', {
        ...catalogOf(entities),
        isTenantAdmin: true,
      }),
    ).resolves.toBeUndefined();
    // Tenant rival (no entityRef) is the System rival in the catalog, owned by rival-team.
    await expect(check('system:default/rival', catalogOf([]))).rejects.toThrow(
      ConflictError,
    );
    await expect(
      check('system:default/rival', catalogOf([]), 'group:default/rival-team'),
    ).resolves.toBeUndefined();
    // A deleted tenant's entity is free.
    await expect(
      check('system:default/gone', catalogOf([]), 'user:default/sam'),
    ).resolves.toBeUndefined();
  });
  it("refuses an entity the catalog hides from the caller: it is another team's, though it reads as absent", async () => {
    // The catalog's permission rules hide payments-api from sam; the plugin sees it.
    const hidden = {
      ...acmeMember,
      readEntity: async () => undefined,
      entityExists: async (ref: string) =>
        ref === 'component:default/payments-api',
    };
    const check = (
      entityRef: string,
      c: Parameters<typeof checkTenantEntity>[3],
    ) =>
      checkTenantEntity(
        { ...shopRun, entityRef },
        undefined,
        'group:default/acme-team',
        c,
        deps,
      );
    await expect(
      check('component:default/payments-api', hidden),
    ).rejects.toThrow(
      new NotAllowedError(
        'Tenant shop may not name component:default/payments-api: the catalog has that entity and user:default/sam may not see it, so user:default/sam cannot be shown to own it',
      ),
    );
    // One that is in no catalog yet is the tenant's to create.
    await expect(
      check('system:default/brand-new', hidden),
    ).resolves.toBeUndefined();
    // A tenants admin may name it, as any other entity.
    await expect(
      check('component:default/payments-api', {
        ...hidden,
        isTenantAdmin: true,
      }),
    ).resolves.toBeUndefined();
    // Fails closed: nothing to tell hidden from absent (403), or the catalog down (503).
    await expect(
      check('system:default/brand-new', {
        ...hidden,
        entityExists: undefined,
      }),
    ).rejects.toThrow(
      /user:default\/sam cannot see it in the catalog, and whether it exists cannot be checked here/,
    );
    const error = await check('system:default/brand-new', {
      ...hidden,
      entityExists: async () => {
        throw new Error('catalog is down');
      },
    }).catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
  });
});

/**
 * A catalog that never answers leaves no run request pending for as long as the catalog client
 * waits: each read that decides whether a tenant run may start gives up after
 * CATALOG_READ_TIMEOUT_MS with the 503 a failed read gives.
 */
describe('a catalog read that never answers', () => {
  const never = () => new Promise<Entity | undefined>(() => {});
  const shopRun = {
    cluster: 'dev',
    tenant: 'shop',
    entityRef: 'system:default/shop',
  };
  const member = {
    ownershipRefs: ['user:default/sam'],
    isTenantAdmin: false,
  };
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** The outcome of `check` once the timeout passed (a pending check is `'pending'`). */
  const after = async (check: Promise<void>, ms: number) => {
    let outcome: unknown = 'pending';
    check.then(
      () => (outcome = 'passed'),
      e => (outcome = e),
    );
    await jest.advanceTimersByTimeAsync(ms);
    return outcome as any;
  };

  it('is a 503 for the System a tenant without an entityRef gets', async () => {
    const check = checkTenantSystemInCatalog(
      shopRun,
      undefined,
      member,
      never,
      'Tenant shop may not be created',
    );
    expect(await after(check, CATALOG_READ_TIMEOUT_MS - 1)).toBe('pending');
    const error = await after(check, 1);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toBe(
      `Tenant shop may not be created now: the catalog could not be read to learn whether it has that System (the catalog did not answer within ${
        CATALOG_READ_TIMEOUT_MS / 1000
      }s); try again later`,
    );
  });

  it('is a 503 for the entity a tenant names, read or checked for existence', async () => {
    for (const caller of [
      { ...member, readEntity: never },
      {
        ...member,
        readEntity: async () => undefined,
        entityExists: () => new Promise<boolean>(() => {}),
      },
    ]) {
      const error = await after(
        checkTenantEntity(shopRun, undefined, 'user:default/sam', caller, deps),
        CATALOG_READ_TIMEOUT_MS,
      );
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error.message).toContain(
        `the catalog did not answer within ${CATALOG_READ_TIMEOUT_MS / 1000}s`,
      );
    }
  });
});

describe('the owner a tenant run records for its entity', () => {
  const request = {
    cluster: 'dev',
    tenant: 'shop',
    entityRef: 'system:default/shop',
  };
  const NEW_OWNER = 'group:default/new-owner';
  const system = (owner: string, annotations: Record<string, string> = {}) =>
    ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'System',
      metadata: { name: 'shop', namespace: 'default', annotations },
      spec: { owner },
    } as Entity);

  it("is the tenant's owner for an entity the tenant provider makes, and the catalog's owner for one registered there", async () => {
    expect(await tenantRunEntityOwner(request, NEW_OWNER)).toBe(NEW_OWNER);
    expect(
      await tenantRunEntityOwner(request, NEW_OWNER, async () => undefined),
    ).toBe(NEW_OWNER);
    // The provider's entity of this tenant still carries the owner the run is moving it from.
    const providers = system('group:default/old-owner', {
      'kubechart.io/tenant': 'shop',
      'kubechart.io/cluster': 'dev',
    });
    expect(
      await tenantRunEntityOwner(request, NEW_OWNER, async () => providers),
    ).toBe(NEW_OWNER);
    expect(
      await tenantRunEntityOwner(request, NEW_OWNER, async () =>
        system('team-a'),
      ),
    ).toBe('group:default/team-a');
    // Annotated for the same code on another cluster: a registered entity.
    expect(
      await tenantRunEntityOwner(request, NEW_OWNER, async () =>
        system('team-a', {
          'kubechart.io/tenant': 'shop',
          'kubechart.io/cluster': 'prod',
        }),
      ),
    ).toBe('group:default/team-a');
  });

  it('refuses the run (503) when the catalog cannot be read', async () => {
    await expect(
      tenantRunEntityOwner(request, NEW_OWNER, async () => {
        throw new Error('connect ECONNREFUSED');
      }),
    ).rejects.toThrow(ServiceUnavailableError);
  });
});
