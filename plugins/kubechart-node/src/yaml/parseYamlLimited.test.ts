import { InputError } from '@backstage/errors';
import {
  assertWithinLimits,
  parseJsonLimited,
  parseYamlLimited,
  parseYamlLimitedInTurns,
} from '.';
import { isItemsKey, isList } from '../policy/validity';
import { costOf, nodesReadBy, workOf } from '@internal/kube-sim/testUtils';

/** The 428-byte billion-laughs document: 9 levels of 9 aliases, 387 million nodes when expanded. */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map(
      (c, i) =>
        `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`,
    ),
].join('\n');

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return { error: e as Error };
  }
  throw new Error('expected a refusal');
};

/** What helm creates of a document: the items of a List, of any other document its `items` entries (at least one). */
const objectsOf = (doc: unknown) => {
  if (doc === null || doc === undefined) return 0;
  if (isList(doc)) return doc.items.length;
  if (typeof doc !== 'object' || Array.isArray(doc)) return 1;
  let entries = 0;
  for (const [key, value] of Object.entries(doc))
    if (isItemsKey(key) && Array.isArray(value)) entries += value.length;
  return Math.max(1, entries);
};

describe('parseYamlLimited', () => {
  it('parses ordinary multi-document YAML and JSON', () => {
    expect(parseYamlLimited('a: 1\n---\nb: [1, 2]\n')).toEqual([
      { a: 1 },
      { b: [1, 2] },
    ]);
    expect(parseYamlLimited('{"kind":"List","items":[]}')).toEqual([
      { kind: 'List', items: [] },
    ]);
    // A few aliases, as people write them, are fine.
    expect(parseYamlLimited('x: &x { cpu: 1 }\ny: *x\nz: *x\n')).toEqual([
      { x: { cpu: 1 }, y: { cpu: 1 }, z: { cpu: 1 } },
    ]);
  });

  it('refuses an alias bomb as its aliases are read, naming the limit', () => {
    expect(ALIAS_BOMB.length).toBeLessThan(450);
    const { nodes, error } = nodesReadBy(() =>
      parseYamlLimited(ALIAS_BOMB, { what: 'Manifests' }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).toMatch(
      // its strings, counted as each alias is read, pass the limit before its nodes do
      /^Manifests refused: more than 5242880 characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is 5242880$/,
    );
    // Its text holds 99 nodes (keys, sequences, strings and aliases): refused at the third alias of
    // `g`, the 72nd node, the rest unread.
    expect(nodes).toBeLessThan(80);
  });

  it('refuses too many alias uses and recursive aliases', () => {
    const many = `a: &a [1]\nb: [${Array(150).fill('*a').join(', ')}]\n`;
    expect(refusal(() => parseYamlLimited(many)).error.message).toContain(
      'the limit maxAliases is 100',
    );
    expect(
      refusal(() => parseYamlLimited('a: &a [*a]')).error.message,
    ).toContain('recursive alias');
  });

  it('refuses aliases that make the strings larger than the largest text accepted', () => {
    // 1 MB once, and 100 aliases of it: 101 MB of strings to walk, from a text of 1 MB.
    const big = 'x'.repeat(1_000_000);
    const scalarAliases = `a: &a ${big}\n${Array.from(
      { length: 100 },
      (_, i) => `b${i}: *a`,
    ).join('\n')}\n`;
    const error = refusal(() =>
      parseYamlLimited(scalarAliases, { what: 'Manifests', schema: 'helm' }),
    ).error;
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      'Manifests refused: more than 5242880 characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is 5242880',
    );
    // A mapping holding it, aliased, counts as often as it is used too; so does a lower limit.
    const mappingAliases = `a: &a {v: ${big}}\nb: [*a, *a, *a, *a, *a]\n`;
    expect(refusal(() => parseYamlLimited(mappingAliases)).error.message).toBe(
      'YAML input refused: more than 5242880 characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is 5242880',
    );
    expect(
      refusal(() =>
        parseYamlLimited(`a: &a ${'x'.repeat(600)}\nb: *a\n`, {
          limits: { maxExpandedChars: 1000 },
        }),
      ).error.message,
    ).toContain('the limit maxExpandedChars is 1000');
    // As many characters as the text allows are read as before, aliases or not.
    expect(parseYamlLimited(`a: &a ${big}\nb: [*a, *a, *a, *a]\n`)[0]).toEqual({
      a: big,
      b: [big, big, big, big],
    });
  });

  it('refuses aliases that expand past maxExpandedChars as they are read, not once the stream is', () => {
    const big = 'x'.repeat(1_000_000);
    const text = `a: &a ${big}\nb: [${Array(200)
      .fill('*a')
      .join(', ')}]\nc: 1\n`;
    const { nodes, error } = nodesReadBy(() =>
      parseYamlLimited(text, { what: 'Manifests', schema: 'helm' }),
    );
    expect(error?.message).toBe(
      'Manifests refused: more than 5242880 characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is 5242880',
    );
    // Stopped at the sixth alias (6 MB): nothing after it was read.
    expect(nodes).toBeLessThan(15);
  });

  it('refuses a mapping key that is a sequence or a mapping as it is read, naming its line', async () => {
    // A flow sequence of aliases as a key: js-yaml joins it into one string, each alias copied whole.
    const big = 'x'.repeat(1_000_000);
    const aliases = Array(200).fill('*s').join(', ');
    const crafted = `data: &s ${big}\n${[1, 2, 3]
      .map(n => `? [${aliases}, ${n}]\n: 1\n`)
      .join('')}`;
    const heapBefore = process.memoryUsage().heapUsed;
    const { nodes, error } = nodesReadBy(() =>
      parseYamlLimited(crafted, { what: 'Manifests', schema: 'helm' }),
    );
    // Refused at the sixth alias of the first key, its characters past the limit.
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).toBe(
      'Manifests refused: more than 5242880 characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is 5242880',
    );
    expect(nodes).toBeLessThan(15);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(
      50 * 1024 * 1024,
    );
    // Within that limit, the key itself is refused as it closes.
    expect(
      refusal(() =>
        parseYamlLimited(`data: &s ${big}\n? [*s, *s, 1]\n: 1\n`, {
          what: 'Manifests',
          schema: 'helm',
        }),
      ).error.message,
    ).toBe(
      "Manifests has a mapping key that is a sequence or a mapping on line 2: helm's YAML reader takes only strings, numbers and booleans as keys; write the key as a string",
    );
    // Every way of writing one, in turns too; a key that is a scalar is read as before.
    for (const [text, line] of [
      ['a: 1\n[b, c]: 2\n', 2],
      ['a:\n  {b: 1}: 2\n', 2],
      ['a: 1\n? - b\n  - c\n: 2\n', 2],
      ['a: 1\n? [b]\nc: 2\n', 2],
      ['x: &x [b]\n*x : 1\n', 2],
      ['x: &x {b: 1}\n? *x\n', 2],
      ['{a: 1, [b]: 2}\n', 1],
      ['[a, [b]: 2]\n', 1],
      ['{a: 1, ? [b]}\n', 1],
      ['a: 1\n---\nb: 1\n\n? {c: 1}\n: 2\n', 5],
    ] as const) {
      expect(() => parseYamlLimited(text)).toThrow(
        `YAML input has a mapping key that is a sequence or a mapping on line ${line}:`,
      );
      await expect(parseYamlLimitedInTurns(text)).rejects.toThrow(
        `YAML input has a mapping key that is a sequence or a mapping on line ${line}:`,
      );
    }
    expect(
      parseYamlLimited(
        'a: [1]\n? b\n: [2]\n1: {c: [3]}\ntrue: x\n? |\n  d\n: [4]\n',
        { schema: 'helm' },
      ),
    ).toEqual([{ a: [1], b: [2], 1: { c: [3] }, true: 'x', 'd\n': [4] }]);
  });

  it('reads documents that start after blank or comment lines, and explicit keys after them, at once and in turns', async () => {
    // The key check looked back over the lines before a collection: one after nothing but blank
    // lines at the start of the text looked back for ever.
    for (const [text, expected] of [
      ['\na: [1]\n', [{ a: [1] }]],
      ['\n\n- a\n- b\n', [['a', 'b']]],
      ['\n[a]\n', [['a']]],
      ['  \n# note\n{a: 1}\n', [{ a: 1 }]],
      ['\r\n\r\na:\n  b: [1]\n', [{ a: { b: [1] } }]],
      ['---\n\na: [1]\n---\n\n\n- x\n', [{ a: [1] }, ['x']]],
      ['\n? b\n: [1]\n', [{ b: [1] }]],
      ['?\n\n  b\n: 2\n', [{ b: 2 }]],
      ['# c\n\n? c # note\n: [1]\n', [{ c: [1] }]],
    ] as const) {
      expect(parseYamlLimited(text)).toEqual(expected);
      await expect(parseYamlLimitedInTurns(text)).resolves.toEqual(expected);
    }
    for (const [text, line] of [
      ['\n? [b]\n: 1\n', 2],
      ['\n\n# c\n? # note\n  [b]\n: 1\n', 5],
    ] as const)
      expect(() => parseYamlLimited(text)).toThrow(
        `YAML input has a mapping key that is a sequence or a mapping on line ${line}:`,
      );
  });

  it('reads a List written as one line of JSON, each item a collection, without reading the line again for each', () => {
    // The key check read the line from its start for every collection closing on it: 20,000
    // items on one line of a megabyte took 20,000 reads of that megabyte.
    const items = Array.from({ length: 20_000 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `c${i}`, labels: { app: 'a' } },
      data: { k: ['x'.repeat(8)] },
    }));
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    expect(text.length).toBeGreaterThan(1_000_000);
    const [doc] = parseYamlLimited(text) as Array<{ items: unknown[] }>;
    expect(doc.items).toHaveLength(20_000);
  });

  it('refuses a document larger than maxDocumentBytes or of more nodes than maxDocumentNodes before reading the rest', () => {
    const configMap = (name: string, keys: number) =>
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        `metadata: {name: ${name}}`,
        'data:',
        ...Array.from({ length: keys }, (_, i) => `  k${i}: v`),
      ].join('\n');
    const limits = { maxDocumentBytes: 10_000, maxDocumentNodes: 1000 };
    // 900 keys a document, three documents: within both.
    const three = [1, 2, 3].map(i => configMap(`c${i}`, 900)).join('\n---\n');
    expect(parseYamlLimited(three, { limits })).toHaveLength(3);
    const large = `${three}\n---\ndata: ${'x'.repeat(10_000)}\n`;
    const { nodes, error } = nodesReadBy(() =>
      parseYamlLimited(large, { what: 'Manifests', limits }),
    );
    expect(error?.message).toBe(
      'Manifests refused: the document starting on line 2715 is larger than 10000 bytes; the limit maxDocumentBytes is 10000',
    );
    expect(nodes).toBe(0);
    const wide = `${configMap('c1', 900)}\n---\n${configMap(
      'c2',
      1100,
    )}\n---\n${configMap('c3', 10)}`;
    const refused = nodesReadBy(() =>
      parseYamlLimited(wide, {
        what: 'Manifests',
        limits: { ...limits, maxDocumentBytes: 100_000 },
      }),
    );
    expect(refused.error?.message).toBe(
      'Manifests refused: document 2 holds more than 1000 nodes once aliases are expanded; the limit maxDocumentNodes is 1000',
    );
    // Stopped in the second document, where its nodes read (keys too) passed twice the limit.
    expect(refused.nodes).toBeLessThan(2 * 910 + 2 * 1000 + 10);
    // Nodes an alias adds count too.
    expect(
      refusal(() =>
        parseYamlLimited(`a: &a [${Array(600).fill('1').join(',')}]\nb: *a\n`, {
          limits,
        }),
      ).error.message,
    ).toContain('the limit maxDocumentNodes is 1000');
  });

  it('reads a stream in turns of the event loop as it reads it at once', async () => {
    const streams = [
      'a: 1\n---\nb: [1, 2]\n',
      '--- |\n  text\n---\n--- >\n  folded\n...\n---\nc: 3\n',
      '# comment\n%YAML 1.1\n---   # comment\nkind: List\nitems:\n- {kind: ConfigMap, metadata: {name: a}}\n--- {x: 1}\n',
      'x: &x {cpu: 1}\ny: *x\n---\nx: &x {cpu: 2}\ny: *x\n',
      '---\n---\n\n---\n',
      'a: "---"\nb: |\n  ---\n---x: 1\n',
      // Directives after a document's end belong to the document after them.
      'a: 1\n...\n%YAML 1.1\n---\nb: 2\n',
      'a: 1\n... # end\n# about b\n%YAML 1.1\n\n%TAG !e! tag:e,2000:\n--- # b\nb: 2\n',
    ];
    for (const text of streams) {
      const opts = { schema: 'helm' as const, limits: { maxObjects: 100 } };
      expect(await parseYamlLimitedInTurns(text, opts)).toEqual(
        parseYamlLimited(text, opts),
      );
      expect(
        parseYamlLimited(text, {
          ...opts,
          limits: { ...opts.limits, maxDocumentBytes: 1000 },
        }),
      ).toEqual(parseYamlLimited(text, opts));
    }
    // Errors as the whole stream gives them, lines counted over the whole text.
    const broken = 'a: 1\n---\nb: 2\n---\nc: [1,\nd: "x\n';
    await expect(parseYamlLimitedInTurns(broken)).rejects.toThrow(
      refusal(() => parseYamlLimited(broken)).error.message,
    );
    await expect(parseYamlLimitedInTurns(broken)).rejects.toThrow(
      /^YAML input is not valid YAML: .*\(line \d+, column \d+\)$/,
    );
    const list = (n: number) =>
      `kind: List\nitems:\n${Array.from(
        { length: n },
        (_, i) => `- {kind: ConfigMap, metadata: {name: c${i}}}`,
      ).join('\n')}\n`;
    await expect(
      parseYamlLimitedInTurns(`${list(60)}---\n${list(60)}`, {
        what: 'Manifests',
        limits: { maxObjects: 100 },
      }),
    ).rejects.toThrow(
      'Manifests refused: more than 100 objects (each item of a List counted); the limit maxObjects is 100',
    );
    // Between two documents, whatever else waits runs.
    const order: string[] = [];
    const reading = parseYamlLimitedInTurns(
      'a: 1\n---\nb: 2\n---\nc: 3\n',
    ).then(() => order.push('read'));
    setImmediate(() => order.push('other work'));
    await reading;
    expect(order).toEqual(['other work', 'read']);
  });

  it('refuses deep nesting, also when aliases stack it up', () => {
    expect(
      refusal(() => parseYamlLimited('['.repeat(100_000))).error.message,
    ).toContain('the limit maxDepth is 100');
    const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const stacked = `a: &a ${deep(60)}\nb: ${'['.repeat(60)}*a${']'.repeat(
      60,
    )}\n`;
    expect(refusal(() => parseYamlLimited(stacked)).error.message).toContain(
      'nesting deeper than 100 once aliases are expanded',
    );
    expect(parseYamlLimited(`a: ${deep(90)}`)).toHaveLength(1);
  });

  it('refuses too many documents before parsing them', () => {
    const text = '---\na: 1\n'.repeat(20_000);
    let refused: ReturnType<typeof nodesReadBy> = { nodes: -1 };
    const characters = costOf(() => {
      refused = nodesReadBy(() => parseYamlLimited(text));
    });
    expect(refused.error?.message).toContain(
      'more than 1000 documents; the limit maxDocuments is 1000',
    );
    // No node read: the text is only scanned, a few times over.
    expect(refused.nodes).toBe(0);
    expect(characters).toBeLessThan(10 * text.length);
    expect(parseYamlLimited('---\na: 1\n'.repeat(1000))).toHaveLength(1000);
  });

  it('refuses more objects than maxObjects as it reads them, each item of a List counted, before the documents after', () => {
    const items = (n: number) =>
      Array.from(
        { length: n },
        (_, i) => `- {kind: ConfigMap, metadata: {name: c${i}}}`,
      );
    // Not valid YAML after the document that holds the fourth object: the refusal is the limit's,
    // found before it.
    const broken = '---\nkind: ConfigMap\nmetadata: {name: broken';
    const limits = { maxObjects: 3 };
    const tooMany =
      'Manifests refused: more than 3 objects (each item of a List counted); the limit maxObjects is 3';
    const refused = (text: string) => {
      const { error } = refusal(() =>
        parseYamlLimited(text, { what: 'Manifests', limits, schema: 'helm' }),
      );
      expect(error).toBeInstanceOf(InputError);
      expect(error).toMatchObject({ limit: 'maxObjects', max: 3 });
      return error.message;
    };
    // A List, its kind before or after its items.
    expect(
      refused(['kind: List', 'items:', ...items(4), broken].join('\n')),
    ).toBe(tooMany);
    expect(
      refused(['items:', ...items(4), 'kind: List', broken].join('\n')),
    ).toBe(tooMany);
    // JSON, as kubectl writes a List.
    expect(
      refused(
        `{"kind":"List","items":[{},{},{},{}]}\n---\n{"kind": "ConfigMap"`,
      ),
    ).toBe(tooMany);
    // Documents, and documents and Lists together.
    expect(refused('a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n---\ne: [\n')).toBe(
      tooMany,
    );
    expect(
      refused(
        ['a: 1', '---', 'kind: List', 'items:', ...items(3), broken].join('\n'),
      ),
    ).toBe(tooMany);
    // Empty items of a List are objects too (helm refuses them).
    expect(refused('kind: List\nitems:\n-\n-\n-\n-\n')).toBe(tooMany);

    // Up to the limit is read: empty documents are no objects, nor is anything nested in an object
    // or an `items` that holds no list.
    const three = [
      'kind: List',
      'items:',
      ...items(2),
      '---',
      '---',
      'kind: ConfigMap',
      'data:',
      '  items: [1, 2, 3, 4]',
    ].join('\n');
    expect(parseYamlLimited(three, { limits })).toHaveLength(3);
    expect(
      parseYamlLimited('kind: Thing\nitems: {a: 1, b: 2, c: 3, d: 4}\n', {
        limits,
      }),
    ).toHaveLength(1);
    // Without maxObjects, no object is counted.
    expect(
      parseYamlLimited(['kind: List', 'items:', ...items(4)].join('\n')),
    ).toEqual([{ kind: 'List', items: expect.any(Array) }]);
  });

  it('counts a document as the objects helm makes of it: the entries of a List or of any other document with items, else one', () => {
    const count = (text: string, maxObjects: number) => {
      try {
        return parseYamlLimited(text, { limits: { maxObjects } }).length;
      } catch (e) {
        if ((e as { limit?: string }).limit !== 'maxObjects') throw e;
        return 'refused';
      }
    };
    // A List's entries written as pairs are one object each.
    expect(count('kind: List\nitems: [a: 1, b: 2]\n', 3)).toBe(1);
    const pairs = Array.from({ length: 600 }, (_, i) => `name: c${i}`);
    expect(count(`kind: List\nitems: [${pairs.join(', ')}]\n`, 1000)).toBe(1);
    expect(count(`kind: List\nitems: [${pairs.join(', ')}]\n`, 599)).toBe(
      'refused',
    );
    // Any other document with items is as many objects as its entries (helm creates them; the
    // policy refuses such a document), however it is written, and at least one.
    const thousandAndOne = Array.from({ length: 1001 }, (_, i) => `- c${i}`);
    for (const head of ['', '--- !!map\n', '--- # a Thing\n']) {
      for (const key of ['items:', 'items: # - not an entry', 'Items:']) {
        expect(
          count(
            `${head}kind: Thing\n${key}\n${thousandAndOne.join('\n')}\n`,
            1000,
          ),
        ).toBe('refused');
        expect(
          count(
            `${head}kind: Thing\n${key}\n${thousandAndOne
              .slice(1)
              .join('\n')}\n`,
            1000,
          ),
        ).toBe(1);
      }
    }
    expect(count('kind: Thing\nitems: []\n', 0)).toBe('refused');
    expect(count('kind: Thing\nitems: [a]\nITEMS: [b, c]\n', 2)).toBe(
      'refused',
    );
    expect(count('kind: Thing\nitems: [a]\nITEMS: [b, c]\n', 3)).toBe(1);
    // A List with a second spelling of items is no List: both count.
    expect(count('kind: List\nitems: [a, b]\nItems: [c]\n', 2)).toBe('refused');
    // and a List is a List however it is written
    for (const head of ['', '--- !!map\n']) {
      for (const key of ['items:', 'items: # - not an entry']) {
        expect(
          count(
            `${head}kind: List\n${key}\n${thousandAndOne.join('\n')}\n`,
            1000,
          ),
        ).toBe('refused');
      }
    }
  });

  it('decides on the objects of generated streams as the exact count after parsing does', () => {
    // A small deterministic generator (mulberry32): the same streams on every run.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(options: readonly T[]): T =>
      options[Math.floor(random() * options.length)];
    const entryTexts = [
      '{kind: ConfigMap, metadata: {name: c}}',
      'name: c',
      'a: 1',
      '',
      '[x, y]',
      'plain',
      '- nested',
      '!!str tagged',
      '# - not [an] entry, {',
      '&e anchored',
    ];
    const blockItems = (n: number) =>
      Array.from({ length: n }, () => {
        const entry = pick(entryTexts);
        return entry === 'name: c' || entry === 'a: 1'
          ? `- ${entry}\n  b: 2`
          : `- ${entry}`;
      }).join('\n');
    const flowItems = (n: number) =>
      `[${Array.from({ length: n }, () =>
        pick([
          'a: 1',
          'name: c',
          '{x: 1}',
          'x',
          '[1]',
          '"s"',
          '? k : v',
          '"q":1',
        ]),
      ).join(pick([', ', ',', ' , ', ', # - [,\n  ']))}]`;
    const document = () => {
      const n = Math.floor(random() * 7);
      const kind = pick([
        'kind: List',
        'kind: ConfigMapList',
        'kind: Thing',
        'kind: [List]',
        'kind: !!str List',
        '',
      ]);
      const itemsKey = pick(['items', 'items', 'Items', 'ITEMS', 'list']);
      const comment = pick(['', ' # - not an entry', ' #-']);
      const value = pick([
        `${comment}\n${blockItems(n)}`,
        ` ${flowItems(n)}${comment}`,
        ` !!seq ${flowItems(n)}`,
        ` &anchor ${flowItems(n)}`,
        `${comment}\n  ${flowItems(n)}`,
        ' {a: 1, b: 2}',
        ' []',
        ` !!seq\n${blockItems(n)}`,
        `\n${flowItems(n)}: x`,
        `\n  ${flowItems(n)}: x`,
        `\n  &anchor ${flowItems(n)}`,
        ` *anchor`,
      ]);
      const items = `${itemsKey}:${value}`;
      const other = pick([
        '',
        'apiVersion: v1',
        'ITEMS: [1, 2]',
        'data: {items: [1, 2, 3]}',
      ]);
      const keys = [kind, items, other].filter(Boolean);
      if (random() < 0.5) keys.reverse();
      const head = pick(['', '--- !!map\n', '--- # doc\n', '---\n']);
      const body = keys.join('\n');
      return pick([
        `${head}${body}`,
        `${head}${body}`,
        `${head}${flowItems(n)}`,
        `${head}`,
        `${head}{"kind": "List", "items": ${JSON.stringify(
          Array(n).fill({}),
        )}}`,
        // Not a mapping, or items written other ways.
        `${head}[${itemsKey}: ${flowItems(n)}]`,
        `${head}- ${itemsKey}\n- ${flowItems(n)}`,
        `${head}{${kind || 'a: 1'}, ${itemsKey}: ${flowItems(n)}}`,
        `${head}{${itemsKey}, ${flowItems(n)}: x}`,
        `${head}{${kind || 'a: 1'}, ${itemsKey}: ${flowItems(n)}}: x`,
        `${head}!!map {${kind || 'a: 1'}, ${itemsKey}: ${flowItems(n)}}`,
        `${head}${JSON.stringify(
          { kind: 'List', [itemsKey]: Array(n).fill({ a: 1 }) },
          null,
          pick([0, 1, '\t']),
        )}`,
        `${head}? ${itemsKey}\n: ${flowItems(n)}\n${kind}`,
        `${head}? ${itemsKey}\n? ${flowItems(n)}\n${kind}`,
        `${head}? [${itemsKey}]\n: ${flowItems(n)}\n${kind}`,
        `${head}base: &anchor ${flowItems(n)}\n${kind}\n${itemsKey}: *anchor`,
      ]);
    };
    let refusedCount = 0;
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const docs = Array.from(
        { length: 1 + Math.floor(random() * 3) },
        document,
      );
      const text = docs
        .map((d, j) => (j > 0 && !d.startsWith('---') ? `---\n${d}` : d))
        .join('\n');
      let parsed: unknown[];
      try {
        parsed = parseYamlLimited(text);
      } catch {
        continue; // not valid YAML: refused whatever the limit
      }
      checked++;
      const exact = parsed.reduce<number>((n, d) => n + objectsOf(d), 0);
      const maxObjects = Math.floor(random() * 10);
      let refused = false;
      try {
        parseYamlLimited(text, { limits: { maxObjects } });
      } catch (e) {
        if ((e as { limit?: string }).limit !== 'maxObjects') throw e;
        refused = true;
      }
      if (refused !== exact > maxObjects) {
        throw new Error(
          `maxObjects ${maxObjects}, exact count ${exact}, refused while reading: ${refused}, for:\n${text}`,
        );
      }
      if (refused) refusedCount++;
    }
    // the generator makes both answers often
    expect(checked).toBeGreaterThan(1000);
    expect(refusedCount).toBeGreaterThan(200);
    expect(checked - refusedCount).toBeGreaterThan(200);
  });

  describe('refuses a document over maxObjects as its items are read, not once the whole document is', () => {
    const max = 5000;
    const item = (i: number) =>
      `{apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`;
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const block = (n: number) => range(n).map(i => `- ${item(i)}`);
    const configMaps = (n: number) =>
      range(n).map(i => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `c${i}` },
      }));
    /** Each writes a stream of `n` objects. */
    const forms: Record<string, (n: number) => string> = {
      'a List, its kind first': n =>
        ['apiVersion: v1', 'kind: List', 'items:', ...block(n)].join('\n'),
      'a List, its kind last': n =>
        ['items:', ...block(n), 'kind: List'].join('\n'),
      'a List of block mappings': n =>
        [
          'kind: List',
          'items:',
          ...range(n).map(
            i =>
              `- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c${i}`,
          ),
        ].join('\n'),
      'a List with comments and empty items between its items': n =>
        [
          'kind: List',
          'items: # - [not, an, item]',
          ...range(n).map(i =>
            i % 2 ? `- ${item(i)} # - { ,` : '-   # - [ ]\n# - not an item',
          ),
        ].join('\n'),
      'a List as kubectl writes JSON': n =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: configMaps(n),
        }),
      'a List as indented JSON': n =>
        JSON.stringify(
          { apiVersion: 'v1', kind: 'List', items: configMaps(n) },
          null,
          2,
        ),
      'a List in flow style, tagged and anchored, its items pairs': n =>
        `kind: List\nitems: !!seq &all [${range(n)
          .map(i => `name: c${i}`)
          .join(', ')}]`,
      'a List whose items are a flow sequence on the line after the key': n =>
        `kind: List\nitems:\n  [${range(n).map(item).join(', ')}]`,
      'a List whose items key is written as an explicit key': n =>
        ['kind: List', '? items', ':', ...block(n)].join('\n'),
      'any other document with items (helm creates them)': n =>
        ['kind: ConfigMap', 'metadata: {name: x}', 'Items:', ...block(n)].join(
          '\n',
        ),
      'a List after a document of 4,000 objects': n =>
        [
          'kind: List',
          'items:',
          ...block(4000),
          '---',
          'kind: List',
          'items:',
          ...block(n - 4000),
        ].join('\n'),
    };

    it.each(Object.entries(forms))(
      '%s, of 100,000 items, having read no more than the limit allows',
      (_, form) => {
        // (Some forms of 100,000 items are larger than the default maxBytes: only objects count here.)
        const limits = { maxObjects: max, maxBytes: 64 * 1024 * 1024 };
        const allowed = nodesReadBy(() =>
          parseYamlLimited(form(max), { limits }),
        );
        expect(allowed.error).toBeUndefined();
        const refused = nodesReadBy(() =>
          parseYamlLimited(form(100_000), { what: 'Manifests', limits }),
        );
        expect(refused.error).toBeInstanceOf(InputError);
        expect(refused.error).toMatchObject({
          limit: 'maxObjects',
          message: `Manifests refused: more than ${max} objects (each item of a List counted); the limit maxObjects is ${max}`,
        });
        // Refused as the item over the limit starts: nothing of it, or after it, is read.
        expect(refused.nodes).toBeLessThanOrEqual(allowed.nodes + 1);
      },
    );

    it('refuses a List whose items are nested too deep or hold an alias bomb, having read only its text', () => {
      const limits = { maxObjects: max };
      const deep = nodesReadBy(() =>
        parseYamlLimited(`kind: List\nitems:\n- ${'['.repeat(1_000_000)}`, {
          limits,
        }),
      );
      expect(deep.error?.message).toContain('the limit maxDepth is 100');
      expect(deep.nodes).toBeLessThanOrEqual(110);
      // Nine items, each the billion laughs: the text is read once, its expansion never built.
      const bomb = nodesReadBy(() =>
        parseYamlLimited(
          `${ALIAS_BOMB}\nkind: List\nitems: [${Array(9)
            .fill('*i')
            .join(', ')}]`,
          { limits },
        ),
      );
      expect(bomb.error?.message).toMatch(
        /the limit (maxNodes is 1000000|maxAliases is 100|maxExpandedChars is 5242880)$/,
      );
      expect(bomb.nodes).toBeLessThan(200);
      // and the aliases to a long list are its entries, counted once read
      const aliased = nodesReadBy(() =>
        parseYamlLimited(
          `kind: List\nall: &all [${range(max + 1)
            .map(i => `c${i}`)
            .join(', ')}]\nitems: *all\nafter: [${'['.repeat(1_000)}`,
          { limits },
        ),
      );
      expect(aliased.error).toMatchObject({ limit: 'maxObjects' });
      expect(aliased.nodes).toBeLessThan(max + 20);
    });
  });

  it('refuses oversized text and reports syntax errors without echoing the input', () => {
    expect(
      refusal(() =>
        parseYamlLimited('a'.repeat(101), { limits: { maxBytes: 100 } }),
      ).error.message,
    ).toContain('the limit maxBytes is 100');
    const bad = refusal(() =>
      parseYamlLimited('a: [unclosed\nsecret: hunter22', { what: 'Manifests' }),
    ).error;
    expect(bad).toBeInstanceOf(InputError);
    expect(bad.message).toMatch(/^Manifests is not valid YAML: /);
    expect(bad.message).not.toContain('hunter22');
    // A value starting with ! or * is read as a tag or an alias, whose name js-yaml quotes back.
    for (const text of [
      'password: !Sup3rS3cretValue\n',
      'password: *Sup3rS3cretValue\n',
      'token: !!Sup3rS3cretValue x\n',
    ]) {
      const quoted = refusal(() =>
        parseYamlLimited(text, { what: 'Values' }),
      ).error;
      expect(quoted.message).toMatch(
        /^Values is not valid YAML: .* \(line \d+, column \d+\)$/,
      );
      expect(quoted.message).not.toContain('Sup3rS3cret');
    }
  });

  it('refuses, in any schema and in linear time, text that helm reads otherwise, without echoing it', () => {
    // Values are read by helm with the same reader as manifests.
    const values = refusal(() =>
      parseYamlLimited('image: web\n# secret-hunter22\u2028admin: true\n', {
        what: 'Values',
      }),
    ).error;
    expect(values).toBeInstanceOf(InputError);
    expect(values.message).toMatch(
      /^Values holds U\+2028 \(LINE SEPARATOR\) on line 2: /,
    );
    expect(values.message).not.toContain('hunter22');
    expect(
      refusal(() => parseYamlLimited('a: 1\n---\u00a0# secret-hunter22\n'))
        .error.message,
    ).toMatch(
      /^YAML input has a line starting with --- followed by U\+00A0 on line 2: (?!.*hunter22)/,
    );
    // Linear: 900 KB of separators with comments, and of lines that only start like one; ten times
    // the lines cost ten times the work (a scan from the start for each line, a hundred times).
    const separators = (lines: number) =>
      `${'--- # c\n'.repeat(lines)}---\u3000\n`;
    const starts = (lines: number) => `${'---x: 1\n'.repeat(lines)}\u0085`;
    expect(() => parseYamlLimited(separators(100_000))).toThrow(
      /followed by U\+3000 on line 100001/,
    );
    expect(() => parseYamlLimited(starts(100_000))).toThrow(
      /U\+0085 \(NEXT LINE\) on line 100001/,
    );
    for (const text of [separators, starts]) {
      const cost = (lines: number) =>
        costOf(() => refusal(() => parseYamlLimited(text(lines))));
      expect(cost(10_000) / cost(1_000)).toBeLessThan(15);
    }
  });

  it('checks JSON bodies for depth and size', () => {
    let nested: unknown = 1;
    for (let i = 0; i < 500; i++) nested = { n: nested };
    expect(() => assertWithinLimits(nested, 'Request body')).toThrow(
      'Request body refused: nesting deeper than 100; the limit maxDepth is 100',
    );
    expect(() =>
      assertWithinLimits({ a: Array(10).fill(1) }, 'Request body', {
        maxNodes: 5,
      }),
    ).toThrow('the limit maxNodes is 5');
    expect(() =>
      assertWithinLimits({ values: { image: { tag: '1' } } }, 'Request body'),
    ).not.toThrow();
  });
});

describe('parseJsonLimited', () => {
  it('parses JSON and refuses deep nesting before JSON.parse sees it', () => {
    expect(parseJsonLimited('{"a":[1,"[[[[",{"b":"\\"]"}]}')).toEqual({
      a: [1, '[[[[', { b: '"]' }],
    });
    const parse = jest.spyOn(JSON, 'parse');
    let error: Error | undefined;
    const work = workOf(() => {
      error = refusal(() =>
        parseJsonLimited(`{"v":${'['.repeat(2_000_000)}}`, {
          what: 'Request body',
        }),
      ).error;
    });
    parse.mockRestore();
    expect(error?.message).toBe(
      'Request body refused: nesting deeper than 100; the limit maxDepth is 100',
    );
    // The text is read up to the bracket past the limit, and no further.
    expect(parse).not.toHaveBeenCalled();
    expect(work.characters).toBeLessThan(200);
    expect(refusal(() => parseJsonLimited('{"a":')).error).toBeInstanceOf(
      InputError,
    );
  });

  it('counts nodes as a walk of the parsed value would, brackets and commas in strings aside', () => {
    // Seven nodes: the object, the array, 1, "x,y", {"b":[]}, [] and {}; keys are not nodes.
    const text = '{"a":[1,"x,y]}",{"b":[]}],"c,{":{}}';
    expect(parseJsonLimited(text, { limits: { maxNodes: 7 } })).toEqual({
      a: [1, 'x,y]}', { b: [] }],
      'c,{': {},
    });
    expect(() =>
      parseJsonLimited(text, { what: 'Body', limits: { maxNodes: 6 } }),
    ).toThrow('Body refused: more than 6 nodes; the limit maxNodes is 6');
    expect(
      parseJsonLimited(' [ 1 , [ ] , { } ] ', { limits: { maxNodes: 4 } }),
    ).toEqual([1, [], {}]);
    expect(() =>
      parseJsonLimited(' [ 1 , [ ] , { } ] ', { limits: { maxNodes: 3 } }),
    ).toThrow('the limit maxNodes is 3');
    // An escaped backslash ends before the quote: the comma after it is between two strings.
    expect(
      parseJsonLimited('["a\\\\",","]', { limits: { maxNodes: 3 } }),
    ).toEqual(['a\\', ',']);
    const size = (v: unknown): number =>
      v !== null && typeof v === 'object'
        ? 1 + Object.values(v).reduce((n: number, c) => n + size(c), 0)
        : 1;
    for (const value of [
      0,
      'a,b',
      [],
      {},
      [[[]], {}, [{}], { a: [] }],
      { 'k,[': ['v"}', null, true, 1.5e3], n: { m: { o: [1, [2, [3]]] } } },
      { s: '\\",{[', t: [{ u: '\\\\' }, '\u2028', -1] },
    ]) {
      for (const json of [
        JSON.stringify(value),
        JSON.stringify(value, null, '\t'),
      ]) {
        const n = size(value);
        expect(parseJsonLimited(json, { limits: { maxNodes: n } })).toEqual(
          value,
        );
        expect(() =>
          parseJsonLimited(json, { limits: { maxNodes: n - 1 } }),
        ).toThrow(`the limit maxNodes is ${n - 1}`);
      }
    }
  });

  it('refuses JSON of more nodes than the limit without parsing it', () => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const text = `[${'{},'.repeat(200_000)}{}]`;
      const { error } = refusal(() =>
        parseJsonLimited(text, {
          what: 'Request body',
          limits: { maxNodes: 100_000 },
        }),
      );
      expect(parse).not.toHaveBeenCalled();
      expect(error.message).toBe(
        'Request body refused: more than 100000 nodes; the limit maxNodes is 100000',
      );
    } finally {
      parse.mockRestore();
    }
  });

  it('reads a large accepted body once as text, and walks none of what JSON.parse makes of it', () => {
    // 300,000 empty objects, within the default node limit. Walking each object into a memo (for
    // aliases, which JSON has none of) cost several times JSON.parse; the text pass reads each
    // character once.
    const text = `[${'{},'.repeat(299_999)}{}]`;
    const parse = JSON.parse;
    let fieldsRead = 0;
    const spy = jest.spyOn(JSON, 'parse').mockImplementation(
      (json: string) =>
        new Proxy(parse(json), {
          get(target, key, receiver) {
            fieldsRead++;
            return Reflect.get(target, key, receiver);
          },
          ownKeys(target) {
            fieldsRead++;
            return Reflect.ownKeys(target);
          },
          has(target, key) {
            fieldsRead++;
            return Reflect.has(target, key);
          },
        }),
    );
    try {
      let value: unknown;
      const work = workOf(() => {
        value = parseJsonLimited(text);
      });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(fieldsRead).toBe(0);
      expect(work.characters).toBeLessThanOrEqual(text.length);
      expect((value as unknown[]).length).toBe(300_000);
    } finally {
      spy.mockRestore();
    }
  });
});
