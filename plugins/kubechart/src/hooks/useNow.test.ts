import { ageOf } from './useNow';

describe('ageOf', () => {
  const now = Date.parse('2026-12-03T09:00:00.000Z');

  it('counts the seconds since a past timestamp', () => {
    expect(ageOf('2026-12-03T08:59:30.000Z', now)).toEqual({
      seconds: 30,
      ahead: false,
    });
  });

  it('reads a timestamp a moment ahead (rounding, a small clock difference) as now', () => {
    expect(ageOf('2026-12-03T09:00:01.000Z', now)).toEqual({
      seconds: 0,
      ahead: false,
    });
  });

  it('tells a timestamp in the future from a fresh one: how far ahead it is, never "0 s ago"', () => {
    expect(ageOf('2026-12-03T09:10:00.000Z', now)).toEqual({
      seconds: 600,
      ahead: true,
    });
  });
});
