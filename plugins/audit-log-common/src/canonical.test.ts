import { canonicalJson } from './canonical';
import { auditLogPermissions } from './permissions';

describe('canonicalJson', () => {
  it('sorts keys recursively and drops undefined members', () => {
    const a = canonicalJson({
      b: 1,
      a: { d: [1, { y: 2, x: 1 }], c: 'x' },
      u: undefined,
    });
    const b = canonicalJson({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 });
    expect(a).toBe(b);
    expect(a).toBe('{"a":{"c":"x","d":[1,{"x":1,"y":2}]},"b":1}');
  });

  it('distinguishes different values', () => {
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson([null])).toBe('[null]');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
  });
});

describe('permissions', () => {
  it('uses the documented names', () => {
    expect(auditLogPermissions.map(p => p.name)).toEqual([
      'audit-log.events.read',
      'audit-log.entity-events.read',
      'audit-log.events.export',
      'audit-log.events.prune',
    ]);
  });
});
