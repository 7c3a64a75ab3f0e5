import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { EventParams, eventsServiceRef } from '@backstage/plugin-events-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Knex } from 'knex';
import request from 'supertest';
import { DatabaseRunStore } from './database/DatabaseRunStore';
import { kubechartPlugin } from './plugin';
import { startSim, testConfig } from './__testUtils__/setup';
import { tableDump } from './__testUtils__/tableDump';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const USER_SECRET = 'userGivenSecret-9f3a';

describe.each(databases.eachSupportedId())(
  'kubechart plugin on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let core: CoreV1Api;
    const published: any[] = [];
    const tenantEvents: EventParams[] = [];
    const responses: string[] = [];
    let stopBackend: () => Promise<void>;

    const track = (r: request.Response) => {
      responses.push(r.text ?? JSON.stringify(r.body));
      return r;
    };
    const get = async (path: string) =>
      track(await request(server).get(`/api/kubechart${path}`));
    const post = async (path: string, body: object) =>
      track(await request(server).post(`/api/kubechart${path}`).send(body));

    async function waitForRun(id: string) {
      for (let i = 0; i < 600; i++) {
        const r = await get(`/runs/${id}`);
        if (r.body.status === 'succeeded' || r.body.status === 'failed')
          return r.body;
        await new Promise(res => setTimeout(res, 200));
      }
      throw new Error(`run ${id} did not finish`);
    }

    beforeAll(async () => {
      sim = await startSim({ podReadyDelayMs: 1500 });
      knex = await databases.init(databaseId);
      // team-cache is not a tenant: the platform gave it to the mock user (a platform team action records runs there).
      const data = testConfig(sim, {
        clusters: {
          dev: { namespaces: { 'team-cache': { owner: 'user:default/mock' } } },
        },
      });
      data.kubernetes.clusterLocatorMethods[0].clusters.push({
        name: 'down',
        url: 'https://127.0.0.1:1',
        authProvider: 'serviceAccount',
        serviceAccountToken: 'x',
        skipTLSVerify: true,
      } as any);
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data }),
          mockServices.database.factory({ knex }),
          // A chart run for an entity deploys where the catalog says that entity may.
          catalogServiceMock.factory({
            entities: [
              {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'Component',
                metadata: {
                  name: 'risky',
                  namespace: 'default',
                  annotations: { 'kubechart.io/tenant': 'shop' },
                },
                spec: {
                  type: 'service',
                  lifecycle: 'experimental',
                  owner: 'user:default/mock',
                },
              },
              {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'Component',
                metadata: {
                  name: 'cache',
                  namespace: 'default',
                  annotations: { 'kubechart.io/namespace': 'team-cache' },
                },
                spec: {
                  type: 'service',
                  lifecycle: 'experimental',
                  owner: 'user:default/mock',
                },
              },
              {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'Component',
                metadata: {
                  name: 'squatter',
                  namespace: 'default',
                  annotations: { 'kubechart.io/namespace': 'kube-system' },
                },
                spec: {
                  type: 'service',
                  lifecycle: 'experimental',
                  owner: 'user:default/mock',
                },
              },
            ],
          }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({
              publish: async (s: any) => void published.push(s),
            }),
          }),
          createServiceFactory({
            service: eventsServiceRef,
            deps: {},
            factory: () => ({
              publish: async (e: EventParams) => void tenantEvents.push(e),
              subscribe: async () => {},
            }),
          }),
        ],
      });
      server = backend.server;
      stopBackend = () => backend.stop();
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfig);
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      core = kc.makeApiClient(CoreV1Api);
    });

    afterAll(async () => {
      await stopBackend?.();
      await sim?.stop();
    });

    const tenant = (code: string, extra: Record<string, unknown> = {}) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      entityRef: `component:default/${code}`,
      credentials: ['databasePassword'],
      releases: [
        {
          name: 'web',
          chart: 'webapp',
          values: { database: { password: USER_SECRET } },
        },
      ],
      ...extra,
    });

    it('provisions a tenant end to end through the API, with history, health and signals', async () => {
      const created = await post('/runs', tenant('shop'));
      expect(created.status).toBe(202);
      expect(created.body).toEqual({
        id: expect.any(String),
        status: 'pending',
      });

      const stream = await request(server)
        .get(`/api/kubechart/runs/${created.body.id}/events?follow=true`)
        .buffer(true)
        .parse((res, cb) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => cb(null, text));
        });
      expect(stream.headers['content-type']).toContain('application/x-ndjson');
      const lines = String(stream.body)
        .trim()
        .split('\n')
        .map(l => JSON.parse(l));
      expect(lines[lines.length - 1]).toEqual({
        type: 'end',
        status: 'succeeded',
      });
      expect(lines.some(l => l.event?.message?.startsWith('[web] '))).toBe(
        true,
      );
      responses.push(String(stream.body));

      const run = await waitForRun(created.body.id);
      expect(run).toMatchObject({
        status: 'succeeded',
        kind: 'tenant',
        actor: 'user:default/mock',
        entityRef: 'component:default/shop',
        target: { cluster: 'dev', namespace: 'tenant-shop' },
      });

      const sse = await request(server)
        .get(`/api/kubechart/runs/${run.id}/events?follow=true&after=1`)
        .set('Accept', 'text/event-stream')
        .buffer(true)
        .parse((res, cb) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => cb(null, text));
        });
      expect(sse.headers['content-type']).toContain('text/event-stream');
      const frames = String(sse.body).trim().split('\n\n');
      expect(frames[0]).toMatch(/^data: \{"type":"event","event":\{"seq":2,/);
      expect(frames[frames.length - 1]).toBe(
        'data: {"type":"end","status":"succeeded"}',
      );

      const events = await get(`/runs/${run.id}/events`);
      expect(
        events.body.items
          .filter((e: any) => e.type === 'step' && e.stepStatus === 'succeeded')
          .map((e: any) => e.step),
      ).toEqual(
        expect.arrayContaining([
          'namespace',
          'resource-quota',
          'limit-range',
          'network-policy',
          'credentials',
          'release:web',
          'wait',
        ]),
      );

      const list = await get(
        '/runs?entityRef=component:default/shop&kind=tenant&status=succeeded&limit=1',
      );
      expect(list.body.items.map((r: any) => r.id)).toEqual([run.id]);
      // A page of history leaves out what only the run itself shows, and sums up its policy report.
      const [listed] = list.body.items;
      for (const heavy of ['values', 'manifest', 'policyReport']) {
        expect(run[heavy]).toBeDefined();
        expect(listed).not.toHaveProperty(heavy);
      }
      const { mode, passed, blocking, summary } = run.policyReport;
      expect(listed.policySummary).toEqual({ mode, passed, blocking, summary });
      const {
        values: _v,
        manifest: _m,
        policyReport: _p,
        rollbackBound: _b,
        applied,
        ...rest
      } = run;
      expect(listed).toEqual({ ...rest, policySummary: listed.policySummary });
      // What the run changed, in the order it did, is on the run (not on a page of history).
      expect(applied).toEqual([
        'created Namespace/tenant-shop',
        'created Namespace/kubechart-deployers',
        'created ServiceAccount/kubechart-deployer-tenant-shop in kubechart-deployers',
        'created RoleBinding/kubechart-deployer in tenant-shop',
        'created ResourceQuota/kubechart-quota in tenant-shop',
        'created LimitRange/kubechart-limits in tenant-shop',
        'created NetworkPolicy/kubechart-default-deny in tenant-shop',
        'applied Secret/kubechart-tenant-credentials in tenant-shop',
        'installed release web revision 1 in tenant-shop',
      ]);

      const tenants = await get('/tenants');
      expect(tenants.body.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            code: 'shop',
            status: 'active',
            namespace: 'tenant-shop',
          }),
        ]),
      );
      const health = await get('/tenants/shop/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({
        tenant: 'shop',
        status: 'healthy',
        releases: [
          { name: 'web', readyPods: 2, totalPods: 2, status: 'healthy' },
        ],
      });
      expect(Object.keys(health.body.quota.hard)).toContain('pods');

      const clusterHealth = await get('/clusters/dev/health');
      expect(clusterHealth.status).toBe(200);
      expect(clusterHealth.body.status).not.toBe('error');
      expect(clusterHealth.body.nodes.total).toBeGreaterThan(0);

      const metrics = await get('/metrics/summary');
      expect(metrics.body.runs.byStatus.succeeded).toBeGreaterThanOrEqual(1);
      expect(metrics.body.provisioningDurationMs.count).toBeGreaterThanOrEqual(
        1,
      );

      // The run's own channel tells how it went; the common one, heard by everyone, only to fetch again.
      expect(
        published.some(
          s =>
            s.channel === `kubechart:run:${run.id}` &&
            s.message.runId === run.id &&
            s.message.status === 'succeeded',
        ),
      ).toBe(true);
      expect(published).toContainEqual(
        expect.objectContaining({
          channel: 'kubechart:runs',
          message: { type: 'refetch' },
        }),
      );
      for (const s of published.filter(p => p.channel === 'kubechart:runs'))
        expect(s.message).toEqual({ type: 'refetch' });
      // Every tenant's page hears it on the tenant's own channel; the common one names no tenant.
      // Neither says how the run went: only to fetch the health again.
      for (const channel of [
        'kubechart:tenant-health:shop',
        'kubechart:tenant-health',
      ])
        expect(published).toContainEqual(
          expect.objectContaining({ channel, message: { type: 'refetch' } }),
        );
      for (const s of published.filter(p =>
        p.channel.startsWith('kubechart:tenant-health'),
      ))
        expect(s.message).toEqual({ type: 'refetch' });

      // The catalog's tenant entities are told at once, when the run is created and when it ends.
      const told = tenantEvents.filter(
        e =>
          e.topic === 'kubechart.tenants' &&
          (e.eventPayload as any).runId === run.id,
      );
      expect(told.map(e => e.eventPayload)).toEqual([
        { cluster: 'dev', tenant: 'shop', runId: run.id, status: 'pending' },
        { cluster: 'dev', tenant: 'shop', runId: run.id, status: 'succeeded' },
      ]);

      // Same request again: succeeds and creates nothing twice.
      const secretsBefore = (
        await core.listNamespacedSecret({ namespace: 'tenant-shop' })
      ).items
        .map(s => s.metadata?.name)
        .sort();
      const again = await post('/runs', tenant('shop'));
      expect(again.status).toBe(202);
      expect((await waitForRun(again.body.id)).status).toBe('succeeded');
      expect(
        (await core.listNamespacedSecret({ namespace: 'tenant-shop' })).items
          .map(s => s.metadata?.name)
          .sort(),
      ).toEqual(secretsBefore);

      const diff = await get(`/runs/${run.id}/diff/${again.body.id}`);
      expect(diff.status).toBe(200);
      expect(diff.body.values).toContain(`values@${run.id}`);
    });

    it('compares the tenant with the cluster once its run succeeded: in sync, published on kubechart:drift', async () => {
      const [latest] = (
        await get('/runs?entityRef=component:default/shop&limit=1')
      ).body.items;
      let items: any[] = [];
      // The drift job is triggered when each run succeeds; it reads every object the run applied. The
      // record of the tenant's first run may be read before the second run's check replaced it, and for
      // a moment beside it (a pass writes its records, then removes those of runs no longer current).
      const current = () => items.length === 1 && items[0].runId === latest.id;
      for (let i = 0; i < 150 && !current(); i++) {
        items = (await get('/drift?entityRef=component:default/shop')).body
          .items;
        if (!current()) await new Promise(res => setTimeout(res, 200));
      }
      // The Secret the chart renders holds the user's password (redacted in history): not compared,
      // and said so — never counted as matching.
      const secretNotCompared = {
        notCompared: [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            namespace: 'tenant-shop',
            name: 'web-db',
            count: 1,
            fields: ['stringData.password'],
          },
        ],
        message:
          'in sync except 1 field that holds a secret, which drift cannot compare (history stores it redacted): Secret/web-db stringData.password',
      };
      expect(items).toEqual([
        expect.objectContaining({
          runId: latest.id,
          status: 'in-sync',
          objects: [],
          entityRef: 'component:default/shop',
          ...secretNotCompared,
        }),
      ]);
      expect((await get(`/runs/${latest.id}/drift`)).body).toMatchObject({
        runId: latest.id,
        status: 'in-sync',
        target: { cluster: 'dev', namespace: 'tenant-shop' },
        ...secretNotCompared,
      });
      expect(JSON.stringify(items)).not.toContain(USER_SECRET);
      // Heard by everyone: says only that some drift changed, not whose nor how.
      expect(published).toContainEqual(
        expect.objectContaining({
          channel: 'kubechart:drift',
          message: { type: 'refetch' },
        }),
      );
      for (const s of published.filter(p => p.channel === 'kubechart:drift'))
        expect(s.message).toEqual({ type: 'refetch' });
      // The entity's own channel, which anyone may subscribe to by name, says only to fetch again.
      const onEntity = published.filter(
        s => s.channel === 'kubechart:drift:component:default/shop',
      );
      expect(onEntity.length).toBeGreaterThan(0);
      for (const s of onEntity) expect(s.message).toEqual({ type: 'refetch' });
    });

    it('answers a concurrent second request with 409 naming the active run', async () => {
      const first = await post('/runs', tenant('race'));
      expect(first.status).toBe(202);
      const second = await post('/runs', tenant('race'));
      expect(second.status).toBe(409);
      expect(second.body.error.message).toContain(first.body.id);
      await waitForRun(first.body.id);
    });

    it.each([
      ['invalid tenant code', tenant('Bad_Code'), /Invalid tenant code/],
      [
        'unknown cluster',
        tenant('fine', { cluster: 'nowhere' }),
        /Unknown cluster "nowhere"/,
      ],
      [
        'non-https repository',
        tenant('fine', {
          releases: [
            { name: 'web', chart: 'nginx', repo: 'http://charts.example.com' },
          ],
        }),
        /only https/,
      ],
      [
        'chart with shell characters',
        tenant('fine', {
          releases: [{ name: 'web', chart: 'nginx$(reboot)' }],
        }),
        /Invalid chart/,
      ],
      ['unknown field', { ...tenant('fine'), extra: 1 }, /Unrecognized key/],
    ])(
      'rejects %s with 400 and creates nothing',
      async (_name, body, message) => {
        const r = await post('/runs', body);
        expect(r.status).toBe(400);
        expect(r.body.error.message).toMatch(message);
        const runs = await get('/runs?entityRef=component:default/fine');
        expect(runs.body.items).toEqual([]);
        await expect(
          core.readNamespace({ name: 'tenant-fine' }),
        ).rejects.toMatchObject({ code: 404 });
      },
    );

    it('blocks an install that fails an enforced policy, and installs nothing', async () => {
      const r = await post('/runs', {
        kind: 'chart',
        cluster: 'dev',
        // Into the tenant the same user provisioned above: charts go only where their caller owns.
        namespace: 'tenant-shop',
        entityRef: 'component:default/risky',
        release: {
          name: 'risky',
          chart: 'webapp',
          values: {
            secure: false,
            image: { repository: 'docker.io/library/nginx', tag: 'latest' },
          },
        },
      });
      expect(r.status).toBe(202);
      const run = await waitForRun(r.body.id);
      expect(run.status).toBe('failed');
      expect(run.failureReason).toMatch(
        /Chart policy \(enforce\) blocked release risky; nothing was installed/,
      );
      expect(run.failureReason).toContain('[no-privileged]');
      expect(run.policyReport.blocking).toBe(true);
      const secrets = await core.listNamespacedSecret({
        namespace: 'tenant-shop',
        labelSelector: 'owner=helm,name=risky',
      });
      expect(secrets.items).toEqual([]);
    });

    it('refuses a chart run for an entity where the catalog says it may not deploy, or for an entity the catalog lacks, recording nothing', async () => {
      const chart = (entity: string, namespace: string) => ({
        kind: 'chart',
        cluster: 'dev',
        namespace,
        entityRef: `component:default/${entity}`,
        release: { name: entity, chart: 'webapp' },
      });
      const squatter = await post('/runs', chart('squatter', 'kube-system'));
      expect(squatter.status).toBe(403);
      expect(squatter.body.error.message).toBe(
        'A run for component:default/squatter may deploy only where that entity may deploy; it may deploy to no namespace on cluster dev: kubechart.io/namespace: kube-system: neither a kubechart tenant nor assigned to an owner in kubechart.clusters.dev.namespaces',
      );
      const ghost = await post('/runs', chart('ghost', 'tenant-shop'));
      expect(ghost.status).toBe(403);
      expect(ghost.body.error.message).toBe(
        'A run for component:default/ghost may deploy only where that entity may deploy; the catalog has no entity component:default/ghost visible to user:default/mock',
      );
      for (const entity of ['squatter', 'ghost']) {
        expect(
          (await get(`/runs?entityRef=component:default/${entity}`)).body.items,
        ).toEqual([]);
      }
    });

    it('fails a run with a clear reason when the API goes down mid-run, and a retry converges', async () => {
      // The first run's pods crash-loop, so it is still waiting for them (the engine gives a failing pod
      // wait.failFastSeconds, 30 s, an outage 10 s) however long the machine took to get there.
      const crashing = [
        {
          name: 'web',
          chart: 'webapp',
          values: { image: { tag: 'crashloop' } },
        },
      ];
      const r = await post(
        '/runs',
        tenant('outage', { credentials: [], releases: crashing }),
      );
      // Wait until the run is waiting for pods, then take the API away.
      let waiting = false;
      for (let i = 0; i < 600 && !waiting; i++) {
        const ev = await get(`/runs/${r.body.id}/events`);
        waiting = ev.body.items.some(
          (e: any) => e.step === 'wait' && e.stepStatus === 'started',
        );
        if (!waiting) await new Promise(res => setTimeout(res, 50));
      }
      expect(waiting).toBe(true);
      await sim.faults.stopApi();
      const failed = await waitForRun(r.body.id);
      await sim.faults.startApi();
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toMatch(
        /Kubernetes API of cluster "dev" (is unreachable|answered 50\d)/,
      );
      const retry = await post('/runs', tenant('outage', { credentials: [] }));
      expect(retry.status).toBe(202);
      const ok = await waitForRun(retry.body.id);
      expect({ status: ok.status, reason: ok.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
    });

    it('previews a run without applying or recording anything', async () => {
      const r = await post(
        '/runs/preview',
        tenant('preview', {
          releases: [
            { name: 'web', chart: 'webapp', values: { secure: false } },
          ],
        }),
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        kind: 'tenant',
        target: { cluster: 'dev', namespace: 'tenant-preview' },
        policyReport: { blocking: true },
      });
      expect(r.body.manifest).toContain('kind: Deployment');
      expect(
        (await get('/runs?entityRef=component:default/preview')).body.items,
      ).toEqual([]);
      await expect(
        core.readNamespace({ name: 'tenant-preview' }),
      ).rejects.toMatchObject({ code: 404 });
    });

    it('records runs executed by a platform team action', async () => {
      const started = await post('/runs/record', {
        kind: 'custom',
        action: 'acme:redis:create',
        target: { cluster: 'dev', namespace: 'team-cache' },
        entityRef: 'component:default/cache',
        input: { size: 'small', adminPassword: 'hunter2-plain' },
      });
      expect(started.status).toBe(201);
      const id = started.body.id;
      expect(
        (
          await post(`/runs/${id}/events`, {
            events: [
              {
                message: 'creating redis',
                step: 'redis',
                stepStatus: 'started',
              },
              { message: 'created with token=abc123 done' },
              { message: 'token=abc123 done' },
            ],
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await post(`/runs/${id}/finish`, {
            status: 'succeeded',
            values: { password: 'p4ss-word' },
          })
        ).status,
      ).toBe(204);
      const run = (await get(`/runs/${id}`)).body;
      expect(run).toMatchObject({
        status: 'succeeded',
        kind: 'custom',
        action: 'acme:redis:create',
        input: { size: 'small', adminPassword: '***' },
        values: { password: '***' },
      });
      const events = (await get(`/runs/${id}/events`)).body.items.map(
        (e: any) => e.message,
      );
      // a key=value pair inside a line hides its word; starting a line (a properties or env
      // line), everything to the line's end
      expect(events).toEqual([
        'creating redis',
        'created with token=*** done',
        'token=***',
      ]);
      expect(
        (await post(`/runs/${id}/finish`, { status: 'failed' })).status,
      ).toBe(409);
    });

    it('answers 503 with status error for an unreachable cluster', async () => {
      const r = await get('/clusters/down/health');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({
        cluster: 'down',
        status: 'error',
        message: expect.stringMatching(/unreachable|failed/),
      });
      const list = await get('/clusters');
      expect(list.body.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'down', status: 'error' }),
        ]),
      );
      expect(JSON.stringify(list.body)).not.toContain(sim.token);
      // A tenant on that cluster: its health is not known, and not answered as if it were.
      await new DatabaseRunStore(knex).upsertTenant({
        cluster: 'down',
        code: 'stranded',
        namespace: 'tenant-stranded',
        status: 'active',
        releases: ['web'],
      });
      const tenantHealth = await get('/tenants/stranded/health');
      expect(tenantHealth.status).toBe(503);
      expect(tenantHealth.body).toMatchObject({
        tenant: 'stranded',
        status: 'unknown',
        message: expect.stringMatching(/unreachable|failed/),
        releases: [],
      });
    });

    it("answers a tenant's health for the cluster asked for, and refuses to pick one of several", async () => {
      // One code on two clusters: on dev (its namespace runs web) and on the unreachable one.
      const store = new DatabaseRunStore(knex);
      for (const cluster of ['dev', 'down']) {
        await store.upsertTenant({
          cluster,
          code: 'twice',
          namespace: 'tenant-shop',
          status: 'active',
          releases: ['web'],
        });
      }
      const either = await get('/tenants/twice/health');
      expect(either.status).toBe(400);
      expect(either.body.error.message).toBe(
        'Tenant twice is on clusters dev, down: say which with ?cluster=',
      );
      // Each answer is the health of the tenant on the cluster asked for (whatever that cluster's
      // state: dev's API went down in an earlier test).
      const dev = await get('/tenants/twice/health?cluster=dev');
      expect(dev.body).toMatchObject({ tenant: 'twice', cluster: 'dev' });
      const down = await get('/tenants/twice/health?cluster=down');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        tenant: 'twice',
        cluster: 'down',
        status: 'unknown',
      });
      expect((await get('/tenants/twice/health?cluster=prod')).status).toBe(
        404,
      );
      expect((await get('/tenants/twice/health?nodes=all')).status).toBe(400);
    });

    it('never returns or stores secrets', async () => {
      const secret = await core.readNamespacedSecret({
        name: 'kubechart-tenant-credentials',
        namespace: 'tenant-shop',
      });
      const generated = Buffer.from(
        secret.data!.databasePassword,
        'base64',
      ).toString();
      const all = responses.join('\n');
      expect(all).not.toContain(generated);
      expect(all).not.toContain(USER_SECRET);
      expect(all).not.toContain(sim.token);
      for (const table of [
        'kubechart_runs',
        'kubechart_run_events',
        'kubechart_tenants',
        'kubechart_drift',
      ]) {
        const rows = await tableDump(knex, table);
        expect(rows).not.toContain(generated);
        expect(rows).not.toContain(USER_SECRET);
        expect(rows).not.toContain(Buffer.from(USER_SECRET).toString('base64'));
        expect(rows).not.toContain('hunter2-plain');
        expect(rows).not.toContain('abc123');
      }
    });
  },
);

describe('kubechart plugin permissions', () => {
  it('checks a permission on every route', async () => {
    const sim = await startSim();
    const backend = await startTestBackend({
      features: [
        kubechartPlugin,
        mockServices.rootConfig.factory({
          data: {
            ...testConfig(sim),
            kubechart: {
              ...testConfig(sim).kubechart,
              health: { startOnBoot: false },
            },
          },
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.DENY }),
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({ publish: async () => {} }),
        }),
      ],
    });
    try {
      const routes: Array<[string, string, unknown?]> = [
        ['get', '/runs'],
        ['get', '/runs/x'],
        ['get', '/runs/x/events'],
        ['get', '/runs/x/diff/y'],
        [
          'post',
          '/runs',
          { kind: 'tenant-delete', cluster: 'dev', tenant: 'abc' },
        ],
        [
          'post',
          '/runs',
          {
            kind: 'rollback',
            cluster: 'dev',
            namespace: 'a',
            release: 'b',
            revision: 1,
          },
        ],
        ['get', '/clusters'],
        ['get', '/clusters/dev/health'],
        ['get', '/tenants'],
        ['get', '/tenants/abc'],
        ['get', '/tenants/abc/health'],
        ['get', '/metrics/summary'],
        ['get', '/policy/rules'],
        ['get', '/runs/x/drift'],
        ['get', '/drift?cluster=dev'],
        ['post', '/runs/x/reapply', {}],
      ];
      for (const [method, path, body] of routes) {
        const r = await (request(backend.server) as any)
          [method](`/api/kubechart${path}`)
          .send(body);
        expect({ path, status: r.status }).toEqual({ path, status: 403 });
      }
      const anonymous = await request(backend.server)
        .get('/api/kubechart/runs')
        .set('Authorization', mockCredentials.none.header());
      expect(anonymous.status).toBe(401);
    } finally {
      await backend.stop();
      await sim.stop();
    }
  });
});
