import { describeGap } from './gap';

describe('describeGap', () => {
  it('says how many events were lost, when and why', () => {
    expect(
      describeGap({
        dropped: 12,
        firstOccurredAt: '2026-01-01T10:00:00.000Z',
        lastOccurredAt: '2026-01-01T10:05:00.000Z',
        reasons: { 'queue full': 10, 'database unavailable': 2 },
      }),
    ).toBe(
      '12 events dropped between 2026-01-01T10:00:00.000Z and 2026-01-01T10:05:00.000Z because queue full (10), database unavailable (2)',
    );
  });

  it('names the severities of the dropped events, most severe last, and a count that is a lower bound', () => {
    expect(
      describeGap({
        dropped: 12,
        firstOccurredAt: '2026-01-01T10:00:00.000Z',
        lastOccurredAt: '2026-01-01T10:05:00.000Z',
        reasons: { 'queue full': 12 },
        bySeverity: { high: 3, low: 9 },
        incomplete: true,
      }),
    ).toBe(
      'At least 12 events dropped between 2026-01-01T10:00:00.000Z and 2026-01-01T10:05:00.000Z because queue full (12); by severity: low 9, high 3',
    );
  });
});
