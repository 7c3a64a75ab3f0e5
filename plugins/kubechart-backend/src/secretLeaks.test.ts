import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Knex } from 'knex';
import request from 'supertest';
import { kubechartPlugin } from './plugin';
import { helmBinary, startSim, testConfig } from './__testUtils__/setup';
import { tableDump } from './__testUtils__/tableDump';
import { catalogUsers } from './__testUtils__/tenantCallers';

jest.setTimeout(240_000);

/**
 * Secret values reach no reader by any path the plugin serves (run pages, diffs, previews, policy
 * checks, approval plans) nor any of its tables, whatever kind of run carried them: the values a
 * rollback brings back or replaces, the Secrets of a manifests run, a password a chart writes into a
 * comment or encodes (a basic-auth header, ConfigMap binaryData). Through the plugin as production
 * wires it (its store wrapped by withSecretScrubbing), not the engine alone.
 */
const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const BOB = 'user:default/bob';
const OLD = 'rollbackOld-Secret-1a2b';
const NEW = 'rollbackNew-Secret-3c4d';
const TOKEN = 'manifestToken-5e6f7a';
const DATA = 'manifestData-8b9c0d';
const ENCODED = 'encodedPass-1f2e3d';
const RECORDED = 'recordedPass-4a5b6c';
const RECORDED_SECRET = 'recordedSecret-7d8e9f';
const REFUSED = 'refuse-Pass-0a1b2c';
const b64 = (t: string) => Buffer.from(t).toString('base64');

describe.each(databases.eachSupportedId())(
  'secret values on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    let config: ReturnType<typeof testConfig>;
    const startBackend = (data: object) =>
      startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data }),
          mockServices.database.factory({ knex }),
          // An approved run is kept for its requester, whom the catalog must still know.
          catalogServiceMock.factory({
            entities: catalogUsers({ 'user:default/mock': [] }),
          }),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => {} }),
          }),
        ],
      });

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const data = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-s': { owner: 'user:default/mock' } } },
        },
        // Charts may put credentials in ConfigMaps (the policy warns): redaction must still hold.
        policy: {
          mode: 'enforce',
          trustedRegistries: ['registry.example.com'],
          rules: { 'no-secret-values': 'warning' },
        },
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: [BOB],
            },
          ],
        },
      });
      config = data;
      const backend = await startBackend(data);
      server = backend.server;
      stop = () => backend.stop();
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfig);
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'team-s' } } });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    /** Every response the tests read, to search for secrets. */
    const responses: string[] = [];
    const track = (r: request.Response) => {
      responses.push(r.text ?? JSON.stringify(r.body));
      return r;
    };
    const get = async (path: string) =>
      track(await request(server).get(`/api/kubechart${path}`));
    const post = async (path: string, body: object, as?: string) => {
      const req = request(server).post(`/api/kubechart${path}`);
      if (as) req.set('Authorization', mockCredentials.user.header(as));
      return track(await req.send(body));
    };
    async function waitForRun(id: string) {
      for (let i = 0; i < 600; i++) {
        const r = await get(`/runs/${id}`);
        if (r.body.status === 'succeeded' || r.body.status === 'failed')
          return r.body;
        await new Promise(res => setTimeout(res, 200));
      }
      throw new Error(`run ${id} did not finish`);
    }
    /** A protected run: requested, approved by bob, its input submitted again when it held secrets; returns it finished. */
    async function approvedRun(body: Record<string, unknown>) {
      const created = await post('/runs', body);
      expect(created.status).toBe(202);
      expect(created.body.status).toBe('awaiting-approval');
      const approved = await post(
        `/runs/${created.body.id}/approve`,
        { comment: 'ok' },
        BOB,
      );
      expect(approved.status).toBe(200);
      if (approved.body.approval.resubmit)
        expect(
          (await post(`/runs/${created.body.id}/execute`, body)).status,
        ).toBe(202);
      const run = await waitForRun(created.body.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      return run;
    }
    /** Where the kubechart tables or the responses hold one of `needles`. */
    async function leaks(needles: string[]) {
      const tables = (
        databaseId === 'POSTGRES_15'
          ? (
              await knex('information_schema.tables')
                .where({ table_schema: knex.raw('current_schema()') })
                .select('table_name')
            ).map((t: any) => t.table_name)
          : (
              await knex('sqlite_master')
                .where({ type: 'table' })
                .select('name')
            ).map((t: any) => t.name)
      ).filter((t: string) => t.startsWith('kubechart_'));
      expect(tables).toEqual(
        expect.arrayContaining(['kubechart_runs', 'kubechart_run_events']),
      );
      const haystacks: Array<[string, string]> = [
        ['responses', responses.join('\n')],
      ];
      for (const table of tables)
        haystacks.push([`table ${table}`, await tableDump(knex, table)]);
      return haystacks.flatMap(([where, text]) =>
        needles.filter(n => text.includes(n)).map(n => `${where} holds ${n}`),
      );
    }

    const tenant = (password: string) => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'prod-db',
      releases: [
        { name: 'db', chart: 'dbclient', values: { database: { password } } },
      ],
    });

    it('shows a rollback, its approval plan and its diff without the secret values it brings back or replaces', async () => {
      await approvedRun(tenant(OLD));
      const upgrade = await approvedRun(tenant(NEW));
      expect(upgrade.manifest).toContain(
        'ADMIN_URL: postgres://admin:***@db:5432/app',
      );

      const rollback = {
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'tenant-prod-db',
        release: 'db',
        revision: 1,
      };
      const requested = await post('/runs', rollback);
      expect(requested.body.status).toBe('awaiting-approval');
      // The approvers review the revision it returns to: its objects, not its password.
      const plan = (await get(`/runs/${requested.body.id}`)).body;
      expect(plan.manifest).toContain(
        'ADMIN_URL: postgres://admin:***@db:5432/app',
      );
      expect(plan.manifest).not.toContain(OLD);

      // The rollback input holds no secret: the backend kept it and starts it on approval.
      expect(
        (
          await post(
            `/runs/${requested.body.id}/approve`,
            { comment: 'ok' },
            BOB,
          )
        ).status,
      ).toBe(200);
      const run = await waitForRun(requested.body.id);
      expect({
        status: run.status,
        reason: run.failureReason,
        revision: run.helmRevision,
      }).toEqual({ status: 'succeeded', reason: undefined, revision: 3 });
      // The cluster really holds the old password again.
      const cm = await core.readNamespacedConfigMap({
        name: 'db-config',
        namespace: 'tenant-prod-db',
      });
      expect(cm.data!.ADMIN_URL).toContain(OLD);
      expect(run.manifest).toContain(
        'ADMIN_URL: postgres://admin:***@db:5432/app',
      );
      const diff = await get(`/runs/${run.id}/diff/${upgrade.id}`);
      expect(diff.status).toBe(200);
      await get(`/runs/${run.id}/events`);

      expect(await leaks([OLD, NEW, b64(OLD), b64(NEW)])).toEqual([]);
    });

    it('removes the values of the Secrets a manifests run applies from its other objects: preview, policy check, run, approval plan', async () => {
      const manifests = [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: { name: api-creds }',
        `stringData: { token: ${TOKEN} }`,
        `data: { other: ${b64(DATA)} }`,
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: api-client',
        `  annotations: { example.com/token-hint: "${TOKEN}" }`,
        `data: { endpoint: "https://api.example.com/v1?k=${TOKEN}", fallback: "https://api.example.com/v1?d=${DATA}" }`,
        '',
      ].join('\n');
      const body = {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-s',
        manifests,
      };

      const preview = await post('/runs/preview', body);
      expect(preview.status).toBe(200);
      expect(preview.body.manifest).toContain(
        'https://api.example.com/v1?k=***',
      );
      const checked = await post('/policy/check', {
        namespace: 'team-s',
        manifests,
      });
      expect(checked.status).toBe(200);
      expect(checked.body.manifest).toContain(
        'https://api.example.com/v1?k=***',
      );

      const created = await post('/runs', body);
      expect(created.status).toBe(202);
      const run = await waitForRun(created.body.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(run.manifest).toContain(
        'endpoint: https://api.example.com/v1?k=***',
      );
      const cm = await core.readNamespacedConfigMap({
        name: 'api-client',
        namespace: 'team-s',
      });
      expect(cm.data!.endpoint).toContain(TOKEN);

      // Into a protected namespace: the approval plan.
      const requested = await post('/runs', {
        ...body,
        namespace: 'tenant-prod-db',
      });
      expect(requested.body.status).toBe('awaiting-approval');
      expect((await get(`/runs/${requested.body.id}`)).body.manifest).toContain(
        'https://api.example.com/v1?k=***',
      );

      expect(await leaks([TOKEN, DATA, b64(TOKEN), b64(DATA)])).toEqual([]);
    });

    it('removes a password a chart writes into comments or encodes: preview, policy check, run, approval plan', async () => {
      const release = {
        name: 'enc',
        chart: 'encodedcreds',
        values: { auth: { password: ENCODED } },
      };
      const basic = b64(`svc-reader:${ENCODED}`);
      const json = b64(
        JSON.stringify({ password: ENCODED, user: 'svc-reader' }),
      );

      const preview = await post('/runs/preview', {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'team-s',
        release,
      });
      expect(preview.status).toBe(200);
      // Comments without the password stay as the chart wrote them; the rest of the document too.
      expect(preview.body.manifest).toContain(
        '  # generated for svc-reader with ***\n  mode: prod # rotated from ***',
      );
      expect(preview.body.manifest).toContain('header: Basic ***');
      const checked = await post('/policy/check', {
        namespace: 'team-s',
        release,
      });
      expect(checked.status).toBe(200);
      expect(checked.body.manifest).toContain('header: Basic ***');

      const created = await post('/runs', {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'team-s',
        release,
      });
      expect(created.status).toBe(202);
      const run = await waitForRun(created.body.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // What helm applied: the post-render gate writes it out again as helm reads it, comments dropped.
      expect(run.manifest).toContain('mode: prod\n');
      expect(run.manifest).not.toContain('# generated');
      const cm = await core.readNamespacedConfigMap({
        name: 'enc-client',
        namespace: 'team-s',
      });
      expect(cm.data!.header).toBe(`Basic ${basic}`);

      const requested = await post('/runs', {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-prod-db',
        release,
      });
      expect(requested.body.status).toBe('awaiting-approval');
      expect((await get(`/runs/${requested.body.id}`)).body.manifest).toContain(
        'header: Basic ***',
      );

      expect(await leaks([ENCODED, b64(ENCODED), basic, json])).toEqual([]);
    });

    it('removes every value a chart generates for its own Secret, whatever its key, from the other objects it copies it into', async () => {
      // On helm 4: helm 3 refuses selfsecret before anything is applied (its template calls
      // randAlphaNum; see helm3Hooks.test.ts). A second backend on the same database, as if deployed so.
      const helm4 = await startBackend({
        ...config,
        kubechart: {
          ...config.kubechart,
          helm: { ...config.kubechart.helm, binary: helmBinary('helm4') },
        },
      });
      const main = server;
      server = helm4.server;
      try {
        // Nowhere in the tables or the responses: the generated password, plain or base64.
        expect(await generatedPassword()).toEqual([]);
      } finally {
        server = main;
        await helm4.stop();
      }
    });
    async function generatedPassword() {
      const release = { name: 'gen', chart: 'selfsecret', values: {} };
      const created = await post('/runs', {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'team-s',
        release,
      });
      expect(created.status).toBe(202);
      const run = await waitForRun(created.body.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      // What the cluster received: the generated password, in the Secret and in the ConfigMap's URL.
      const secret = await core.readNamespacedSecret({
        name: 'gen-db',
        namespace: 'team-s',
      });
      const generated = Buffer.from(secret.data!.password, 'base64').toString(
        'utf8',
      );
      expect(generated).toMatch(/^[A-Za-z0-9]{20}$/);
      const cm = await core.readNamespacedConfigMap({
        name: 'gen-conn',
        namespace: 'team-s',
      });
      expect(cm.data!.url).toBe(
        `postgres://app-reader:${generated}@db:5432/app`,
      );
      // Under a key that does not look secret: every value of a chart's Secret is a secret.
      const instance = /^host=db instance=([A-Za-z0-9]{24})$/.exec(
        cm.data!.settings,
      )?.[1];
      expect(instance).toBeDefined();
      // The run shows where each was and that it was removed; a short value is not taken for one.
      expect(run.manifest).toContain('url: postgres://***:***@db:5432/app');
      expect(run.manifest).toContain("settings: '***'");
      expect(run.manifest).toContain("enabled: 'true'");
      return leaks([generated, b64(generated), instance!, b64(instance!)]);
    }

    it('removes the secret values a recorded run reports from its manifest and failure reason', async () => {
      const started = await post('/runs/record', {
        kind: 'custom',
        action: 'acme:db:rotate',
        target: { cluster: 'dev', namespace: 'team-s' },
      });
      expect(started.status).toBe(201);
      const manifest = [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: { name: rotated }',
        `stringData: { key: ${RECORDED_SECRET} }`,
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: rotated-client }',
        `data: { url: "postgres://app:${RECORDED}@db/app", copy: "${RECORDED_SECRET}" }`,
        '',
      ].join('\n');
      const finished = await post(`/runs/${started.body.id}/finish`, {
        status: 'failed',
        failureReason: `could not verify ${RECORDED} against ${RECORDED_SECRET}`,
        values: { db: { password: RECORDED } },
        manifest,
      });
      expect(finished.status).toBe(204);
      const run = (await get(`/runs/${started.body.id}`)).body;
      expect(run.manifest).toContain('url: postgres://app:***@db/app');
      expect(run.failureReason).toBe('could not verify *** against ***');
      expect(
        await leaks([
          RECORDED,
          RECORDED_SECRET,
          b64(RECORDED),
          b64(RECORDED_SECRET),
        ]),
      ).toEqual([]);
    });

    it('answers values a chart refuses with helm’s words, without the request’s secret values', async () => {
      const release = {
        name: 'enc',
        chart: 'encodedcreds',
        values: { auth: { password: REFUSED } },
      };
      for (const [path, body] of [
        [
          '/runs/preview',
          { kind: 'chart', cluster: 'dev', namespace: 'team-s', release },
        ],
        ['/policy/check', { namespace: 'team-s', release }],
        [
          '/runs',
          {
            kind: 'chart',
            cluster: 'dev',
            namespace: 'tenant-prod-db',
            release,
          },
        ],
      ] as const) {
        const r = await post(path, body);
        expect({ path, status: r.status }).toEqual({ path, status: 400 });
        expect(r.body.error.message).toContain('the password *** is refused');
      }
      expect(await leaks([REFUSED, b64(REFUSED)])).toEqual([]);
    });
  },
);
