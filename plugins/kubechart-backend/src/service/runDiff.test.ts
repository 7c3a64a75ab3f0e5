import * as jsdiff from 'diff';
import yaml from 'js-yaml';
import { chartManifest, largeTenantRuns } from '../__testUtils__/largeTenant';
import { runDiff } from './runDiff';

// Two 500-object manifests diffed whole: about 1 s alone, more than Jest's 5 s default on a loaded machine.
jest.setTimeout(60_000);

// jsdiff as it is, each function the run diff calls counting what it was given.
jest.mock('diff', () => {
  const actual = jest.requireActual('diff');
  const counted = [
    'diffLines',
    'diffArrays',
    'createTwoFilesPatch',
    'structuredPatch',
    'formatPatch',
  ];
  return {
    ...actual,
    ...Object.fromEntries(counted.map(name => [name, jest.fn(actual[name])])),
  };
});
const { applyPatch, parsePatch } = jsdiff;

describe('runDiff', () => {
  const { before, after, bumped, scaled, removed, added } = largeTenantRuns();

  it('shows the changed objects of two 500-object manifests', async () => {
    const diff = await runDiff(before, after);
    expect(diff).toMatchObject({ from: before.id, to: after.id });
    // A unified diff from one manifest to the other, with jsdiff's headers.
    expect(
      diff.manifest.startsWith(
        `===================================================================\n--- manifest@${before.id}\n+++ manifest@${after.id}\n@@ `,
      ),
    ).toBe(true);
    expect(applyPatch(before.manifest!, diff.manifest)).toBe(after.manifest);
    const lines = diff.manifest.split('\n');
    for (const name of bumped) {
      expect(lines).toContain(
        `-          image: registry.example.com/${name}:1.4.2`,
      );
      expect(lines).toContain(
        `+          image: registry.example.com/${name}:1.5.0`,
      );
    }
    for (const name of [...removed, ...added]) {
      const sign = removed.includes(name) ? '-' : '+';
      expect(lines).toContain(
        `${sign}          image: registry.example.com/${name}:1.4.2`,
      );
    }
    // The scaled Deployments, and the removed releases' Deployments.
    expect(lines.filter(l => l === '-  replicas: 2')).toHaveLength(
      scaled.length + removed.length,
    );
    expect(lines.filter(l => l === '+  replicas: 3')).toHaveLength(
      scaled.length,
    );
    expect(lines.filter(l => l === '+  replicas: 2')).toHaveLength(
      added.length,
    );
    // Unchanged releases do not appear beyond the context lines of a hunk.
    expect(lines.some(l => /^[-+].*svc-100\b/.test(l))).toBe(false);
  });

  it('shows the values as YAML, and nothing for identical runs', async () => {
    const diff = await runDiff(before, after);
    expect(diff.values.split('\n')).toEqual(
      expect.arrayContaining(['-  tag: 1.4.2', '+  tag: 1.5.0']),
    );
    const same = await runDiff(before, { ...before, id: 'again' });
    expect(parsePatch(same.manifest)[0].hunks).toEqual([]);
    expect(parsePatch(same.values)[0].hunks).toEqual([]);
  });

  it('says how many secret values it could not compare, since both sides hide them', async () => {
    const secretManifest = [
      'apiVersion: v1',
      'kind: Secret',
      'metadata: { name: db, namespace: team-a }',
      "stringData: { password: '***' }",
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: settings, namespace: team-a }',
      "data: { DATABASE_URL: 'postgres://app:***@db:5432/app' }",
    ].join('\n');
    const first = {
      ...before,
      id: 'first',
      values: { database: { password: '***', host: 'db' } },
      manifest: secretManifest,
    };
    // A new password: stored redacted like the first, so the texts are equal.
    const second = { ...first, id: 'second' };
    const diff = await runDiff(first, second);
    expect(parsePatch(diff.values)[0].hunks).toEqual([]);
    expect(parsePatch(diff.manifest)[0].hunks).toEqual([]);
    expect(diff.hiddenSecrets).toBe(3);
    // Runs without hidden values say so too.
    expect((await runDiff(before, after)).hiddenSecrets).toBe(0);
  });

  it('diffs a run without a manifest against one with a small one, and only reports a larger difference', async () => {
    const small = {
      ...after,
      manifest: chartManifest('web', 'team-a', '1.0.0'),
    };
    const diff = await runDiff(
      { ...before, manifest: undefined, values: undefined },
      small,
    );
    expect(applyPatch('', diff.manifest)).toBe(small.manifest);
    expect(diff.values).toContain('+replicas: 2');
    // 9,500 added lines: more than a run diff computes.
    const large = await runDiff({ ...before, manifest: undefined }, after);
    expect(large.manifest).toBe(
      `# diff not shown: manifest@${before.id} and manifest@${after.id} differ in more than 2000 lines (or took over 2000 ms)\n`,
    );
  });

  it('says which diff it did not compute, and why, beside the text', async () => {
    // The manifest has 9,500 added lines; the values differ in one.
    const large = await runDiff({ ...before, manifest: undefined }, after);
    expect(large.notComputed).toEqual({
      manifest:
        'the texts differ in more than 2000 lines, or diffing them took over 2000 ms',
    });
    expect(large.values).toContain('+  tag: 1.5.0');
    // A diff computed in full says nothing of the kind.
    expect((await runDiff(before, after)).notComputed).toBeUndefined();
  });
});

describe('runDiff of runs too large to diff', () => {
  const { before, after } = largeTenantRuns();
  const dump = jest.spyOn(yaml, 'dump');
  const spied = [
    jsdiff.diffLines,
    jsdiff.diffArrays,
    jsdiff.createTwoFilesPatch,
    jsdiff.structuredPatch,
    jsdiff.formatPatch,
  ] as unknown as jest.Mock[];
  /** Whether a text holding `marker` was written as YAML or given to jsdiff. */
  const reached = (marker: string) =>
    [dump, ...spied].some(f =>
      f.mock.calls.some(args => JSON.stringify(args).includes(marker)),
    );
  beforeEach(() => {
    for (const f of [dump, ...spied]) f.mockClear();
  });
  /** A ConfigMap of `lines` data lines, each holding `marker`. */
  const bigConfigMap = (lines: number, marker: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: tenant-big\ndata:\n${Array.from(
      { length: lines },
      (_, i) => `  k${i}: ${marker}-${i}\n`,
    ).join('')}`;

  it('does not dump values of more than 10000 keys and list items, and says so beside a computed manifest diff', async () => {
    const huge = Object.fromEntries(
      Array.from({ length: 10_001 }, (_, i) => [`hugeKey${i}`, i]),
    );
    const diff = await runDiff(
      { ...before, values: huge },
      { ...after, values: { ...huge, hugeKey0: 'changed' } },
    );
    const reason = `values@${before.id} has more than 10000 keys and list items; a run diff compares values of at most 10000 keys and list items and 500000 characters as YAML (each counted once per level it is nested under; a control character six times)`;
    expect(diff.notComputed).toEqual({ values: reason });
    expect(diff.values).toBe(`# diff not shown: ${reason}\n`);
    expect(reached('hugeKey')).toBe(false);
    expect(dump).not.toHaveBeenCalled();
    // The manifests are diffed as ever.
    expect(applyPatch(before.manifest!, diff.manifest)).toBe(after.manifest);
  });

  it('does not dump values whose YAML would take too long to write: long texts nested deep', async () => {
    let deep: Record<string, unknown> = {
      text: `deepText ${'x'.repeat(20_000)}`,
    };
    for (let i = 0; i < 60; i++) deep = { nested: deep };
    const diff = await runDiff({ ...before, values: deep }, after);
    expect(diff.notComputed?.values).toBe(
      `values@${before.id} would be more than 500000 characters as YAML; a run diff compares values of at most 10000 keys and list items and 500000 characters as YAML (each counted once per level it is nested under; a control character six times)`,
    );
    expect(reached('deepText')).toBe(false);
    expect(diff.notComputed?.manifest).toBeUndefined();
  });

  it('does not diff a manifest of more than 15000 lines, and says so beside a computed values diff', async () => {
    // One ConfigMap of 30,000 lines against the same without its last line.
    const big = bigConfigMap(30_000, 'bigLine');
    const diff = await runDiff(
      { ...before, manifest: big },
      { ...after, manifest: big.replace('  k29999: bigLine-29999\n', '') },
    );
    const reason = `manifest@${before.id} has more than 15000 lines; a run diff compares texts of at most 15000 lines and 1000000 characters`;
    expect(diff.notComputed).toEqual({ manifest: reason });
    expect(diff.manifest).toBe(`# diff not shown: ${reason}\n`);
    expect(reached('bigLine')).toBe(false);
    // The values are diffed as ever.
    expect(diff.values).toContain('+  tag: 1.5.0');
  });

  it('does not diff a manifest of more than 1000000 characters, however few its lines', async () => {
    const long = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: long\ndata:\n  k: longLine${'x'.repeat(
      1_000_000,
    )}\n`;
    const diff = await runDiff(before, { ...after, manifest: long });
    expect(diff.notComputed?.manifest).toBe(
      `manifest@${after.id} has more than 1000000 characters; a run diff compares texts of at most 15000 lines and 1000000 characters`,
    );
    expect(reached('longLine')).toBe(false);
  });

  it('diffs texts and values up to the bounds as before', async () => {
    const big = bigConfigMap(14_994, 'atBound');
    expect(big.split('\n').length - 1).toBe(15_000);
    const values = Object.fromEntries(
      Array.from({ length: 10_000 }, (_, i) => [`key${i}`, i]),
    );
    const diff = await runDiff(
      { ...before, manifest: big, values },
      {
        ...after,
        manifest: big.replace('  k5: atBound-5\n', ''),
        values: { ...values, key5: 'five' },
      },
    );
    expect(diff.notComputed).toBeUndefined();
    expect(diff.manifest.split('\n')).toContain('-  k5: atBound-5');
    expect(diff.values.split('\n')).toEqual(
      expect.arrayContaining(['-key5: 5', '+key5: five']),
    );
  });
});
