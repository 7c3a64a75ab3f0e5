import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  MAX_REFERENCE_CHARS,
  MAX_VALUES_REFERENCES,
  findUnknownValues,
  templateReferences,
} from './unknownValues';

/** A chart `shop` in a new directory, with `files` below templates/. */
async function chartWith(
  root: string,
  name: string,
  files: Record<string, string>,
  valuesYaml = 'image:\n  tag: "1"\n',
) {
  const dir = path.join(root, name);
  await fs.mkdir(path.join(dir, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'Chart.yaml'),
    'apiVersion: v2\nname: shop\nversion: 1.0.0\n',
  );
  await fs.writeFile(path.join(dir, 'values.yaml'), valuesYaml);
  for (const [file, text] of Object.entries(files))
    await fs.writeFile(path.join(dir, 'templates', file), text);
  return dir;
}

/**
 * The `.Values` paths a chart's templates refer to are untrusted input: at most
 * MAX_VALUES_REFERENCES paths (prefixes included) and MAX_REFERENCE_CHARS characters of them are
 * kept; a chart past either is read as using `.Values` as a whole (no unknown-value warnings).
 */
describe('the .Values references of a chart, bounded', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'unknown-values-refs-'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('gives up on a helper file of 2 MB of long distinct references (each with hundreds of prefixes): no warnings', async () => {
    // A helper file (templates/_*.tpl: parsed by helm, renders nothing) of just under 2 MB (the
    // per-file bound) holding `.Values.<512 characters of x<k>.a.a…>` references.
    let text = '';
    for (let k = 0; text.length < 2 * 1024 * 1024 - 1024; k++) {
      let p = `x${k.toString(36)}`;
      while (p.length < 505) p += '.a';
      text += `{{/* .Values.${p.slice(0, 512)} */}}\n`;
    }
    const dir = await chartWith(root, 'long', { '_refs.tpl': text });
    expect(
      await findUnknownValues({ image: { tag: '2' }, extra: 1 }, dir),
    ).toEqual([]);
    expect(await templateReferences(dir)).toBeUndefined();
  }, 60_000);

  it('keeps up to MAX_VALUES_REFERENCES paths, prefixes included, and gives up on one more', async () => {
    // `.Values.group.k<i>`: each adds one path; `group` is the one prefix they share.
    const refs = (n: number) =>
      Array.from({ length: n }, (_, i) => `{{ .Values.group.k${i} }}\n`).join(
        '',
      );
    const atLimit = await chartWith(root, 'at-limit', {
      'a.yaml': refs(MAX_VALUES_REFERENCES - 1),
    });
    expect(
      await findUnknownValues({ group: { k7: 1 }, extra: 1 }, atLimit),
    ).toEqual(['value `extra` is not used by chart shop']);

    const overLimit = await chartWith(root, 'over-limit', {
      'a.yaml': refs(MAX_VALUES_REFERENCES - 2),
      // Counted over all the files of the chart together.
      'b.yaml': '{{ .Values.group.last1 }}\n{{ .Values.group.last2 }}\n',
    });
    expect(
      await findUnknownValues({ group: { k7: 1 }, extra: 1 }, overLimit),
    ).toEqual([]);
    expect(await templateReferences(overLimit)).toBeUndefined();
    expect((await templateReferences(atLimit))?.paths.size).toBe(
      MAX_VALUES_REFERENCES,
    );
  }, 60_000);

  it('gives up once the paths kept hold more than MAX_REFERENCE_CHARS characters', async () => {
    // Few paths, each 400 characters long: the count stays far below MAX_VALUES_REFERENCES.
    const long = (i: number) => `p${i}_${'x'.repeat(400)}`;
    const perFile = 100;
    const files: Record<string, string> = {};
    for (let f = 0; f * perFile * 400 <= MAX_REFERENCE_CHARS; f++)
      files[`f${f}.yaml`] = Array.from(
        { length: perFile },
        (_, i) => `{{ .Values.${long(f * perFile + i)} }}\n`,
      ).join('');
    const dir = await chartWith(root, 'many-chars', files);
    expect(await templateReferences(dir)).toBeUndefined();
  }, 60_000);

  it('reads a path referred to many times once, and a repeated long path keeps its prefixes once', async () => {
    const p = Array.from({ length: 200 }, () => 'a').join('.');
    const dir = await chartWith(root, 'repeated', {
      'a.yaml': `{{ .Values.${p} }}\n`.repeat(5000),
    });
    const kept = await templateReferences(dir);
    expect(kept?.paths.size).toBe(200);
    expect(kept?.parents.size).toBe(199);
  });

  it('walks into a map whose children templates refer to, and not into one handed on whole', async () => {
    const dir = await chartWith(
      root,
      'parents',
      {
        'a.yaml':
          '{{ .Values.image.tag }}\n{{ toYaml .Values.resources | nindent 2 }}\n',
      },
      'image:\n  tag: "1"\nresources:\n  limits:\n    cpu: 1\n',
    );
    expect(
      await findUnknownValues(
        {
          image: { tag: '2', pullPolicy: 'Always' },
          resources: { requests: { cpu: 1 } },
        },
        dir,
      ),
    ).toEqual(['value `image.pullPolicy` is not used by chart shop']);
  });
});
