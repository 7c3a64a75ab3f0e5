import { parseQuantity, quotaFraction } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['2', 2],
    ['500m', 0.5],
    ['1.5', 1.5],
    ['8Gi', 8 * 2 ** 30],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['10k', 10_000],
  ])('parses %s', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected);
  });

  it.each(['', 'abc', '5Xi', undefined])('rejects %s', input => {
    expect(parseQuantity(input)).toBeNaN();
  });
});

describe('quotaFraction', () => {
  it('divides used by hard across units', () => {
    expect(quotaFraction('500m', '2')).toBeCloseTo(0.25);
    expect(quotaFraction('6Gi', '8Gi')).toBeCloseTo(0.75);
    expect(quotaFraction(undefined, '4')).toBe(0);
  });

  it('is undefined when it cannot be computed', () => {
    expect(quotaFraction('1', '0')).toBeUndefined();
    expect(quotaFraction('1', 'lots')).toBeUndefined();
  });
});
