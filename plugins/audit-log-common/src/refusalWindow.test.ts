import { RefusalWindow } from './refusalWindow';

describe('RefusalWindow', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports the refusals it did not record when their minute ends, even if the caller never comes back', () => {
    const unrecorded: Array<{ caller: string; count: number; since: Date }> =
      [];
    const start = new Date('2026-01-01T10:00:00.000Z');
    jest.setSystemTime(start);
    const window = new RefusalWindow(2, (caller, count, since) => {
      unrecorded.push({ caller, count, since });
    });
    expect([1, 2, 3, 4, 5].map(() => window.take('user:default/eve'))).toEqual([
      0,
      0,
      undefined,
      undefined,
      undefined,
    ]);
    expect(unrecorded).toEqual([]);
    jest.advanceTimersByTime(59_999);
    expect(unrecorded).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(unrecorded).toEqual([
      { caller: 'user:default/eve', count: 3, since: start },
    ]);
    // Reported once: the next recorded refusal does not count them again.
    expect(window.take('user:default/eve')).toBe(0);
  });

  it('awaits an asynchronous report', async () => {
    const unrecorded: Array<{ caller: string; count: number }> = [];
    const window = new RefusalWindow(2, async (caller, count) => {
      unrecorded.push({ caller, count });
    });
    [1, 2, 3, 4, 5].forEach(() => window.take('user:default/eve'));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(unrecorded).toEqual([{ caller: 'user:default/eve', count: 3 }]);
  });

  it('does not report them twice when the next recorded refusal already carried them', () => {
    const unrecorded: number[] = [];
    const window = new RefusalWindow(1, (_caller, count) => {
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

  it('counts each caller on its own', () => {
    const unrecorded: Array<{ caller: string; count: number }> = [];
    const window = new RefusalWindow(1, (caller, count) => {
      unrecorded.push({ caller, count });
    });
    expect(window.take('user:default/eve')).toBe(0);
    expect(window.take('user:default/eve')).toBeUndefined();
    expect(window.take('user:default/bob')).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(unrecorded).toEqual([{ caller: 'user:default/eve', count: 1 }]);
  });

  it('tells onFirstSkipped once a minute, at the first refusal only counted', () => {
    const skipped: string[] = [];
    const window = new RefusalWindow(1, () => {}, {
      onFirstSkipped: caller => skipped.push(caller),
    });
    window.take('user:default/eve');
    expect(skipped).toEqual([]);
    window.take('user:default/eve');
    window.take('user:default/eve');
    expect(skipped).toEqual(['user:default/eve']);
    jest.advanceTimersByTime(60_000);
    window.take('user:default/eve');
    window.take('user:default/eve');
    expect(skipped).toEqual(['user:default/eve', 'user:default/eve']);
  });

  it('records none one by one with a limit of 0, and reports them all', () => {
    const unrecorded: number[] = [];
    const window = new RefusalWindow(0, (_caller, count) => {
      unrecorded.push(count);
    });
    expect(window.take('user:default/eve')).toBeUndefined();
    expect(window.take('user:default/eve')).toBeUndefined();
    jest.advanceTimersByTime(60_000);
    expect(unrecorded).toEqual([2]);
  });
});
