import { withDeadline } from './deadline';

describe('withDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('settles as the work does when it settles in time, and clears its timer', async () => {
    const onTimeout = jest.fn(() => 'late');
    await expect(
      withDeadline(Promise.resolve('done'), 1000, onTimeout),
    ).resolves.toBe('done');
    await expect(
      withDeadline(Promise.reject(new Error('broken')), 1000, onTimeout),
    ).rejects.toThrow('broken');
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(2000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('resolves with what onTimeout returns when the work is late', async () => {
    const answer = withDeadline(
      new Promise<string>(() => {}),
      1000,
      () => 'late',
    );
    jest.advanceTimersByTime(1000);
    await expect(answer).resolves.toBe('late');
  });

  it('rejects with what onTimeout throws when the work is late', async () => {
    const answer = withDeadline(new Promise<string>(() => {}), 1000, () => {
      throw new Error('no answer within 1 s');
    });
    jest.advanceTimersByTime(999);
    let settled = false;
    answer.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(answer).rejects.toThrow('no answer within 1 s');
  });
});
