import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { kubechartPlugin } from './plugin';
import { chartDirectory, startSim, testConfig } from './__testUtils__/setup';
import { catalogUsers } from './__testUtils__/tenantCallers';

jest.setTimeout(240_000);

/**
 * What a run's values view hides is hidden in its manifest too (history, diff, preview), whatever
 * the chart did with it: a URL's password and a `db.password=` pair of a config text given under
 * ordinary keys, a known password the chart writes URL-encoded (`| urlquery`, as charts build DSNs),
 * and a known token given with a trailing newline (read from a file) that the chart trims.
 */
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const URL_PASSWORD = 'UrlPassw0rd-manifest1';
const CFG_PASSWORD = 'CfgPassw0rd-manifest1';
const KNOWN = 'Kn0wn+pass/word@manifest1';
const KNOWN_URLQUERY = 'Kn0wn%2Bpass%2Fword%40manifest1';
const TRIMMED = 'Tr1mmed-T0ken-manifest1';

describe.each(databases.eachSupportedId())(
  'secrets the values view hides, in the manifest, on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    let run: any;
    let preview: any;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-secrets-'));

    beforeAll(async () => {
      const chart = path.join(dir, 'settingscfg');
      fs.mkdirSync(path.join(chart, 'templates'), { recursive: true });
      fs.writeFileSync(
        path.join(chart, 'Chart.yaml'),
        'apiVersion: v2\nname: settingscfg\ntype: application\nversion: 0.1.0\nappVersion: "1.0.0"\n',
      );
      fs.writeFileSync(
        path.join(chart, 'values.yaml'),
        'database: { password: "" }\napi: { token: "" }\nexternalUrl: ""\nextraConfig: ""\n',
      );
      fs.writeFileSync(
        path.join(chart, 'templates', 'configmap.yaml'),
        [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: {{ .Release.Name }}-settings',
          'data:',
          '  DATABASE_URL: "postgres://app:{{ .Values.database.password | urlquery }}@db:5432/app"',
          '  EXTERNAL_URL: {{ .Values.externalUrl | quote }}',
          '  app.properties: {{ .Values.extraConfig | quote }}',
          '  client: {{ .Values.api.token | trim | quote }}',
          '  LOG_LEVEL: info',
          '',
        ].join('\n'),
      );
      sim = await startSim();
      knex = await databases.init(databaseId);
      const data = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-s': { owner: 'user:default/mock' } } },
        },
        policy: {
          mode: 'enforce',
          trustedRegistries: ['registry.example.com'],
          rules: { 'no-secret-values': 'warning' },
        },
      });
      data.kubechart.helm.chartDirectories = [chartDirectory, dir];
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data }),
          mockServices.database.factory({ knex }),
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
      server = backend.server;
      stop = () => backend.stop();
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfig);
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'team-s' } } });

      const body = {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'team-s',
        release: {
          name: 'cfg',
          chart: 'settingscfg',
          values: {
            database: { password: KNOWN },
            // A token as read from a file: with its trailing newline.
            api: { token: `${TRIMMED}\n` },
            externalUrl: `https://svc:${URL_PASSWORD}@api.example.com/v1`,
            extraConfig: `db.password=${CFG_PASSWORD}`,
          },
        },
      };
      preview = (
        await request(server).post('/api/kubechart/runs/preview').send(body)
      ).body;
      const created = await request(server)
        .post('/api/kubechart/runs')
        .send(body);
      if (created.status !== 202)
        throw new Error(
          `the run was not started: ${created.status} ${created.text}`,
        );
      for (let i = 0; i < 600; i++) {
        run = (
          await request(server).get(`/api/kubechart/runs/${created.body.id}`)
        ).body;
        if (run.status === 'succeeded' || run.status === 'failed') break;
        await new Promise(res => setTimeout(res, 200));
      }
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('applies the values as given, and its values view hides them', async () => {
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      const cm = await core.readNamespacedConfigMap({
        name: 'cfg-settings',
        namespace: 'team-s',
      });
      expect(cm.data).toMatchObject({
        DATABASE_URL: `postgres://app:${KNOWN_URLQUERY}@db:5432/app`,
        EXTERNAL_URL: `https://svc:${URL_PASSWORD}@api.example.com/v1`,
        'app.properties': `db.password=${CFG_PASSWORD}`,
        client: TRIMMED,
      });
      const values = JSON.stringify(run.values);
      for (const secret of [URL_PASSWORD, CFG_PASSWORD, KNOWN, TRIMMED])
        expect(values).not.toContain(secret);
    });

    it('hides a URL password given under an ordinary key in the stored manifest', () => {
      expect(run.manifest).not.toContain(URL_PASSWORD);
      expect(run.manifest).toContain(
        'EXTERNAL_URL: https://svc:***@api.example.com/v1',
      );
    });

    it('hides a db.password= pair of a config text in the stored manifest', () => {
      expect(run.manifest).not.toContain(CFG_PASSWORD);
      expect(run.manifest).toContain('db.password=***');
    });

    it('hides a known password the chart wrote URL-encoded in the stored manifest', () => {
      expect(run.manifest).not.toContain(KNOWN_URLQUERY);
      expect(run.manifest).toContain('postgres://app:***@db:5432/app');
    });

    it('hides a known token the chart trimmed in the stored manifest', () => {
      expect(run.manifest).not.toContain(TRIMMED);
    });

    it('keeps the ordinary settings of the manifest as they are', () => {
      expect(run.manifest).toContain('LOG_LEVEL: info');
      expect(run.manifest).toContain('name: cfg-settings');
    });

    it('hides them all in the preview too', () => {
      expect(preview.manifest).toContain('LOG_LEVEL: info');
      for (const secret of [
        URL_PASSWORD,
        CFG_PASSWORD,
        KNOWN_URLQUERY,
        TRIMMED,
      ])
        expect(preview.manifest).not.toContain(secret);
    });
  },
);
