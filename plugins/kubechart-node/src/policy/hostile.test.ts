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
import { countingReads } from '@internal/kube-sim/testUtils';

describe('policy engine against hostile manifests', () => {
  const engine = new PolicyEngine();

  it('checks many objects with many containers in linear time, pairwise rules included', () => {
    const objectsOf = (n: number) => {
      const objects: KubeObject[] = [];
      for (let i = 0; i < n; i++) {
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
      return objects;
    };
    const report = engine.check(objectsOf(300));
    expect(report.summary.objects).toBe(600);
    expect(report.summary.errors).toBe(0);
    // Ten times the objects: about ten times their fields read (each pair of them, a hundred times).
    const readsFor = (n: number) => {
      const { value, reads } = countingReads(objectsOf(n));
      engine.check(value);
      return reads();
    };
    expect(readsFor(300) / readsFor(30)).toBeLessThan(20);
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

  it('splits very long names reading only their start', () => {
    // The name behind a proxy that counts the reads of its characters and its length.
    const readsOf = (name: string) => {
      let reads = 0;
      const counted = new Proxy(Object(name) as object, {
        get(target, key) {
          reads++;
          const got = Reflect.get(target, key);
          return typeof got === 'function' ? got.bind(target) : got;
        },
      });
      const secret = isSecretName(counted as unknown as string, {
        keyNames: DEFAULT_SECRET_KEY_NAMES,
        ignoreKeys: [],
      });
      return { secret, reads };
    };
    const long = readsOf(`db_password_${'aB_'.repeat(300_000)}`);
    expect(long.secret).toBe(true);
    // 900 KB read as far as 3 KB is: its start only.
    expect(long.reads).toBe(readsOf(`db_password_${'aB_'.repeat(1000)}`).reads);
  });
});

describe('findUnknownValues against hostile values', () => {
  it('walks deep and wide values in linear time and bounded output', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-values-'));
    try {
      await fs.writeFile(
        path.join(dir, 'Chart.yaml'),
        'name: c\nversion: 1.0.0\n',
      );
      await fs.writeFile(path.join(dir, 'values.yaml'), 'a: { b: { c: 1 } }\n');
      const valuesOf = (n: number) => {
        let deep: any = { x: 1 };
        for (let i = 0; i < n / 10; i++) deep = { a: deep };
        const wide = Object.fromEntries(
          Array.from({ length: n }, (_, i) => [`k${i}`, i]),
        );
        return countingReads({ ...wide, a: deep });
      };
      const values = valuesOf(50_000);
      const warnings = await findUnknownValues(values.value, dir);
      expect(warnings.length).toBeLessThanOrEqual(100);
      // Ten times the keys and the depth: at most ten times the reads of the values.
      const small = valuesOf(5_000);
      await findUnknownValues(small.value, dir);
      expect(values.reads() / small.reads()).toBeLessThan(15);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
