import { parseList } from './parseList';

const body = (text: string) => Buffer.from(text, 'utf8');

/** What the page function made of a body before: JSON.parse of the whole, then `items ?? []`. */
function parsedWhole(text: string) {
  const answer = JSON.parse(text);
  return { metadata: answer.metadata, items: answer.items ?? [] };
}

/** A deterministic pseudo-random source (mulberry32), so a failing case can be run again. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings with what the scan must step over: quotes, backslashes, brackets, braces, non-ASCII. */
const NASTY = [
  'plain',
  'a "quoted" word',
  'back\\slash\\',
  '\\"',
  '{[}]',
  'ends with a backslash \\',
  '日本語 é 🎉',
  '\u2028\u0000\t\n',
  '',
  ',:',
];

function value(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 3 || r < 0.3) {
    const p = next();
    if (p < 0.4) return NASTY[Math.floor(next() * NASTY.length)];
    if (p < 0.6) return Math.floor(next() * 1e6) / 100 - 1000;
    if (p < 0.7) return null;
    return p < 0.85;
  }
  if (r < 0.6)
    return Array.from({ length: Math.floor(next() * 4) }, () =>
      value(next, depth + 1),
    );
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i--)
    object[NASTY[Math.floor(next() * NASTY.length)] + i] = value(
      next,
      depth + 1,
    );
  return object;
}

describe('parseList', () => {
  it('gives what parsing the whole body gave, for lists of objects with every kind of string in them, compact and indented', () => {
    const next = random(42);
    for (let n = 0; n < 300; n++) {
      const list = {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(n), continue: NASTY[n % 10] },
        items: Array.from({ length: Math.floor(next() * 6) }, (_, i) => ({
          metadata: { name: `p-${i}`, annotations: value(next, 1) },
          status: value(next, 1),
        })),
      };
      for (const text of [
        JSON.stringify(list),
        JSON.stringify(list, null, n % 2 ? 2 : '\t'),
        `\r\n ${JSON.stringify(list, null, 1)}\n `,
      ]) {
        const whole = parsedWhole(text);
        const original = JSON.parse;
        let parsedWholeBody = false;
        const parse = jest
          .spyOn(JSON, 'parse')
          .mockImplementation((t: string, reviver?: any) => {
            parsedWholeBody ||= t.length === text.length;
            return original(t, reviver);
          });
        try {
          expect(parseList(body(text))).toEqual(whole);
        } finally {
          parse.mockRestore();
        }
        // Item by item, not by the fallback that parses the whole body.
        expect(parsedWholeBody).toBe(false);
      }
    }
  });

  it('passes each item through map as it is parsed: no page of whole objects is parsed at once', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({
      metadata: { name: `p-${i}`, resourceVersion: String(i) },
      spec: { big: 'x'.repeat(1000) },
    }));
    const text = JSON.stringify({
      kind: 'PodList',
      metadata: { resourceVersion: '7' },
      items,
    });
    const original = JSON.parse;
    // What JSON.parse was given, and how many items had been mapped by then.
    const parsed: Array<{ length: number; mappedBefore: number }> = [];
    const mapped: string[] = [];
    const parse = jest
      .spyOn(JSON, 'parse')
      .mockImplementation((given: string, reviver?: any) => {
        parsed.push({ length: given.length, mappedBefore: mapped.length });
        return original(given, reviver);
      });
    let page: { metadata?: unknown; items: unknown[] };
    try {
      page = parseList<any>(body(text), item => {
        mapped.push(item.metadata.name);
        return { metadata: { name: item.metadata.name } };
      });
    } finally {
      parse.mockRestore();
    }
    expect(page.items).toEqual(
      items.map(i => ({ metadata: { name: i.metadata.name } })),
    );
    expect(page.metadata).toEqual({ resourceVersion: '7' });
    expect(mapped).toEqual(items.map(i => i.metadata.name));
    // One parse of each value (kind, metadata, then each item), none of more than one item, and each
    // item mapped before the next one is parsed.
    const longest = Math.max(...items.map(i => JSON.stringify(i).length));
    expect(parsed).toHaveLength(items.length + 2);
    expect(parsed.every(p => p.length <= longest)).toBe(true);
    expect(parsed.slice(2).map(p => p.mappedBefore)).toEqual(
      items.map((_, i) => i),
    );
  });

  it('takes the last of repeated keys, an absent or null items as none, and an empty object, as JSON.parse does', () => {
    for (const text of [
      '{"items":[{"a":1}],"metadata":{"resourceVersion":"1"},"items":[{"b":2}],"metadata":{"resourceVersion":"2"}}',
      '{"items":[{"a":1}],"items":null}',
      '{"items":null,"items":[{"a":1}]}',
      '{"metadata":{}}',
      '{"items":[]}',
      ' { } ',
      '{"\\u0069tems":[{"escaped key":true}],"items":[]}',
      '{"items":[{"a":1}],"\\u0069tems":[{"escaped key":true}]}',
      '{"kind":"List","items":[1,"two",null,[3],{"four":4}],"apiVersion":"v1"}',
    ])
      expect(parseList(body(text))).toEqual(parsedWhole(text));
  });

  it('fails on a malformed body as JSON.parse of the whole fails, whatever the map', () => {
    const map = jest.fn(<T>(item: T) => item);
    for (const text of [
      '',
      '{',
      '{"items":[{"a":1}',
      '{"items":[{"a":1},]}',
      '{"items":[{"a":1]}]}',
      '{"items":[{"a":1}]}x',
      '{"items":[{"a":1}]}}',
      '{"kind":tru,"items":[]}',
      '{"metadata":{"resourceVersion":"1"},"items":[{"a":"unterminated}]}',
      '{"items" [{"a":1}]}',
      '{items:[]}',
      '\ufeff{"items":[]}',
    ])
      expect(() => parseList(body(text), map)).toThrow(SyntaxError);
  });

  it('fails on items that are not a list, as the list parsed whole did when its items were mapped', () => {
    expect(() => parseList(body('{"items":{"a":1}}'), item => item)).toThrow(
      TypeError,
    );
    expect(() => parseList(body('{"items":"pods"}'), item => item)).toThrow(
      TypeError,
    );
  });

  it('reads multi-byte UTF-8 where items begin and end', () => {
    const text = '{"items":[{"n":"é"},{"n":"🎉"},"日本"],"metadata":{"x":"ü"}}';
    expect(parseList(body(text))).toEqual(parsedWhole(text));
  });
});
