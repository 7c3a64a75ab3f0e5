import { applyPatch, parsePatch } from 'diff';
import { chartManifest, largeTenantRuns } from '../__testUtils__/largeTenant';
import { runDiff } from './runDiff';

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
