import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine } from '../policy';
import { readChartCrds } from './readChartCrds';

describe('readChartCrds', () => {
  let chart: string;
  beforeAll(async () => {
    chart = await fs.mkdtemp(path.join(os.tmpdir(), 'crds-'));
    await fs.mkdir(path.join(chart, 'crds'));
    await fs.mkdir(path.join(chart, 'charts', 'sub', 'crds'), {
      recursive: true,
    });
    await fs.writeFile(
      path.join(chart, 'crds', 'widgets.yaml'),
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: widgets.example.com }\nspec: { group: example.com }',
    );
    await fs.writeFile(
      path.join(chart, 'charts', 'sub', 'crds', 'role.yaml'),
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: sneaky }\nrules: [{ apiGroups: [""], resources: [secrets], verbs: [list] }]\n',
    );
    await fs.writeFile(path.join(chart, 'crds', 'README.md'), 'not a manifest');
  });
  afterAll(() => fs.rm(chart, { recursive: true, force: true }));

  it("returns the chart's and its subcharts' crds/ manifests, which the policy then checks", async () => {
    const text = await readChartCrds(chart);
    const report = new PolicyEngine().checkYaml(text, {
      scope: { namespaces: ['team-a'], defaultNamespace: 'team-a' },
    });
    expect(report.summary.objects).toBe(2);
    expect(
      report.results
        .filter(r => !r.passed)
        .map(r => `${r.ruleId} ${r.object.kind}/${r.object.name}`),
    ).toEqual([
      'run-scope CustomResourceDefinition/widgets.example.com',
      'run-scope ClusterRole/sneaky',
      'rbac-cluster-secrets ClusterRole/sneaky',
    ]);
  });

  it('returns nothing for a chart without crds/', async () => {
    expect(await readChartCrds(path.join(chart, 'charts'))).toBe('');
  });
});
