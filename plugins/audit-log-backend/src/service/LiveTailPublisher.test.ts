import { mockServices } from '@backstage/backend-test-utils';
import { AUDIT_LOG_SIGNAL_CHANNEL } from '@kubechart/plugin-audit-log-common';
import { LiveTailPublisher } from './LiveTailPublisher';

describe('LiveTailPublisher', () => {
  // The clock is jest's (timers and Date.now): the interval is asserted exactly, however busy
  // the machine running the test is.
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('coalesces bursts into one broadcast per interval, telling every user nothing but that events came', async () => {
    const publish = jest.fn().mockResolvedValue(undefined);
    const publisher = new LiveTailPublisher({
      signals: { publish },
      logger: mockServices.logger.mock(),
      intervalMs: 50,
    });
    publisher.notify();
    publisher.notify();
    await jest.advanceTimersByTimeAsync(0);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledWith({
      recipients: { type: 'broadcast' },
      channel: AUDIT_LOG_SIGNAL_CHANNEL,
      // Broadcast to every signed-in user: no sequence number nor count of events, which would
      // tell them how much every tenant does.
      message: { type: 'refetch' },
    });
    // the next event within the interval waits for its end
    await jest.advanceTimersByTimeAsync(10);
    publisher.notify();
    await jest.advanceTimersByTimeAsync(39);
    expect(publish).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(publish).toHaveBeenCalledTimes(2);
    expect(publish.mock.calls[1][0].message).toEqual({ type: 'refetch' });
    publisher.stop();
  });

  it('stop() cancels a pending broadcast', async () => {
    const publish = jest.fn().mockResolvedValue(undefined);
    const publisher = new LiveTailPublisher({
      signals: { publish },
      logger: mockServices.logger.mock(),
      intervalMs: 50,
    });
    publisher.notify();
    await jest.advanceTimersByTimeAsync(0);
    publisher.notify();
    publisher.stop();
    await jest.advanceTimersByTimeAsync(100);
    expect(publish).toHaveBeenCalledTimes(1);
  });
});
