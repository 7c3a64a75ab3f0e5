import { compareQuantities, parseQuantity } from './quantity';

const cmp = (a: string, b: string) =>
  compareQuantities(parseQuantity(a)!, parseQuantity(b)!);

describe('quantities', () => {
  it('compares quantities written in different units exactly', () => {
    expect(cmp('16', '16000m')).toBe(0);
    expect(cmp('16001m', '16')).toBe(1);
    expect(cmp('64Gi', '68719476736')).toBe(0);
    expect(cmp('65Gi', '64Gi')).toBe(1);
    expect(cmp('1G', '1Gi')).toBe(-1);
    expect(cmp('1.5Gi', '1536Mi')).toBe(0);
    expect(cmp('2e3', '2k')).toBe(0);
    expect(cmp('1E', '1e18')).toBe(0);
    expect(cmp('.5', '500m')).toBe(0);
    expect(cmp('100n', '1u')).toBe(-1);
    expect(cmp('0.1', '100m')).toBe(0);
    // 0.1 in binary floating point is not 1/10: the comparison stays exact.
    expect(cmp('0.30000000000000001', '0.3')).toBe(1);
  });

  it('refuses what is not a quantity', () => {
    for (const bad of [
      '',
      'lots',
      '1.5.5',
      '1Kb',
      '1 Gi',
      '--1',
      'Gi',
      '1e',
      '1e1000',
      '1'.repeat(65),
    ])
      expect(parseQuantity(bad)).toBeUndefined();
  });
});
