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
});
