import { MAX_INPUT_CHANGES, inputChanges } from './inputChanges';

describe('inputChanges', () => {
  it('lists changed, added and removed fields by path', () => {
    const before = {
      kind: 'tenant',
      tenant: 'prod-shop',
      quota: { hard: { pods: '10' } },
      releases: [{ name: 'db', values: { password: '***' } }],
    };
    const after = {
      kind: 'tenant',
      tenant: 'prod-shop',
      quota: { hard: { pods: '20', 'requests.cpu': '4' } },
      releases: [],
    };
    expect(inputChanges(before, after)).toEqual({
      changes: [
        { path: 'quota.hard.pods', before: '"10"', after: '"20"' },
        { path: 'quota.hard["requests.cpu"]', before: undefined, after: '"4"' },
        { path: 'releases', before: undefined, after: '[]' },
        { path: 'releases[0].name', before: '"db"', after: undefined },
        {
          path: 'releases[0].values.password',
          before: '"***"',
          after: undefined,
        },
      ],
      truncated: false,
    });
  });

  it('tells a key holding a dot or bracket from nesting, so no change hides another', () => {
    // Moved from a nested field to a dotted key of the same value: a change, not none.
    expect(inputChanges({ a: { b: 1 } }, { 'a.b': 1 }).changes).toEqual([
      { path: '["a.b"]', before: undefined, after: '1' },
      { path: 'a.b', before: '1', after: undefined },
    ]);
    // Both change: both are listed, each under its own path.
    expect(
      inputChanges(
        { a: { b: 1 }, 'a.b': 1, c: [1], 'c[0]': 1 },
        { a: { b: 2 }, 'a.b': 3, c: [4], 'c[0]': 5 },
      ).changes,
    ).toEqual([
      { path: '["a.b"]', before: '1', after: '3' },
      { path: '["c[0]"]', before: '1', after: '5' },
      { path: 'a.b', before: '1', after: '2' },
      { path: 'c[0]', before: '1', after: '4' },
    ]);
    // A key that is empty, quoted or names the whole input is a key of its own too.
    expect(
      inputChanges(
        { '': 1, 'say "hi"': 1, '(input)': 1 },
        { '': 2, 'say "hi"': 2, '(input)': 2 },
      ).changes.map(c => c.path),
    ).toEqual(['[""]', '["(input)"]', '["say \\"hi\\""]']);
    expect(inputChanges('x', 'y').changes.map(c => c.path)).toEqual([
      '(input)',
    ]);
  });

  it('finds nothing between equal inputs', () => {
    const input = {
      kind: 'chart',
      release: { name: 'web', values: { a: [1, 2] } },
    };
    expect(inputChanges(input, structuredClone(input))).toEqual({
      changes: [],
      truncated: false,
    });
  });

  it('stops at a bounded number of changes and depth', () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_INPUT_CHANGES + 50 }, (_, i) => [`k${i}`, i]),
    );
    const result = inputChanges({}, many);
    expect(result.changes).toHaveLength(MAX_INPUT_CHANGES);
    expect(result.truncated).toBe(true);

    let deep: unknown = 'leaf';
    for (let i = 0; i < 1000; i++) deep = { d: deep };
    const { changes } = inputChanges({ d: 'leaf' }, deep);
    expect(changes.map(c => c.path)).toEqual([
      'd',
      Array(16).fill('d').join('.'),
    ]);
  });
});
