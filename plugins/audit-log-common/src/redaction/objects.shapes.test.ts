import { redactKubeObject } from '.';

/** Removes one known secret wherever it is written, as a caller's `scrub` does. */
const scrub = (text: string) => text.split('hunter2hunter2').join('***');

describe('redactKubeObject on values that are not a single object', () => {
  it('scrubs every string of a top-level list', () => {
    const out = redactKubeObject(
      [
        { name: 'db', password: 'hunter2hunter2' },
        'postgres://app:hunter2hunter2@db:5432/app',
        [{ url: 'postgres://app:hunter2hunter2@db:5432/app' }],
        7,
        null,
      ] as any,
      { placeholder: '***', scrub },
    );
    expect(out).toEqual([
      { name: 'db', password: '***' },
      'postgres://app:***@db:5432/app',
      [{ url: 'postgres://app:***@db:5432/app' }],
      7,
      null,
    ]);
  });

  it('applies the object rules to the objects of a top-level list', () => {
    const out = redactKubeObject(
      [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'db' },
          stringData: { dsn: 'postgres://app:pw@db/app' },
        },
      ] as any,
      { placeholder: '***' },
    );
    expect(out).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { dsn: '***' },
      },
    ]);
  });

  it('scrubs a top-level string', () => {
    expect(
      redactKubeObject('str password=hunter2hunter2' as any, { scrub }),
    ).toBe('str password=***');
  });

  it('keeps a top-level number, boolean or null as it is', () => {
    for (const v of [3, true, null])
      expect(redactKubeObject(v as any, { scrub })).toBe(v);
  });
});

describe('redactKubeObject sizes of hidden Secret data', () => {
  /** How the sizes were counted before: every base64 character collected, up to the first `=`. */
  const previousBase64Length = (text: string) =>
    Math.floor(
      ((text.split('=')[0].match(/[A-Za-z0-9+/_-]/g)?.length ?? 0) * 3) / 4,
    );
  const sizeOf = (value: string) =>
    redactKubeObject(
      { kind: 'Secret', data: { v: value } },
      { hidden: 'sizes' },
    ).data.v;

  it('counts the bytes base64 decodes to, as before', () => {
    expect(sizeOf('aHVudGVyMg==')).toBe('<7 bytes>');
    expect(sizeOf('aHVudGVyMjI=')).toBe('<8 bytes>');
    expect(sizeOf('aHVudGVyMjIy')).toBe('<9 bytes>');
    expect(sizeOf('')).toBe('<0 bytes>');
    for (const value of [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'ab==',
      'abc=',
      '=abcd',
      'ab=cd',
      'aHVu\ndGVy\nMg==\n',
      'a b-c_d+e/f',
      'a!b@c#d$e%f^g&h*',
      'ÄÖÜ€abcd😀efgh',
      'abcd====efgh',
      'Z'.repeat(1001),
    ])
      expect([value, sizeOf(value)]).toEqual([
        value,
        `<${previousBase64Length(value)} bytes>`,
      ]);
  });
});

describe('redactKubeObject on Lists nested in Lists', () => {
  const nested = (depth: number) => {
    let inner: any = {
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { password: 'hunter2hunter2' },
      type: 'Opaque',
    };
    for (let i = 0; i < depth; i++) inner = { kind: 'List', items: [inner] };
    return inner;
  };

  it('redacts the items of a few nested Lists as those of one', () => {
    const out = redactKubeObject(nested(3), { placeholder: '***' });
    expect(out.items[0].items[0].items[0].stringData).toEqual({
      password: '***',
    });
    expect(out.items[0].items[0].items[0].metadata).toEqual({ name: 'db' });
  });

  it('walks the Lists of any real nesting', () => {
    let item: any = redactKubeObject(nested(30), { placeholder: '***' });
    for (let i = 0; i < 30; i++) item = item.items[0];
    expect(item).toEqual({
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { password: '***' },
      type: 'Opaque',
    });
  });

  it('hides what lies deeper than it walks rather than showing it or failing', () => {
    const out = redactKubeObject(nested(2000), { placeholder: '***', scrub });
    const text = JSON.stringify(out);
    expect(text).not.toContain('hunter2hunter2');
    expect(text).not.toContain('stringData');
    expect(text).toContain('***');
  });

  it('hides the depths of lists nested in a top-level list', () => {
    let inner: any = ['hunter2hunter2', { password: 'x' }];
    for (let i = 0; i < 2000; i++) inner = [inner];
    const text = JSON.stringify(
      redactKubeObject(inner, { placeholder: '***' }),
    );
    expect(text.includes('hunter2hunter2')).toBe(false);
    expect(text.includes('***')).toBe(true);
  });
});
