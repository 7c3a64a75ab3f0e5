import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  type AuditorService,
  coreServices,
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
  catalogServiceRef,
  type CatalogService,
  type EntityProvider,
  type EntityProviderConnection,
  type EntityProviderMutation,
} from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { Entity } from '@backstage/catalog-model';
import { TenantEntityProvider, tenantToEntity } from './TenantEntityProvider';
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

/**
 * The catalog of a test: what the provider's last applied mutation gave it (`held`), beside the
 * entities other sources put into it (`others`). One catalog per test, whichever replica changes it.
 */
let held: Entity[];
let others: Entity[];
beforeEach(() => {
  held = [];
  others = [];
});

/** The catalog's connection for the provider: a full mutation replaces what the provider gave it. */
function connection() {
  return {
    applyMutation: jest.fn(async (mutation: EntityProviderMutation) => {
      if (mutation.type === 'full') held = mutation.entities.map(e => e.entity);
    }),
    refresh: jest.fn(async () => {}),
  } satisfies EntityProviderConnection;
}

/** The catalog service, reading the test's catalog as it is now. */
function catalogService(): Pick<CatalogService, 'getEntities'> {
  return {
    getEntities: (request, options) =>
      catalogServiceMock({
        entities: structuredClone([...others, ...held]),
      }).getEntities(request, options),
  };
}

/** One auditor event as a test sees it, with its outcome. */
type AuditEvent = {
  eventId: string;
  severityLevel?: string;
  request?: unknown;
  meta: Record<string, any>;
  status: 'initiated' | 'succeeded' | 'failed';
  error?: string;
};

/** An auditor that keeps every event it is given in `events`. */
function capturingAuditor(events: AuditEvent[]): AuditorService {
  return {
    async createEvent(options) {
      const e: AuditEvent = {
        eventId: options.eventId,
        severityLevel: options.severityLevel,
        request: options.request,
        meta: (options.meta ?? {}) as Record<string, any>,
        status: 'initiated',
      };
      events.push(e);
      return {
        async success(o) {
          e.status = 'succeeded';
          e.meta = { ...e.meta, ...(o?.meta ?? {}) };
        },
        async fail(o) {
          e.status = 'failed';
          e.error = String(o.error?.message ?? o.error);
          e.meta = { ...e.meta, ...(o.meta ?? {}) };
        },
      };
    },
  };
}

function provider(
  runs: KubechartRunsService,
  auditor: AuditorService = capturingAuditor([]),
) {
  return new TenantEntityProvider({
    runs,
    auth: mockServices.auth(),
    catalog: catalogService(),
    auditor,
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
      catalog: catalogService(),
      auditor: capturingAuditor([]),
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
      catalog: catalogService(),
      auditor: capturingAuditor([]),
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

  it("keeps a tenant's entity with the tenant that had it first when another owner's tenant names it in other letter case", async () => {
    const conn = connection();
    const logger = mockServices.logger.mock();
    const p = new TenantEntityProvider({
      // The catalog compares entity refs without case: system:default/Shop is system:default/shop.
      runs: fakeRuns(async () => [
        {
          ...acme,
          code: 'b-shop',
          namespace: 'tenant-b-shop',
          entityRef: 'system:default/Shop',
          owner: 'group:default/team-b',
          createdAt: '2026-12-02T10:00:00.000Z',
        },
        {
          ...acme,
          code: 'a-shop',
          namespace: 'tenant-a-shop',
          entityRef: 'system:default/shop',
          createdAt: '2026-12-01T10:00:00.000Z',
        },
      ]),
      auth: mockServices.auth(),
      catalog: catalogService(),
      auditor: capturingAuditor([]),
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
      'Skipped KubeChart tenant b-shop on kube-sim: its entity system:default/shop is tenant a-shop on kube-sim, owned by group:default/shop-team, not by group:default/team-b',
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
      catalog: catalogService(),
      auditor: capturingAuditor([]),
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

describe('TenantEntityProvider audit trail', () => {
  const beta: Tenant = {
    ...acme,
    code: 'beta',
    namespace: 'tenant-beta',
    entityRef: undefined,
    owner: undefined,
    displayName: undefined,
    createdAt: '2026-12-01T10:00:00.000Z',
  };
  /** Asks for a User entity: never provided. */
  const admin: Tenant = {
    ...acme,
    code: 'admin',
    namespace: 'tenant-admin',
    entityRef: 'user:default/admin',
  };
  /** Another owner's later tenant mapping to acme's entity: never provided. */
  const squatter: Tenant = {
    ...acme,
    code: 'squat',
    namespace: 'tenant-squat',
    owner: 'user:default/mallory',
    createdAt: '2026-12-05T10:00:00.000Z',
  };
  const acmeFirst = { ...acme, createdAt: '2026-11-01T10:00:00.000Z' };

  it('records what each refresh changes in the catalog: entities added, removed and re-owned, and the tenants it skipped with why', async () => {
    const events: AuditEvent[] = [];
    const conn = connection();
    let tenants: Tenant[] = [acmeFirst, beta, admin, squatter];
    const p = provider(
      fakeRuns(async () => tenants),
      capturingAuditor(events),
    );
    await p.connect(conn);

    // The catalog holds none of them yet: the first refresh adds them all.
    await p.refresh();
    expect(events).toEqual([
      {
        eventId: 'tenant-entities-changed',
        severityLevel: 'medium',
        // the plugin acts, for no request
        request: undefined,
        status: 'succeeded',
        meta: {
          comparedWithCatalog: true,
          entities: 2,
          added: [
            {
              ref: 'system:default/acme',
              owner: 'group:default/shop-team',
              tenant: 'kube-sim/acme',
            },
            {
              ref: 'system:default/beta',
              owner: 'group:default/platform-team',
              tenant: 'kube-sim/beta',
            },
          ],
          addedCount: 2,
          removed: [],
          removedCount: 0,
          reowned: [],
          reownedCount: 0,
          skipped: [
            {
              tenant: 'kube-sim/admin',
              entityRef: 'user:default/admin',
              reason: expect.stringMatching(
                /^its entityRef "user:default\/admin" is unusable \(.*not a user\)$/,
              ),
            },
            {
              tenant: 'kube-sim/squat',
              entityRef: 'system:default/acme',
              reason:
                'its entity system:default/acme is tenant acme on kube-sim, owned by group:default/shop-team, not by user:default/mallory',
            },
          ],
          skippedCount: 2,
        },
      },
    ]);

    // Nothing changed: no event.
    await p.refresh();
    expect(events).toHaveLength(1);
    expect(conn.applyMutation).toHaveBeenCalledTimes(2);

    // acme changes hands, beta is deleted, gamma is new.
    tenants = [
      { ...acmeFirst, owner: 'user:default/bob' },
      { ...beta, code: 'gamma', namespace: 'tenant-gamma' },
      admin,
    ];
    await p.refresh();
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({
      eventId: 'tenant-entities-changed',
      status: 'succeeded',
      meta: {
        comparedWithCatalog: true,
        entities: 2,
        added: [
          {
            ref: 'system:default/gamma',
            owner: 'group:default/platform-team',
            tenant: 'kube-sim/gamma',
          },
        ],
        addedCount: 1,
        removed: [
          {
            ref: 'system:default/beta',
            owner: 'group:default/platform-team',
            tenant: 'kube-sim/beta',
          },
        ],
        removedCount: 1,
        reowned: [
          {
            ref: 'system:default/acme',
            from: 'group:default/shop-team',
            to: 'user:default/bob',
            tenant: 'kube-sim/acme',
          },
        ],
        reownedCount: 1,
        skipped: [{ tenant: 'kube-sim/admin' }],
        skippedCount: 1,
      },
    });

    // A tenant that is skipped no more (or newly) is a change too.
    tenants = [{ ...acmeFirst, owner: 'user:default/bob' }, beta];
    await p.refresh();
    await p.refresh();
    expect(events).toHaveLength(3);
    expect(events[2].meta).toMatchObject({
      added: [{ ref: 'system:default/beta' }],
      removed: [{ ref: 'system:default/gamma' }],
      reowned: [],
      skipped: [],
      skippedCount: 0,
    });
  });

  it('bounds the lists of an event, and counts what it leaves off', async () => {
    const events: AuditEvent[] = [];
    const many = Array.from({ length: 250 }, (_, i) => ({
      ...beta,
      code: `t${String(i).padStart(3, '0')}`,
      namespace: `tenant-t${i}`,
    }));
    const p = provider(
      fakeRuns(async () => many),
      capturingAuditor(events),
    );
    await p.connect(connection());
    await p.refresh();
    expect(events).toHaveLength(1);
    expect(events[0].meta.entities).toBe(250);
    expect(events[0].meta.addedCount).toBe(250);
    expect(events[0].meta.added).toHaveLength(100);
    expect(events[0].meta.added[99].ref).toBe('system:default/t099');
  });

  it('records a mutation the catalog refused as failed, and tells the same change again with the next refresh', async () => {
    const events: AuditEvent[] = [];
    const conn = connection();
    conn.applyMutation.mockRejectedValueOnce(
      new Error('catalog database unavailable'),
    );
    const p = provider(
      fakeRuns(async () => [acme]),
      capturingAuditor(events),
    );
    await p.connect(conn);
    await expect(p.refresh()).rejects.toThrow('catalog database unavailable');
    await p.refresh();
    expect(
      events.map(e => [e.status, e.error, e.meta.added.map((a: any) => a.ref)]),
    ).toEqual([
      ['failed', 'catalog database unavailable', ['system:default/acme']],
      ['succeeded', undefined, ['system:default/acme']],
    ]);
  });

  it('changes nothing in the catalog when the change cannot be recorded in the audit trail', async () => {
    const conn = connection();
    const p = provider(
      fakeRuns(async () => [acme]),
      {
        createEvent: async () => {
          throw new Error('audit log unavailable');
        },
      },
    );
    await p.connect(conn);
    await expect(p.refresh()).rejects.toThrow('audit log unavailable');
    expect(conn.applyMutation).not.toHaveBeenCalled();
  });
});

describe('TenantEntityProvider with several replicas', () => {
  // Every replica runs the provider under the same name, so there is one set of its entities in
  // the catalog; the scheduler and the events bus hand each refresh to whichever replica takes it.
  const shopAcme: Tenant = {
    ...acme,
    releases: [],
    createdAt: '2024-01-01T00:00:00.000Z',
  };

  function replicas(
    runs: KubechartRunsService,
    events: AuditEvent[],
    catalog: Pick<CatalogService, 'getEntities'> = catalogService(),
  ) {
    const logger = mockServices.logger.mock();
    const replica = () =>
      new TenantEntityProvider({
        runs,
        auth: mockServices.auth(),
        catalog,
        auditor: capturingAuditor(events),
        logger,
        taskRunner: { run: jest.fn(async () => {}) },
      });
    return { one: replica(), two: replica(), logger };
  }

  /** The sum of each kind of change over the given audit events. */
  function audited(events: AuditEvent[]) {
    const sum = (key: string) =>
      events.reduce((n, e) => n + (e.meta[key] ?? 0), 0);
    return {
      added: sum('addedCount'),
      reowned: sum('reownedCount'),
      removed: sum('removedCount'),
    };
  }

  it('records every change the catalog receives, whichever replica applies it', async () => {
    let tenants: Tenant[] = [];
    const events: AuditEvent[] = [];
    const { one, two } = replicas(
      fakeRuns(async () => tenants),
      events,
    );
    const conn = connection();
    await one.connect(conn);
    await two.connect(conn);

    await one.refresh(); // replica 1 starts: no tenants
    await two.refresh(); // replica 2 starts: no tenants
    tenants = [shopAcme];
    await one.refresh(); // replica 1 adds acme
    tenants = [{ ...shopAcme, owner: 'group:default/other-team' }];
    await two.refresh(); // replica 2 gives acme to other-team
    tenants = [];
    await one.refresh(); // replica 1 removes acme
    expect(held).toEqual([]);

    // The catalog changed three times; each change is in the audit trail, with the owners the
    // catalog actually had.
    expect(audited(events)).toEqual({ added: 1, reowned: 1, removed: 1 });
    expect(events.map(e => e.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(events.map(e => e.meta)).toEqual([
      expect.objectContaining({
        added: [
          {
            ref: 'system:default/acme',
            owner: 'group:default/shop-team',
            tenant: 'kube-sim/acme',
          },
        ],
      }),
      expect.objectContaining({
        reowned: [
          {
            ref: 'system:default/acme',
            from: 'group:default/shop-team',
            to: 'group:default/other-team',
            tenant: 'kube-sim/acme',
          },
        ],
      }),
      expect.objectContaining({
        removed: [
          {
            ref: 'system:default/acme',
            owner: 'group:default/other-team',
            tenant: 'kube-sim/acme',
          },
        ],
      }),
    ]);
  });

  it('records a removal that a replica applies after the other one added the entity', async () => {
    let tenants: Tenant[] = [];
    const events: AuditEvent[] = [];
    const { one, two } = replicas(
      fakeRuns(async () => tenants),
      events,
    );
    const conn = connection();
    await one.connect(conn);
    await two.connect(conn);
    await one.refresh();
    await two.refresh();
    tenants = [shopAcme];
    await one.refresh(); // replica 1: acme enters the catalog
    expect(held).toHaveLength(1);
    const before = events.length;
    tenants = [];
    await two.refresh(); // replica 2: acme leaves the catalog
    expect(held).toHaveLength(0);
    expect(events.slice(before)).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        meta: expect.objectContaining({
          removed: [expect.objectContaining({ ref: 'system:default/acme' })],
          removedCount: 1,
          addedCount: 0,
        }),
      }),
    ]);
  });

  it('claims nothing on its first refresh since start for what the catalog already holds, and compares with what it holds', async () => {
    // Another replica (or this one before a restart) gave the catalog acme.
    held = [tenantToEntity(shopAcme, 'kubechart-tenants')];
    let tenants = [shopAcme];
    const events: AuditEvent[] = [];
    const { one } = replicas(
      fakeRuns(async () => tenants),
      events,
    );
    await one.connect(connection());
    await one.refresh();
    expect(events).toEqual([]);

    tenants = [{ ...shopAcme, owner: 'user:default/bob' }];
    await one.refresh();
    expect(events.map(e => e.meta)).toEqual([
      expect.objectContaining({
        comparedWithCatalog: true,
        addedCount: 0,
        removedCount: 0,
        reowned: [
          expect.objectContaining({
            ref: 'system:default/acme',
            from: 'group:default/shop-team',
            to: 'user:default/bob',
          }),
        ],
      }),
    ]);
  });

  it("leaves out of the comparison entities the provider did not give the catalog, even when they look like a tenant's", async () => {
    // Registered from a catalog-info.yaml: the catalog sets its location annotations itself.
    others = [
      {
        ...tenantToEntity(
          {
            ...shopAcme,
            code: 'lookalike',
            entityRef: 'system:default/lookalike',
          },
          'kubechart-tenants',
        ),
      },
    ];
    others[0].metadata.annotations = {
      ...others[0].metadata.annotations,
      'backstage.io/managed-by-location':
        'url:https://git.example.com/lookalike/catalog-info.yaml',
      'backstage.io/managed-by-origin-location':
        'url:https://git.example.com/lookalike/catalog-info.yaml',
    };
    const events: AuditEvent[] = [];
    const { one } = replicas(
      fakeRuns(async () => [shopAcme]),
      events,
    );
    await one.connect(connection());
    await one.refresh();
    expect(events.map(e => e.meta)).toEqual([
      expect.objectContaining({
        added: [expect.objectContaining({ ref: 'system:default/acme' })],
        removed: [],
        reowned: [],
      }),
    ]);
  });

  it('reads the catalog with its own credentials, and records that it could not compare when the catalog cannot be read', async () => {
    held = [tenantToEntity(shopAcme, 'kubechart-tenants')];
    const getEntities = jest.fn(async () => {
      throw new Error('catalog unavailable');
    });
    const events: AuditEvent[] = [];
    const { one, logger } = replicas(
      fakeRuns(async () => [{ ...shopAcme, owner: 'user:default/bob' }]),
      events,
      { getEntities },
    );
    const conn = connection();
    await one.connect(conn);
    await one.refresh();

    expect(getEntities).toHaveBeenCalledWith(
      expect.objectContaining({ filter: expect.anything() }),
      {
        credentials: expect.objectContaining({
          principal: expect.objectContaining({ type: 'service' }),
        }),
      },
    );
    // No added, removed or re-owned it cannot know: what it gave the catalog, and why it could not
    // compare.
    expect(events).toEqual([
      {
        eventId: 'tenant-entities-changed',
        severityLevel: 'medium',
        request: undefined,
        status: 'succeeded',
        meta: {
          comparedWithCatalog: false,
          catalogError: 'Error: catalog unavailable',
          entities: 1,
          provided: [
            {
              ref: 'system:default/acme',
              owner: 'user:default/bob',
              tenant: 'kube-sim/acme',
            },
          ],
          providedCount: 1,
          skipped: [],
          skippedCount: 0,
        },
      },
    ]);
    expect(conn.applyMutation).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('catalog unavailable'),
    );
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
        createServiceFactory({
          service: catalogServiceRef,
          deps: {},
          factory: () => catalogService() as CatalogService,
        }),
        ...(features ?? []),
      ],
    });
    return providers;
  }

  it("records what the provider changes in the catalog with the catalog's auditor", async () => {
    const events: AuditEvent[] = [];
    const providers = await startModule(
      fakeRuns(async () => [acme]),
      [
        createServiceFactory({
          service: coreServices.auditor,
          deps: {},
          factory: () => capturingAuditor(events),
        }),
      ],
    );
    const conn = connection();
    await providers[0].connect(conn);
    await (providers[0] as TenantEntityProvider).refresh();
    expect(conn.applyMutation).toHaveBeenCalledTimes(1);
    expect(events.map(e => [e.eventId, e.status, e.meta.added])).toEqual([
      [
        'tenant-entities-changed',
        'succeeded',
        [
          {
            ref: 'system:default/acme',
            owner: 'group:default/shop-team',
            tenant: 'kube-sim/acme',
          },
        ],
      ],
    ]);
  });

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
