import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import path from 'node:path';
import yaml from 'js-yaml';
import { HelmCli } from './HelmCli';
import { startPostRenderGate } from './postRenderGate';
import { labelManifests } from './tenantLabels';
import { startHelmSim, which } from '../__testUtils__/helmCluster';

jest.setTimeout(120_000);

const TENANT = { 'kubechart.io/tenant': 'acme' };

describe('labelManifests', () => {
  it('labels every object and the pod template of every workload, so the pods carry the label', () => {
    const out = labelManifests(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: web, labels: { app: web } }',
        'spec:',
        '  selector: { matchLabels: { app: web } }',
        '  template:',
        '    metadata: { labels: { app: web } }',
        '    spec: { containers: [{ name: web, image: "nginx:1.27" }] }',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: web }',
        '---',
        '# only a comment',
        '---',
        'apiVersion: batch/v1',
        'kind: CronJob',
        'metadata: { name: nightly }',
        'spec:',
        '  schedule: "0 1 * * *"',
        '  jobTemplate:',
        '    spec:',
        '      template:',
        '        spec: { containers: [{ name: job, image: "busybox:1.36" }] }',
      ].join('\n'),
      TENANT,
    );
    const [deployment, service, cronJob, ...rest] = yaml.loadAll(out) as any[];
    expect(rest).toEqual([]);
    expect(deployment.metadata.labels).toEqual({ app: 'web', ...TENANT });
    expect(deployment.spec.template.metadata.labels).toEqual({
      app: 'web',
      ...TENANT,
    });
    // The selector is immutable and stays as the chart wrote it.
    expect(deployment.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(service.metadata.labels).toEqual(TENANT);
    expect(cronJob.spec.jobTemplate.spec.template.metadata.labels).toEqual(
      TENANT,
    );
    expect(cronJob.spec.schedule).toBe('0 1 * * *');
  });

  it('replaces a tenant label the chart set: the engine decides the tenant', () => {
    const out = labelManifests(
      'kind: ConfigMap\napiVersion: v1\nmetadata: { name: c, labels: { kubechart.io/tenant: rival } }\n',
      TENANT,
    );
    expect((yaml.load(out) as any).metadata.labels).toEqual(TENANT);
  });

  it('labels the items of a List', () => {
    const out = labelManifests(
      'apiVersion: v1\nkind: List\nitems:\n  - { apiVersion: v1, kind: ConfigMap, metadata: { name: a } }\n',
      TENANT,
    );
    expect((yaml.load(out) as any).items[0].metadata.labels).toEqual(TENANT);
  });

  it('keeps every value as helm reads it (YAML 1.1): octal modes, yes/on booleans, quoted look-alikes stay strings', () => {
    const out = labelManifests(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: c }',
        'data:',
        '  quotedYes: "yes"',
        '  quotedOctal: "0644"',
        '  version: "1.10"',
        '  date: 2024-01-01',
        'extra:',
        '  mode: 0644',
        '  enabled: yes',
        '  hex: 0x1F',
      ].join('\n'),
      TENANT,
    );
    // Read back with YAML 1.1 semantics through the same function: stable.
    expect(labelManifests(out, TENANT)).toBe(out);
    expect(out).toContain("quotedYes: 'yes'");
    expect(out).toContain("quotedOctal: '0644'");
    expect(out).toContain("version: '1.10'");
    expect(out).toContain('date: 2024-01-01');
    expect(out).toContain('mode: 420');
    expect(out).toContain('enabled: true');
    expect(out).toContain('hex: 31');
  });

  it('refuses what it cannot carry exactly or cannot read', () => {
    expect(() =>
      labelManifests('kind: ConfigMap\nbig: 123456789012345678901\n', TENANT),
    ).toThrow(/without losing precision/);
    expect(() => labelManifests('kind: [unclosed\n', TENANT)).toThrow(
      /not valid YAML/,
    );
  });
});

describe.each(['helm3', 'helm4'])(
  'tenant labels through the post-render gate with real %s against kube-sim',
  bin => {
    let sim: KubeSim;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    const helm = new HelmCli({ binary: which(bin) });
    const ns = `labels-${bin}`;

    beforeAll(async () => {
      ({ sim, core, apps } = await startHelmSim(ns));
    });
    afterAll(() => sim.stop());

    it("the release's objects and pods carry the tenant label, and the check saw it", async () => {
      const checked: string[] = [];
      const gate = await startPostRenderGate({
        labels: TENANT,
        check: manifest => {
          checked.push(manifest);
          return { approved: true };
        },
      });
      try {
        await helm.upgradeInstall({
          release: 'web',
          chart: path.resolve(__dirname, '../__fixtures__/charts/webapp'),
          namespace: ns,
          kubeconfig: sim.kubeconfig,
          postRenderer: gate,
          values: {
            secure: true,
            image: { repository: 'registry.example.com/web', tag: '1.0.0' },
          },
        });
      } finally {
        await gate.close();
      }
      expect(checked).toHaveLength(1);
      expect(checked[0]).toContain('kubechart.io/tenant: acme');

      const selected = {
        namespace: ns,
        labelSelector: 'kubechart.io/tenant=acme',
      };
      expect(
        (await apps.listNamespacedDeployment(selected)).items.map(
          d => d.metadata?.name,
        ),
      ).toEqual(['web']);
      expect(
        (await core.listNamespacedService(selected)).items.map(
          s => s.metadata?.name,
        ),
      ).toEqual(['web']);
      let pods: string[] = [];
      for (let i = 0; i < 50 && pods.length === 0; i++) {
        pods = (await core.listNamespacedPod(selected)).items.map(
          p => p.metadata!.name!,
        );
        if (!pods.length) await new Promise(r => setTimeout(r, 100));
      }
      expect(pods.length).toBeGreaterThan(0);
      expect(pods.every(p => p.startsWith('web-'))).toBe(true);
    });
  },
);
