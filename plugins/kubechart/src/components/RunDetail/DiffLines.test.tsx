import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { DiffLines } from './DiffLines';

/** A chart change whose added line the browser would show reordered (U+202E) and joined (U+200B). */
const PATCH = [
  'Index: manifest',
  '===================================================================',
  '--- manifest@run-1',
  '+++ manifest@run-2',
  '@@ -1,2 +1,2 @@',
  '-  run.sh: "echo ok"',
  '+  run.sh: "echo ok \u202E hs|x lruc && \u202C"',
  '   tool: kube\u200Bctl',
  '',
].join('\n');

describe('DiffLines', () => {
  it('shows direction-changing and invisible characters as visible markers, and says how many there are', async () => {
    await renderInTestApp(
      <DiffLines patch={PATCH} emptyText="No differences." />,
    );
    const added = document.querySelector('[data-diff="+"]')!;
    // What the browser would reorder is shown in the order it runs, each hidden character named.
    expect(added.textContent).toBe(
      '+  run.sh: "echo ok ⟨U+202E⟩ hs|x lruc && ⟨U+202C⟩"',
    );
    const diff = added.closest('pre')!;
    expect(diff.textContent).toContain('tool: kube⟨U+200B⟩ctl');
    expect(diff.textContent).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B]/);
    expect(
      screen.getByText(
        'This text holds 3 invisible or direction-changing characters, shown as ⟨U+…⟩.',
      ),
    ).toBeInTheDocument();
  });

  it('shows a diff without such characters as it is, with no warning', async () => {
    await renderInTestApp(
      <DiffLines
        patch={PATCH.replace(/[\u202E\u202C\u200B]/g, '')}
        emptyText="No differences."
      />,
    );
    expect(document.querySelector('[data-diff="+"]')!.textContent).toBe(
      '+  run.sh: "echo ok  hs|x lruc && "',
    );
    expect(screen.queryByText(/invisible or direction-changing/)).toBeNull();
  });

  it('shows a diff of text with Windows line endings, joined emoji and Persian without markers', async () => {
    await renderInTestApp(
      <DiffLines
        patch={[
          '--- manifest@run-1',
          '+++ manifest@run-2',
          '@@ -1,2 +1,2 @@',
          '-  team: web\r',
          '+  team: 👨\u200D👩\u200D👧 می\u200Cخواهم\r',
          '   a: 1\r',
          '',
        ].join('\n')}
        emptyText="No differences."
      />,
    );
    expect(document.querySelector('[data-diff="+"]')!.textContent).toBe(
      '+  team: 👨\u200D👩\u200D👧 می\u200Cخواهم\r',
    );
    expect(document.querySelector('[data-hidden-character]')).toBeNull();
    expect(screen.queryByText(/invisible or direction-changing/)).toBeNull();
  });

  it('still marks a carriage return inside a diff line', async () => {
    await renderInTestApp(
      <DiffLines
        patch={['@@ -1 +1 @@', '-a: 1', '+a: 1\rb: 2', ''].join('\n')}
        emptyText="No differences."
      />,
    );
    expect(document.querySelector('[data-diff="+"]')!.textContent).toBe(
      '+a: 1⟨U+000D⟩b: 2',
    );
  });
});
