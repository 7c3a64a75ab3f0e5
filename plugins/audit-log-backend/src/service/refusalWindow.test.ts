import { RefusalWindow } from './refusalWindow';

describe('RefusalWindow', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports the refusals it did not record when their minute ends, even if the caller never comes back', async () => {
    const unrecorded: Array<{ caller: string; count: number }> = [];
    const window = new RefusalWindow(2, async (caller, count) => {
      unrecorded.push({ caller, count });
    });
    expect([1, 2, 3, 4, 5].map(() => window.take('user:default/eve'))).toEqual([
      0,
      0,
      undefined,
      undefined,
      undefined,
    ]);
    expect(unrecorded).toEqual([]);
    jest.advanceTimersByTime(60_000);
    expect(unrecorded).toEqual([{ caller: 'user:default/eve', count: 3 }]);
    // Reported once: the next recorded refusal does not count them again.
    expect(window.take('user:default/eve')).toBe(0);
  });

  it('carries the count in the next recorded refusal instead of reporting it twice', () => {
    const unrecorded: number[] = [];
    const window = new RefusalWindow(1, async (_caller, count) => {
      unrecorded.push(count);
    });
    window.take('user:default/eve');
    window.take('user:default/eve');
    window.take('user:default/eve');
    // The minute is over (by the clock) before the timer runs: the next refusal carries the count.
    jest.setSystemTime(Date.now() + 60_000);
    expect(window.take('user:default/eve')).toBe(2);
    jest.advanceTimersByTime(60_000);
    expect(unrecorded).toEqual([]);
  });

  it('reports what is pending at once when flushed (shutdown)', async () => {
    const unrecorded: number[] = [];
    const window = new RefusalWindow(1, async (_caller, count) => {
      unrecorded.push(count);
    });
    window.take('user:default/eve');
    window.take('user:default/eve');
    await window.flush();
    expect(unrecorded).toEqual([1]);
    jest.advanceTimersByTime(60_000);
    expect(unrecorded).toEqual([1]);
  });
});
