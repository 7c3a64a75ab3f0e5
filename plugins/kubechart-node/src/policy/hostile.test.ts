import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine } from './PolicyEngine';
import { DEFAULT_SECRET_KEY_NAMES, isSecretName } from './secrets';
import { KubeObject } from './types';
import { findUnknownValues } from './unknownValues';
import {
  WORKLOAD_KINDS,
  goodContainer,
  goodPodSpec,
} from './__testUtils__/fixtures';

const within = (ms: number, fn: () => unknown) => {
  const started = Date.now();
  const result = fn();
  expect(Date.now() - started).toBeLessThan(ms);
  return result;
};

describe('policy engine against hostile manifests', () => {
  const engine = new PolicyEngine();

  it('checks many objects with many containers in bounded time, pairwise rules included', () => {
    const objects: KubeObject[] = [];
    for (let i = 0; i < 300; i++) {
      const spec = {
        ...goodPodSpec(),
        containers: Array.from({ length: 20 }, (_, j) =>
          goodContainer(`c${j}`),
        ),
      };
      objects.push(WORKLOAD_KINDS.Deployment(spec, `d${i}`));
      objects.push({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `p${i}` },
        spec: { selector: { matchLabels: { app: `other-${i}` } } },
      });
    }
    const report = within(10_000, () => engine.check(objects)) as ReturnType<
      PolicyEngine['check']
    >;
    expect(report.summary.objects).toBe(600);
    expect(report.summary.errors).toBe(0);
  });

  it('judges values of the wrong type without throwing, and reports them', () => {
    const weird: any[] = [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'a', image: 42 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'q' },
        spec: { containers: [{ name: 'a', image: 'x:1', env: 'PASSWORD=x' }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'r', labels: 'app=x' },
        spec: {
          containers: [{ name: 'a', image: 'x:1' }],
          volumes: 'hostPath',
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: ['not', 'a', 'map'],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'b' },
        roleRef: 'cluster-admin',
        subjects: 'everyone',
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { type: { toString: null } },
      },
      Object.assign(Object.create(null), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: '__proto__' },
      }),
    ];
    const report = engine.check(weird);
    const invalid = report.results
      .filter(r => r.ruleId === 'valid-object' && !r.passed)
      .map(r => r.object.name);
    expect(invalid).toEqual(['p', 'q', 'r']);
    expect(
      report.results.find(r => r.ruleId === 'rbac-cluster-admin')!.message,
    ).toBe('roleRef is missing or malformed');
    expect(report.blocking).toBe(true);
  });

  it('splits very long names in bounded time', () => {
    const long = `db_password_${'aB_'.repeat(300_000)}`;
    expect(
      within(500, () =>
        isSecretName(long, {
          keyNames: DEFAULT_SECRET_KEY_NAMES,
          ignoreKeys: [],
        }),
      ),
    ).toBe(true);
  });
});

describe('findUnknownValues against hostile values', () => {
  it('walks deep and wide values in bounded time and output', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-values-'));
    try {
      await fs.writeFile(
        path.join(dir, 'Chart.yaml'),
        'name: c\nversion: 1.0.0\n',
      );
      await fs.writeFile(path.join(dir, 'values.yaml'), 'a: { b: { c: 1 } }\n');
      let deep: any = { x: 1 };
      for (let i = 0; i < 5000; i++) deep = { a: deep };
      const wide = Object.fromEntries(
        Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]),
      );
      const started = Date.now();
      const warnings = await findUnknownValues({ ...wide, a: deep }, dir);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(warnings.length).toBeLessThanOrEqual(100);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
