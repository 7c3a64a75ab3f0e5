import { mockServices } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
} from '@kubechart/plugin-audit-log-common';
import { AuditEventQueue } from './AuditEventQueue';

function event(n: number): AuditEventInput {
  return {
    occurredAt: new Date(1700000000000 + n).toISOString(),
    plugin: 'test',
    eventId: `e-${n}`,
    severity: 'low',
    status: 'initiated',
    target: {},
  };
}

const logger = mockServices.logger.mock();

describe('AuditEventQueue', () => {
  it('buffers until a sink is attached, then writes in ordered batches', async () => {
    const queue = new AuditEventQueue({ logger, batchSize: 3 });
    for (let i = 0; i < 7; i++) {
      await queue.enqueue(event(i));
    }
    const batches: string[][] = [];
    queue.attachSink(async batch => {
      batches.push(batch.map(e => e.eventId));
    });
    await queue.drain();
    expect(batches).toEqual([
      ['e-0', 'e-1', 'e-2'],
      ['e-3', 'e-4', 'e-5'],
      ['e-6'],
    ]);
    expect(queue.stats()).toEqual({
      buffered: 0,
      written: 7,
      dropped: 0,
      failedWrites: 0,
      unrecordedDrops: 0,
    });
  });

  it('flushes a partial batch after the flush interval', async () => {
    const queue = new AuditEventQueue({ logger, flushIntervalMs: 10 });
    const written: AuditEventInput[] = [];
    queue.attachSink(async batch => {
      written.push(...batch);
    });
    await queue.enqueue(event(1));
    await new Promise(r => setTimeout(r, 100));
    expect(written.map(e => e.eventId)).toEqual(['e-1']);
  });

  it('applies bounded back-pressure when full and drops instead of failing', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 2,
      maxEnqueueWaitMs: 20,
    });
    let release: () => void = () => {};
    const blocked = new Promise<void>(r => {
      release = r;
    });
    // a sink that is stuck on its first write
    queue.attachSink(() => blocked);
    await queue.enqueue(event(1));
    await queue.enqueue(event(2));
    await new Promise(r => setTimeout(r, 10));
    const started = Date.now();
    await expect(queue.enqueue(event(3))).resolves.toBeUndefined();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(1000);
    expect(queue.stats()).toMatchObject({ buffered: 2, dropped: 1 });
    release();
  });

  it('drops at once when full and no sink is attached', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 1,
      maxEnqueueWaitMs: 5000,
    });
    await queue.enqueue(event(1));
    const started = Date.now();
    await queue.enqueue(event(2));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(queue.stats()).toMatchObject({ buffered: 1, dropped: 1 });
  });

  it('lets a waiting producer in once the sink frees room', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 1,
      maxEnqueueWaitMs: 2000,
    });
    const written: string[] = [];
    queue.attachSink(async batch => {
      await new Promise(r => setTimeout(r, 50));
      written.push(...batch.map(e => e.eventId));
    });
    await queue.enqueue(event(1));
    // the buffer is full while the first write is in flight
    const pending = queue.enqueue(event(2));
    await pending;
    await queue.drain();
    expect(written).toEqual(['e-1', 'e-2']);
    expect(queue.stats().dropped).toBe(0);
  });

  it('keeps a batch whose write failed and retries it', async () => {
    const queue = new AuditEventQueue({ logger, flushIntervalMs: 1 });
    let calls = 0;
    const written: string[] = [];
    queue.attachSink(async batch => {
      calls += 1;
      if (calls === 1) {
        throw new Error('database is down');
      }
      written.push(...batch.map(e => e.eventId));
    });
    await queue.enqueue(event(1));
    await new Promise(r => setTimeout(r, 400));
    expect(written).toEqual(['e-1']);
    expect(queue.stats()).toMatchObject({ failedWrites: 1, written: 1 });
  });

  it('drains everything on detach', async () => {
    const queue = new AuditEventQueue({
      logger,
      batchSize: 2,
      flushIntervalMs: 60000,
    });
    const written: string[] = [];
    queue.attachSink(async batch => {
      written.push(...batch.map(e => e.eventId));
    });
    for (let i = 0; i < 5; i++) {
      await queue.enqueue(event(i));
    }
    await queue.detachSink();
    expect(written).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4']);
  });

  it('records dropped events as a gap record in front of the next stored batch', async () => {
    const queue = new AuditEventQueue({ logger, maxSize: 2 });
    // no sink yet: the third and fourth events are dropped at once
    for (let i = 1; i <= 4; i++) {
      await queue.enqueue(event(i));
    }
    expect(queue.stats()).toMatchObject({ dropped: 2, unrecordedDrops: 2 });
    const batches: AuditEventInput[][] = [];
    queue.attachSink(async batch => {
      batches.push(batch);
    });
    await queue.drain();
    const stored = batches.flat();
    expect(stored.map(e => e.eventId)).toEqual([
      AUDIT_GAP_EVENT_ID,
      'e-1',
      'e-2',
    ]);
    expect(stored[0]).toMatchObject({
      plugin: 'audit-log',
      severity: 'high',
      meta: {
        gap: {
          dropped: 2,
          firstOccurredAt: event(3).occurredAt,
          lastOccurredAt: event(4).occurredAt,
          reasons: { 'queue full': 2 },
        },
      },
    });
    expect(stored[0].error).toBe(
      `2 events dropped between ${event(3).occurredAt} and ${
        event(4).occurredAt
      } because queue full (2)`,
    );
    expect(queue.stats().unrecordedDrops).toBe(0);
  });

  it('gives a batch up after maxRetryDurationMs and records why once the store is back', async () => {
    const queue = new AuditEventQueue({
      logger,
      flushIntervalMs: 1,
      maxRetryDelayMs: 20,
      maxRetryDurationMs: 150,
    });
    let down = true;
    const stored: AuditEventInput[] = [];
    queue.attachSink(async batch => {
      if (down) {
        throw new Error('connection refused');
      }
      stored.push(...batch);
    });
    await queue.enqueue(event(1));
    await queue.enqueue(event(2));
    // retried, not dropped, while the outage is short
    await new Promise(r => setTimeout(r, 60));
    expect(queue.stats()).toMatchObject({ buffered: 2, dropped: 0 });
    await new Promise(r => setTimeout(r, 250));
    expect(queue.stats()).toMatchObject({ buffered: 0, dropped: 2 });
    down = false;
    await queue.enqueue(event(3));
    await queue.drain();
    expect(stored.map(e => e.eventId)).toEqual([AUDIT_GAP_EVENT_ID, 'e-3']);
    expect(stored[0].error).toMatch(
      /^2 events dropped between .* because database unavailable for over 0 s \(2\)$/,
    );
  });
});
