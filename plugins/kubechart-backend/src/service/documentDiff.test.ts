import { applyPatch, createTwoFilesPatch } from 'diff';
import { chartManifest, largeTenantRuns } from '../__testUtils__/largeTenant';
import { documentPatch } from './documentDiff';

const limits = { maxChangedLines: 2000, timeoutMs: 10_000, stepMs: 1000 };
const jsdiff = (from: string, to: string) =>
  createTwoFilesPatch('old', 'new', from, to);
const byObject = (from: string, to: string) =>
  documentPatch('old', 'new', from, to, limits);

describe('documentPatch', () => {
  const releases = (names: string[], tag = (_: string) => '1.0.0') =>
    names.map(n => chartManifest(n, 'team-a', tag(n))).join('---\n');
  const names = Array.from({ length: 20 }, (_, i) => `app-${i}`);

  it('gives the patch jsdiff gives when objects change in place', async () => {
    const cases: Array<[string, string, string]> = [
      [
        'image tags in a few objects',
        releases(names),
        releases(names, n => (n.endsWith('3') ? '2.0.0' : '1.0.0')),
      ],
      [
        'changes a few lines apart in neighbouring objects (one hunk)',
        releases(names),
        releases(names)
          .replace(
            'memory: 128Mi\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app-4',
            'memory: 256Mi\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app-4',
          )
          .replace(
            'app.kubernetes.io/name: app-4\n    app.kubernetes.io/managed-by: Helm\n---',
            'app.kubernetes.io/name: app-4\n    app.kubernetes.io/managed-by: Tiller\n---',
          ),
      ],
      [
        'the first and the last line',
        `# head\n${releases(names)}`,
        `# new head\n${releases(names)}tail: 1\n`,
      ],
      [
        'no newline at the end',
        releases(names).trimEnd(),
        `${releases(names).trimEnd()}x`,
      ],
      [
        'a leading document separator',
        `---\n${releases(names)}`,
        `---\n${releases(names, () => '3.0.0')}`,
      ],
      [
        'one document (values)',
        'image:\n  tag: 1.0.0\nreplicas: 2\n',
        'image:\n  tag: 1.1.0\nreplicas: 3\nextra: true\n',
      ],
      ['nothing before', '', 'a: 1\n'],
      ['nothing after', 'a: 1\n', ''],
      ['no change', releases(names), releases(names)],
    ];
    for (const [what, from, to] of cases) {
      expect({ what, patch: await byObject(from, to) }).toEqual({
        what,
        patch: jsdiff(from, to),
      });
    }
  });

  it('shows a removed or added object as one block, turning one manifest into the other', async () => {
    const { before, after, removed, added } = largeTenantRuns();
    const patch = (await byObject(before.manifest!, after.manifest!))!;
    expect(applyPatch(before.manifest!, patch)).toBe(after.manifest);
    for (const name of removed) {
      const block = chartManifest(name, 'tenant-big', '1.4.2')
        .split('\n')
        .slice(0, -1)
        .map(l => `-${l}`)
        .join('\n');
      expect(patch).toContain(`\n${block}\n`);
    }
    for (const name of added) {
      const block = chartManifest(name, 'tenant-big', '1.4.2')
        .split('\n')
        .slice(0, -1)
        .map(l => `+${l}`)
        .join('\n');
      expect(patch).toContain(`\n${block}\n`);
    }
    // As few changed lines as the diff of the whole texts.
    const changedLines = (p: string) =>
      p.split('\n').filter(l => /^[-+](?!-- |\+\+ )/.test(l)).length;
    expect(changedLines(patch)).toBe(
      changedLines(jsdiff(before.manifest!, after.manifest!)),
    );
  });

  it('gives up beyond the changed-line limit or the time limit', async () => {
    const five = releases(names.slice(0, 5));
    const other = releases(names.slice(0, 5).map(n => `${n}-other`));
    expect(await byObject(five, other)).toBe(jsdiff(five, other));
    expect(
      await documentPatch('old', 'new', five, other, {
        ...limits,
        maxChangedLines: 100,
      }),
    ).toBeUndefined();
    expect(
      await documentPatch('old', 'new', five, other, {
        ...limits,
        timeoutMs: -1,
      }),
    ).toBeUndefined();
  });
});
