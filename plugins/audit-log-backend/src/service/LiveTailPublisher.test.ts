import { mockServices } from '@backstage/backend-test-utils';
import { AUDIT_LOG_SIGNAL_CHANNEL } from '@kubechart/plugin-audit-log-common';
import { LiveTailPublisher } from './LiveTailPublisher';

describe('LiveTailPublisher', () => {
  it('coalesces bursts into one broadcast per interval', async () => {
    const publish = jest.fn().mockResolvedValue(undefined);
    const publisher = new LiveTailPublisher({
      signals: { publish },
      logger: mockServices.logger.mock(),
      intervalMs: 50,
    });
    publisher.notify(10, 10);
    publisher.notify(12, 2);
    await new Promise(r => setTimeout(r, 20));
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledWith({
      recipients: { type: 'broadcast' },
      channel: AUDIT_LOG_SIGNAL_CHANNEL,
      message: { latestSeq: 12, count: 12 },
    });
    publisher.notify(13, 1);
    await new Promise(r => setTimeout(r, 10));
    expect(publish).toHaveBeenCalledTimes(1);
    await new Promise(r => setTimeout(r, 80));
    expect(publish).toHaveBeenCalledTimes(2);
    expect(publish.mock.calls[1][0].message).toEqual({
      latestSeq: 13,
      count: 1,
    });
    publisher.stop();
  });
});
