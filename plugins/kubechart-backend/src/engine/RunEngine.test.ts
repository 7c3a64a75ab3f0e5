import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, InputError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunCaller, plainCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const tenantRequest = (code: string, over: Record<string, any> = {}) => ({
  kind: 'tenant' as const,
  cluster: 'dev',
  tenant: code,
  entityRef: `component:default/${code}`,
  credentials: ['databasePassword'],
  releases: [
    { name: 'web', chart: 'webapp', values: { replicas: 2 } },
    {
      name: 'api',
      chart: 'webapp',
      values: { replicas: 2, database: { password: 'userGivenSecret123' } },
    },
  ],
  ...over,
});

/**
 * A caller reading a catalog that has none of the tenants' entities yet (the tenant provider creates
 * them): a tenant run naming an entityRef is checked against the catalog, and refused without one.
 */
const withCatalog = (
  actor: string,
  over: Partial<RunCaller> = {},
): RunCaller => ({
  ...plainCaller(actor),
  readEntity: async () => undefined,
  entityExists: async () => false,
  ...over,
});

describe.each(databases.eachSupportedId())('RunEngine on %p', databaseId => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  it('provisions a tenant end to end and converges when repeated', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const run = await engine.submit(
      tenantRequest('acme'),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(run.id);
    const done = (await store.getRun(run.id))!;
    const events = await store.getEvents(run.id);
    expect({ status: done.status, reason: done.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    expect(done.transitions.map(t => t.status)).toEqual([
      'pending',
      'running',
      'succeeded',
    ]);
    const steps = events
      .filter(e => e.type === 'step' && e.stepStatus === 'succeeded')
      .map(e => e.step);
    expect(steps).toEqual([
      'validate',
      'namespace',
      'deployer',
      'resource-quota',
      'limit-range',
      'network-policy',
      'credentials',
      'release:web',
      'release:api',
      'wait',
    ]);
    expect(events.some(e => e.message.startsWith('[web] '))).toBe(true);

    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'tenant-acme' });
    expect(ns.metadata?.labels).toMatchObject({
      'kubechart.io/tenant': 'acme',
      'app.kubernetes.io/managed-by': 'kubechart',
    });
    const secret = await core.readNamespacedSecret({
      name: 'kubechart-tenant-credentials',
      namespace: 'tenant-acme',
    });
    const password = Buffer.from(
      secret.data!.databasePassword,
      'base64',
    ).toString();
    expect(password.length).toBeGreaterThan(10);

    // secrets never stored: neither generated nor user-given
    const rows = JSON.stringify([done, events]);
    expect(rows).not.toContain(password);
    expect(rows).not.toContain('userGivenSecret123');
    expect(done.values).toMatchObject({
      api: {
        database: { password: '***' },
        kubechart: { credentials: { databasePassword: '***' } },
      },
    });
    expect(done.input).toMatchObject({
      tenant: 'acme',
      credentials: ['databasePassword'],
      releases: [
        { name: 'web' },
        { name: 'api', values: { database: { password: '***' } } },
      ],
    });

    const secretsBefore = (
      await core.listNamespacedSecret({ namespace: 'tenant-acme' })
    ).items
      .map(s => s.metadata?.name)
      .sort();
    const again = await engine.submit(
      tenantRequest('acme'),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(again.id);
    const second = (await store.getRun(again.id))!;
    expect(second.status).toBe('succeeded');
    const secretsAfter = (
      await core.listNamespacedSecret({ namespace: 'tenant-acme' })
    ).items
      .map(s => s.metadata?.name)
      .sort();
    // no new helm revision, no new credentials
    expect({
      secretsAfter,
      log: (await store.getEvents(again.id))
        .filter(e => e.message.includes('helm upgrade'))
        .map(e => e.message),
    }).toEqual({ secretsAfter: secretsBefore, log: [] });
    const skipped = (await store.getEvents(again.id))
      .filter(e => e.stepStatus === 'skipped')
      .map(e => e.step);
    expect(skipped).toEqual(
      expect.arrayContaining([
        'namespace',
        'resource-quota',
        'limit-range',
        'network-policy',
        'release:web',
        'release:api',
      ]),
    );
    const secretAgain = await core.readNamespacedSecret({
      name: 'kubechart-tenant-credentials',
      namespace: 'tenant-acme',
    });
    expect(secretAgain.data).toEqual(secret.data);
  });

  it('provisions with helm 4 as well', async () => {
    const { engine, store } = await createTestEngine({
      databases,
      databaseId,
      sim,
      helm: 'helm4',
    });
    const run = await engine.submit(
      tenantRequest('helmfour', { credentials: [] }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(run.id);
    const done = (await store.getRun(run.id))!;
    expect({ status: done.status, reason: done.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    const again = await engine.submit(
      tenantRequest('helmfour', { credentials: [] }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(again.id);
    const skipped = (await store.getEvents(again.id))
      .filter(e => e.stepStatus === 'skipped')
      .map(e => e.step);
    expect(skipped).toEqual(
      expect.arrayContaining(['release:web', 'release:api']),
    );
  });

  it('reconciles runs left running by a backend that died', async () => {
    const { engine, store, knex } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    // A tenant run whose backend died after helm deployed its releases (the run below stands for
    // what it did, with the same request; the row holds no locks so that it can), and one whose
    // namespace holds nothing. Its request holds no secret value: one stored redacted could not be
    // compared with the releases' values, and the run would fail closed.
    const recoverRequest = tenantRequest('recover', {
      credentials: [],
      releases: [
        { name: 'web', chart: 'webapp', values: { replicas: 2 } },
        { name: 'api', chart: 'webapp', values: { replicas: 1 } },
      ],
    });
    const staleReady = await store.createRun(
      {
        id: 'a0000000-0000-4000-8000-000000000001',
        kind: 'tenant',
        status: 'running',
        actor: 'user:default/alice',
        target: { cluster: 'dev', namespace: 'tenant-recover' },
        tenant: 'recover',
        input: recoverRequest,
      },
      [],
    );
    const ok = await engine.submit(
      recoverRequest,
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(ok.id);
    const staleEmpty = await store.createRun(
      {
        id: 'a0000000-0000-4000-8000-000000000002',
        kind: 'tenant',
        status: 'running',
        actor: 'user:default/alice',
        target: { cluster: 'dev', namespace: 'tenant-ghost' },
        tenant: 'ghost',
        input: { tenant: 'ghost', releases: [{ name: 'web' }] },
      },
      ['ns:dev/tenant-ghost'],
    );
    const fresh = await store.createRun(
      {
        id: 'a0000000-0000-4000-8000-000000000003',
        kind: 'tenant',
        status: 'running',
        actor: 'user:default/alice',
        target: { cluster: 'dev', namespace: 'tenant-busy' },
        tenant: 'busy2',
        input: { tenant: 'busy2', releases: [] },
      },
      ['ns:dev/tenant-busy'],
    );
    await knex('kubechart_runs')
      .whereIn('id', [staleReady.id, staleEmpty.id])
      .update({ heartbeat_at: Date.now() - 10 * 60_000 });

    expect(await engine.recoverStaleRuns()).toBe(2);
    expect((await store.getRun(staleReady.id))!.status).toBe('succeeded');
    const failed = (await store.getRun(staleEmpty.id))!;
    expect(failed.status).toBe('failed');
    // What was observed: nobody claimed it, when it was last heard of, which instance took it over.
    expect(failed.failureReason).toMatch(
      /^heartbeat lost: no backend instance claimed the run; it was last heard of at \d{4}-\d\d-\d\dT[\d:.]+Z, 6\d\ds before this check \(stale after 60s\); lease taken over by backend instance [0-9a-f-]{36}; the cluster shows: namespace tenant-ghost does not exist; the run's outcome is not known$/,
    );
    expect(failed.failureReason).toContain(
      `lease taken over by backend instance ${engine.instanceId};`,
    );
    expect((await store.getRun(fresh.id))!.status).toBe('running');
    // locks were released: a new run on the same target is accepted
    const retry = await engine.submit(
      tenantRequest('recover', { credentials: [] }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(retry.id);
    expect((await store.getRun(retry.id))!.status).toBe('succeeded');
  });

  it('answers a concurrent second request with 409 naming the active run', async () => {
    const { engine, store } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const first = await engine.submit(
      tenantRequest('busy'),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    // bob may update alice's tenant (tenants admin), but not while her run holds it.
    const err = await engine
      .submit(
        tenantRequest('busy'),
        'user:default/bob',
        withCatalog('user:default/bob', { isTenantAdmin: true }),
      )
      .catch(e => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toContain(first.id);
    await engine.waitIdle();
    expect(
      (await store.listRuns({ actor: 'user:default/bob' }, { limit: 5 })).items,
    ).toEqual([]);
  });

  it('fails a crash-looping release with the CrashLoopBackOff reason', async () => {
    const { engine, store } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const run = await engine.submit(
      tenantRequest('crashy', {
        credentials: [],
        releases: [
          {
            name: 'bad',
            chart: 'webapp',
            values: { image: { tag: 'crashloop' } },
          },
        ],
      }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(run.id);
    const done = (await store.getRun(run.id))!;
    expect(done.status).toBe('failed');
    expect(done.failureReason).toMatch(
      /Deployment bad of release bad is failing after .*CrashLoopBackOff/,
    );
    expect((await store.getTenants('crashy'))[0].status).toBe('failed');
  });

  it('installs a chart, upgrades it, rolls it back and applies manifests with server-side apply', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    // Charts and manifests go into a namespace the caller owns: here alice's tenant.
    const apps = await engine.submit(
      tenantRequest('apps', { credentials: [], releases: [] }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(apps.id);
    const chart = (replicas: number) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: 'tenant-apps',
      release: { name: 'shop', chart: 'webapp', values: { replicas } },
    });
    const run = async (req: any) => {
      const r = await engine.submit(req, 'user:default/alice');
      await engine.waitFor(r.id);
      return (await store.getRun(r.id))!;
    };
    const v1 = await run(chart(2));
    expect({
      status: v1.status,
      reason: v1.failureReason,
      revision: v1.helmRevision,
    }).toEqual({ status: 'succeeded', reason: undefined, revision: 1 });
    expect(v1.manifest).toContain('kind: Deployment');
    expect(v1.policyReport?.passed).toBe(true);
    const v2 = await run(chart(3));
    expect(v2.helmRevision).toBe(2);
    const rollback = await run({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-apps',
      release: 'shop',
      revision: 1,
    });
    expect({
      status: rollback.status,
      reason: rollback.failureReason,
      revision: rollback.helmRevision,
    }).toEqual({ status: 'succeeded', reason: undefined, revision: 3 });
    expect(rollback.values).toMatchObject({ replicas: 2 });
    const missing = await run({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-apps',
      release: 'shop',
      revision: 9,
    });
    expect(missing.failureReason).toBe(
      'Release shop in tenant-apps has no revision 9; known revisions: 1, 2, 3',
    );

    const manifests = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: settings }',
      'data: { color: blue }',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata: { name: allow-same-ns }',
      'spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }',
    ].join('\n');
    const applied = await run({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-apps',
      manifests,
    });
    expect({ status: applied.status, reason: applied.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    const client = engine.client('dev');
    const np: any = await client.read({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-same-ns', namespace: 'tenant-apps' },
    });
    expect(np.spec.ingress).toEqual([{ from: [{ podSelector: {} }] }]);
    const again = await run({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-apps',
      manifests,
    });
    expect(
      (await store.getEvents(again.id))
        .filter(e => e.stepStatus === 'skipped')
        .map(e => e.step),
    ).toEqual(
      expect.arrayContaining([
        'apply:ConfigMap/settings',
        'apply:NetworkPolicy/allow-same-ns',
      ]),
    );
    expect(clusters.has('dev')).toBe(true);
  });

  it('checks the revision a rollback returns to against the current chart policy, and refuses it on errors', async () => {
    // Revision 1 went in while the policy only warned about images from untrusted registries.
    const warnConfig = testConfig(sim);
    warnConfig.kubechart.policy.mode = 'warn';
    const lenient = await createTestEngine({
      databases,
      databaseId,
      sim,
      config: warnConfig,
    });
    const strict = await createTestEngine({
      databases,
      databaseId,
      sim,
      knex: lenient.knex,
    });
    const run = async (engine: typeof strict.engine, req: any) => {
      const r = await engine.submit(
        req,
        'user:default/alice',
        withCatalog('user:default/alice'),
      );
      await engine.waitFor(r.id);
      return (await strict.store.getRun(r.id))!;
    };
    const chart = (repository: string) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: 'tenant-rb',
      release: {
        name: 'web',
        chart: 'webapp',
        values: { replicas: 1, image: { repository } },
      },
    });
    expect(
      (
        await run(
          strict.engine,
          tenantRequest('rb', { credentials: [], releases: [] }),
        )
      ).status,
    ).toBe('succeeded');
    const untrusted = await run(
      lenient.engine,
      chart('images.example.org/team/web'),
    );
    expect({
      status: untrusted.status,
      revision: untrusted.helmRevision,
    }).toEqual({ status: 'succeeded', revision: 1 });
    const trusted = await run(
      strict.engine,
      chart('registry.example.com/team/web'),
    );
    expect({ status: trusted.status, revision: trusted.helmRevision }).toEqual({
      status: 'succeeded',
      revision: 2,
    });

    const refused = await run(strict.engine, {
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-rb',
      release: 'web',
      revision: 1,
    });
    expect(refused.status).toBe('failed');
    expect(refused.failureReason).toContain(
      'Chart policy (enforce) blocked the rollback of web to revision 1; nothing was rolled back',
    );
    expect(refused.failureReason).toContain('[trusted-registry]');
    expect(refused.policyReport).toMatchObject({
      blocking: true,
      passed: false,
    });
    expect(refused.manifest).toContain('images.example.org/team/web');
    const apps = strict.clusters.kubeConfig('dev').makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({
      namespace: 'tenant-rb',
      name: 'web',
    });
    expect(deployment.spec?.template.spec?.containers[0].image).toContain(
      'registry.example.com/team/web',
    );

    // A revision the policy passes rolls back, its report in the run's history.
    const upgraded = await run(strict.engine, {
      ...chart('registry.example.com/team/web'),
      release: {
        ...chart('').release,
        values: {
          replicas: 2,
          image: { repository: 'registry.example.com/team/web' },
        },
      },
    });
    expect(upgraded.helmRevision).toBe(3);
    const back = await run(strict.engine, {
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-rb',
      release: 'web',
      revision: 2,
    });
    expect({
      status: back.status,
      reason: back.failureReason,
      revision: back.helmRevision,
    }).toEqual({ status: 'succeeded', reason: undefined, revision: 4 });
    expect(back.policyReport).toMatchObject({ blocking: false, passed: true });
  });

  it('deletes a tenant: uninstalls its releases, then its namespace', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const created = await engine.submit(
      tenantRequest('gone', { credentials: [] }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(created.id);
    const del = await engine.submit(
      { kind: 'tenant-delete', cluster: 'dev', tenant: 'gone' },
      'user:default/alice',
    );
    await engine.waitFor(del.id);
    const done = (await store.getRun(del.id))!;
    expect({ status: done.status, reason: done.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    const steps = (await store.getEvents(del.id))
      .filter(e => e.stepStatus === 'succeeded')
      .map(e => e.step);
    expect(steps).toEqual([
      'deployer',
      'uninstall:web',
      'uninstall:api',
      'namespace',
      'namespace-gone',
      'deployer-deleted',
    ]);
    expect((await store.getTenants('gone'))[0].status).toBe('deleted');
    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    // The run finishes only once the namespace is gone, not while it is Terminating.
    await expect(
      core.readNamespace({ name: 'tenant-gone' }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('explains a quota that stops pods from being created', async () => {
    const { engine, store } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const run = await engine.submit(
      tenantRequest('tight', {
        credentials: [],
        quota: { hard: { pods: '1' } },
        waitTimeoutSeconds: 3,
        releases: [{ name: 'web', chart: 'webapp', values: { replicas: 2 } }],
      }),
      'user:default/alice',
      withCatalog('user:default/alice'),
    );
    await engine.waitFor(run.id);
    const done = (await store.getRun(run.id))!;
    expect(done.status).toBe('failed');
    expect(done.failureReason).toMatch(
      /^Timed out after \d+s waiting for workloads in tenant-tight to become Ready: Deployment web \(release web\): 1\/2 ready/,
    );
    expect(done.failureReason).toMatch(/Warning events: .*exceeded quota/);
  });

  it('enforces the abuse limits with 429', async () => {
    const config = testConfig(sim, {
      limits: { runsPerUserPerMinute: 2, maxTenants: 1 },
    });
    const { engine } = await createTestEngine({
      databases,
      databaseId,
      sim,
      config,
    });
    const first = await engine.submit(
      tenantRequest('limit-a', { credentials: [], releases: [] }),
      'user:default/eve',
      withCatalog('user:default/eve'),
    );
    await engine.waitFor(first.id);
    const tooMany = await engine
      .submit(
        tenantRequest('limit-b', { credentials: [], releases: [] }),
        'user:default/eve',
        withCatalog('user:default/eve'),
      )
      .catch(e => e);
    expect(tooMany).toMatchObject({
      statusCode: 429,
      message: expect.stringMatching(/tenant limit of 1 is reached/),
    });
    const second = await engine.submit(
      { kind: 'tenant-delete', cluster: 'dev', tenant: 'limit-a' },
      'user:default/eve',
    );
    await engine.waitFor(second.id);
    const third = await engine
      .submit(
        { kind: 'tenant-delete', cluster: 'dev', tenant: 'limit-a' },
        'user:default/eve',
      )
      .catch(e => e);
    expect(third).toMatchObject({
      statusCode: 429,
      message: expect.stringMatching(
        /started 2 runs in the last minute; the limit is 2 per minute/,
      ),
    });
  });

  it('runs at most runsPerUserAtOnce runs of one user at once: the next gets 429 and is not recorded, another user’s is', async () => {
    const config = testConfig(sim, {
      limits: { runsPerUserPerMinute: 100, runsPerUserAtOnce: 1 },
    });
    const { engine, store } = await createTestEngine({
      databases,
      databaseId,
      sim,
      config,
    });
    const withRelease = (code: string) =>
      tenantRequest(code, {
        credentials: [],
        releases: [{ name: 'web', chart: 'webapp' }],
      });
    const first = await engine.submit(
      withRelease('once-a'),
      'user:default/eve',
      withCatalog('user:default/eve'),
    );
    // Its helm install and readiness wait keep it active for a while.
    const second = await engine
      .submit(
        withRelease('once-b'),
        'user:default/eve',
        withCatalog('user:default/eve'),
      )
      .catch(e => e);
    expect(second).toMatchObject({
      statusCode: 429,
      message: expect.stringContaining(
        `user:default/eve has 1 runs active (${first.id}); at most 1 may run at once per user`,
      ),
    });
    const other = await engine.submit(
      withRelease('once-c'),
      'user:default/mallory',
      withCatalog('user:default/mallory'),
    );
    expect((await store.getTenants('once-b')).length).toBe(0);
    await engine.waitFor(first.id);
    await engine.waitFor(other.id);
    const later = await engine.submit(
      withRelease('once-b'),
      'user:default/eve',
      withCatalog('user:default/eve'),
    );
    await engine.waitFor(later.id);
    const statuses = await Promise.all(
      [first, other, later].map(async r => (await store.getRun(r.id))!.status),
    );
    expect(statuses).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('rejects bad input with 400 and creates nothing', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId,
      sim,
    });
    const bad = [
      [tenantRequest('X'), /Invalid tenant code "X"/],
      [
        tenantRequest('ok-code', { cluster: 'prod' }),
        /Unknown cluster "prod"; known clusters: dev/,
      ],
      [
        tenantRequest('ok-code', {
          releases: [
            { name: 'web', chart: 'webapp', repo: 'http://charts.example.com' },
          ],
        }),
        /only https/,
      ],
      [
        tenantRequest('ok-code', {
          releases: [{ name: 'web', chart: 'webapp;rm -rf /' }],
        }),
        /Invalid chart/,
      ],
    ] as const;
    for (const [request, message] of bad) {
      const err = await engine
        .submit(request as any, 'user:default/alice')
        .catch(e => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(message);
    }
    expect(
      (await store.listRuns({}, { limit: 10 })).items.filter(
        r => r.input.tenant === 'ok-code' || r.input.tenant === 'X',
      ),
    ).toEqual([]);
    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    await expect(
      core.readNamespace({ name: 'tenant-ok-code' }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
