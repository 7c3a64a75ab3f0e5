import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findUnknownValues } from './unknownValues';

/** A chart `shop` in a new directory whose values.yaml is `valuesYaml`; its one template refers to `.Values.image.tag`. */
async function chartWith(root: string, name: string, valuesYaml: string) {
  const dir = path.join(root, name);
  await fs.mkdir(path.join(dir, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'Chart.yaml'),
    'apiVersion: v2\nname: shop\nversion: 1.0.0\n',
  );
  await fs.writeFile(path.join(dir, 'values.yaml'), valuesYaml);
  await fs.writeFile(
    path.join(dir, 'templates', 'pod.yaml'),
    'image: {{ .Values.image.tag }}\n',
  );
  return dir;
}

const refusal = (dir: string) =>
  findUnknownValues({ image: { tag: '2' } }, dir).then(
    () => undefined,
    (e: Error) => e,
  );

/**
 * A chart's values.yaml (its default values) is untrusted text: read within the byte bound it had,
 * it is parsed with node, depth and alias limits, as Chart.yaml is, or the chart is refused with a
 * reason that names the file and the limit.
 */
describe('findUnknownValues reads values.yaml within bounds', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'unknown-values-yaml-'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('refuses a values.yaml within 2 MiB that holds more nodes than any real chart defaults', async () => {
    // 1.5 MB of a flow sequence: 750,000 one-letter values.
    const dir = await chartWith(
      root,
      'nodes',
      `image:\n  tag: "1"\nbig: [${Array(750_000).fill('a').join(',')}]\n`,
    );
    const e = await refusal(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e?.message).toMatch(
      /^values\.yaml of chart shop refused: more than 100000 nodes .*the limit maxNodes is 100000$/,
    );
  }, 60_000);

  it('refuses a values.yaml whose aliases expand past the limits (a billion laughs)', async () => {
    const lines = ['image:', '  tag: "1"'];
    lines.push(`a0: &a0 [${Array(10).fill('lol').join(', ')}]`);
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const e = await refusal(await chartWith(root, 'laughs', lines.join('\n')));
    expect(e).toBeInstanceOf(InputError);
    expect(e?.message).toMatch(
      /^values\.yaml of chart shop refused: .*the limit max(Aliases|Nodes|ExpandedChars) is \d+$/,
    );
  });

  it('refuses a values.yaml nested deeper than the limit', async () => {
    const depth = 5000;
    const dir = await chartWith(
      root,
      'deep',
      `image:\n  tag: "1"\ndeep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`,
    );
    const e = await refusal(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e?.message).toMatch(
      /^values\.yaml of chart shop refused: nesting deeper than 100; the limit maxDepth is 100$/,
    );
  });

  it('refuses a values.yaml of several documents, or not a mapping, with an InputError naming it', async () => {
    const several = await refusal(
      await chartWith(root, 'several', 'image:\n  tag: "1"\n---\nother: 1\n'),
    );
    expect(several).toBeInstanceOf(InputError);
    expect(several?.message).toBe(
      'values.yaml of chart shop holds more than one YAML document',
    );
    const list = await refusal(await chartWith(root, 'list', '- a\n- b\n'));
    expect(list).toBeInstanceOf(InputError);
    expect(list?.message).toBe(
      'values.yaml of chart shop is not a YAML mapping',
    );
  });

  it('still reads a values.yaml of a real size with a few anchors and an empty one', async () => {
    const anchored = await chartWith(
      root,
      'anchored',
      'resources: &res\n  limits:\n    cpu: 1\nsidecar:\n  resources: *res\nimage:\n  tag: "1"\n',
    );
    expect(
      await findUnknownValues(
        {
          image: { tag: '2' },
          sidecar: { resources: { limits: { cpu: 2 }, typo: 1 } },
          extra: true,
        },
        anchored,
      ),
    ).toEqual([
      'value `sidecar.resources.typo` is not used by chart shop',
      'value `extra` is not used by chart shop',
    ]);
    const empty = await chartWith(root, 'empty', '# no defaults\n');
    expect(
      await findUnknownValues({ image: { tag: '2' }, extra: 1 }, empty),
    ).toEqual(['value `extra` is not used by chart shop']);
  });
});
