import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine, parseManifests } from '../policy';
import { readChartCrds } from './readChartCrds';

const crd = (name: string) =>
  `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: { name: ${name} }\nspec: { group: example.com }\n`;

describe('readChartCrds', () => {
  let chart: string;
  const write = async (file: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(chart, file)), { recursive: true });
    await fs.writeFile(path.join(chart, file), text);
  };
  const refusal = async () => {
    const e = await readChartCrds(chart).then(
      () => undefined,
      err => err,
    );
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  };
  beforeEach(async () => {
    chart = await fs.mkdtemp(path.join(os.tmpdir(), 'crds-'));
  });
  afterEach(() => fs.rm(chart, { recursive: true, force: true }));

  it("returns the chart's and its subcharts' crds/ manifests, which the policy then checks", async () => {
    await write('crds/widgets.yaml', crd('widgets.example.com'));
    await write('charts/sub/crds/gadgets.yaml', crd('gadgets.example.com'));
    await write('crds/README.md', 'not a manifest');
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
      'run-scope CustomResourceDefinition/gadgets.example.com',
    ]);
  });

  it('reads every file helm reads: any case of .yaml, .yml and .json, in folders below crds/ too', async () => {
    await write('crds/a.YAML', crd('a.example.com'));
    await write('crds/b.Yml', crd('b.example.com'));
    await write(
      'crds/nested/c.JSON',
      JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'c.example.com' },
      }),
    );
    await write('crds/d.yaml.txt', 'kind: Pod');
    expect(
      parseManifests(await readChartCrds(chart))
        .map(o => o.metadata?.name)
        .sort(),
    ).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
  });

  it('refuses anything but CustomResourceDefinitions in crds/, which helm would apply unchecked', async () => {
    await write('crds/ok.yaml', crd('ok.example.com'));
    await write(
      'charts/sub/crds/role.YML',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: sneaky }\nrules: []\n',
    );
    expect(await refusal()).toBe(
      'Chart refused: charts/sub/crds/role.YML holds a ClusterRole (sneaky); helm applies crds/ as they are, before any check, so only CustomResourceDefinitions are accepted in crds/',
    );
  });

  it.each([
    ['a List of them', 'apiVersion: v1\nkind: List\nitems: []\n', 'a List'],
    [
      'a document that is no object',
      '- kind: Pod\n',
      'a document that is not an object',
    ],
    [
      'a CRD of the wrong API group',
      'apiVersion: v1\nkind: CustomResourceDefinition\nmetadata: { name: x }\n',
      'a CustomResourceDefinition (x) of apiVersion v1',
    ],
  ])('refuses %s', async (_what, text, named) => {
    await write('crds/x.yaml', `${crd('fine.example.com')}---\n${text}`);
    expect(await refusal()).toContain(`crds/x.yaml holds ${named}`);
  });

  it('refuses YAML it cannot read as helm would, and subcharts nested deeper than it reads', async () => {
    await write('crds/bad.yaml', 'a: [\n');
    expect(await refusal()).toMatch(
      /^Chart refused: crds\/bad.yaml is not valid YAML/,
    );
    await fs.rm(path.join(chart, 'crds'), { recursive: true });
    const deep = 'charts/a/charts/b/charts/c/charts/d/charts/e/charts/f';
    await write(`${deep}/crds/pod.yaml`, 'apiVersion: v1\nkind: Pod\n');
    expect(await refusal()).toMatch(/subcharts nested deeper than/);
    await fs.rm(path.join(chart, 'charts'), { recursive: true });
    await write('charts/db-1.0.0.tgz', 'a packaged subchart');
    expect(await refusal()).toMatch(/charts\/db-1\.0\.0\.tgz.*packaged/);
  });

  it('returns nothing for a chart without crds/', async () => {
    await write('templates/cm.yaml', 'kind: ConfigMap\n');
    expect(await readChartCrds(chart)).toBe('');
  });
});
