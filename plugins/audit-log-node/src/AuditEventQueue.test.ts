import { mockServices } from '@backstage/backend-test-utils';
import {
  AUDIT_GAP_EVENT_ID,
  AuditEventInput,
  AuditGapInfo,
} from '@kubechart/plugin-audit-log-common';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AuditEventQueue } from './AuditEventQueue';

/** Longer than the queue waits before it writes the loss record of events enqueued after it closed. */
const LATE_LOSS_WAIT_MS = 1500;

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
    jest.useFakeTimers();
    try {
      const queue = new AuditEventQueue({ logger, flushIntervalMs: 10 });
      const written: AuditEventInput[] = [];
      queue.attachSink(async batch => {
        written.push(...batch);
      });
      await queue.enqueue(event(1));
      await jest.advanceTimersByTimeAsync(9);
      expect(written).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(written.map(e => e.eventId)).toEqual(['e-1']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('applies bounded back-pressure when full and drops instead of failing', async () => {
    jest.useFakeTimers();
    let release: () => void = () => {};
    try {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 2,
        maxEnqueueWaitMs: 20,
      });
      const blocked = new Promise<void>(r => {
        release = r;
      });
      // a sink that is stuck on its first write
      queue.attachSink(() => blocked);
      await queue.enqueue(event(1));
      await queue.enqueue(event(2));
      await jest.advanceTimersByTimeAsync(10);
      let settled = false;
      const third = queue.enqueue(event(3)).then(() => {
        settled = true;
      });
      // it waits maxEnqueueWaitMs for room, then drops the event and resolves
      await jest.advanceTimersByTimeAsync(19);
      expect(settled).toBe(false);
      expect(queue.stats()).toMatchObject({ buffered: 2, dropped: 0 });
      await jest.advanceTimersByTimeAsync(1);
      await third;
      expect(queue.stats()).toMatchObject({ buffered: 2, dropped: 1 });
    } finally {
      release();
      jest.useRealTimers();
    }
  });

  it('drops at once when full and no sink is attached', async () => {
    jest.useFakeTimers();
    try {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 1,
        maxEnqueueWaitMs: 5000,
      });
      await queue.enqueue(event(1));
      let settled = false;
      const second = queue.enqueue(event(2)).then(() => {
        settled = true;
      });
      // no time passes: it does not wait for the 5 s a sink would be given to make room
      await jest.advanceTimersByTimeAsync(0);
      expect(settled).toBe(true);
      await second;
      expect(queue.stats()).toMatchObject({ buffered: 1, dropped: 1 });
    } finally {
      jest.useRealTimers();
    }
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
      } because queue full (2); by severity: low 2`,
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
      /^2 events dropped between .* because database unavailable for over 0 s \(2\); by severity: low 2$/,
    );
  });

  it('records a drop outside the database at once, under the id its gap record carries', async () => {
    const queue = new AuditEventQueue({ logger, maxSize: 1 });
    const records: Array<{ loss: AuditGapInfo; id?: string }> = [];
    queue.recordLossesWith((loss, context) =>
      records.push({ loss: structuredClone(loss), id: context?.id }),
    );
    await queue.enqueue(event(1));
    await queue.enqueue(event(2)); // dropped: no sink and no room
    // kept outside the database before the queue does anything else: a crash now leaves it
    expect(records).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        loss: expect.objectContaining({
          dropped: 1,
          firstOccurredAt: event(2).occurredAt,
          reasons: { 'queue full': 1 },
        }),
      },
    ]);
    const stored: AuditEventInput[] = [];
    queue.attachSink(async batch => {
      stored.push(...batch);
    });
    await queue.drain();
    expect(stored.map(e => e.eventId)).toEqual([AUDIT_GAP_EVENT_ID, 'e-1']);
    // the gap record names the loss record, so the next start does not append it again
    expect(stored[0].meta).toMatchObject({ lossId: records[0].id });
  });

  it('records a flood of losses, one per batch the database takes, in a few loss records', async () => {
    const queue = new AuditEventQueue({ logger, maxSize: 4, batchSize: 5 });
    const records: Array<{ id: string; dropped: number }> = [];
    queue.recordLossesWith((loss, { id }) =>
      records.push({ id, dropped: loss.dropped }),
    );
    const stored: AuditEventInput[] = [];
    for (let round = 0; round < 300; round++) {
      // the queue is full: the fifth event of the round is dropped
      for (let i = 0; i < 5; i++) {
        await queue.enqueue(event(round * 5 + i));
      }
      // the database takes the batch, with the round's gap record in front
      queue.attachSink(async batch => {
        stored.push(...batch);
      });
      await queue.detachSink();
    }
    const gaps = stored.filter(e => e.eventId === AUDIT_GAP_EVENT_ID);
    expect(gaps).toHaveLength(300);
    // the first loss at once; the next ones only when still not stored after a delay that
    // doubles from a second to a minute: a few lines, not one per batch
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(records.length).toBeLessThan(10);
    expect(records[0]).toEqual({ id: gaps[0].meta!.lossId, dropped: 1 });

    // a loss that stays pending (the database is down now) is still recorded, once the delay is over
    await queue.enqueue(event(9000));
    for (let i = 1; i < 5; i++) await queue.enqueue(event(9000 + i));
    expect(queue.stats().unrecordedDrops).toBe(1);
    const before = records.length;
    for (let i = 0; i < 100 && records.length === before; i++) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(records.slice(before)).toEqual([
      { id: expect.not.stringMatching(records[before - 1].id), dropped: 1 },
    ]);
    await queue.close();
  });

  it('records each new loss outside the database at its first drop, while the database is slow too', async () => {
    jest.useFakeTimers();
    try {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 3,
        flushIntervalMs: 10,
        maxEnqueueWaitMs: 10,
      });
      const records: Array<{ id: string; dropped: number; at: number }> = [];
      queue.recordLossesWith((loss, { id }) =>
        records.push({ id, dropped: loss.dropped, at: Date.now() }),
      );
      let release: () => void = () => {};
      queue.attachSink(
        () =>
          new Promise<void>(resolve => {
            release = resolve;
          }),
      );
      let n = 0;
      /** Fills the queue while a write hangs: the last event is dropped; when. */
      const overflow = async () => {
        await queue.enqueue(event(n++));
        await jest.advanceTimersByTimeAsync(20); // its write starts and hangs
        await queue.enqueue(event(n++));
        await queue.enqueue(event(n++));
        // full: dropped after 10 ms
        const droppedAt = queue.enqueue(event(n++)).then(() => Date.now());
        await jest.advanceTimersByTimeAsync(20);
        return droppedAt;
      };
      /** How long after each drop its loss was recorded, as seen 10 ms after it (`none`: not yet). */
      const lags: Array<number | 'none'> = [];
      const lagOf = (droppedAt: number) => {
        const record = records[lags.length];
        lags.push(record ? Math.max(0, record.at - droppedAt) : 'none');
      };
      // overflow after overflow, each while a write takes 3 s (each loss is new: the gap record
      // of the one before was stored)
      for (let cycle = 0; cycle < 12; cycle++) {
        lagOf(await overflow());
        await jest.advanceTimersByTimeAsync(3000);
        release(); // the slow write answers
        await jest.advanceTimersByTimeAsync(50);
        release(); // and the next (the gap record and the rest)
        await jest.advanceTimersByTimeAsync(50);
      }
      // the last: its write hangs, and the backend is killed 20 s later
      lagOf(await overflow());
      await jest.advanceTimersByTimeAsync(20_000);
      expect(queue.stats()).toMatchObject({ dropped: 13, unrecordedDrops: 1 });
      // each loss recorded by the time its drop was answered: what is only in memory when the
      // backend is killed has its line outside the database
      expect(lags).toEqual(Array(13).fill(0));
      expect(records).toHaveLength(13);
      expect(new Set(records.map(r => r.id)).size).toBe(13);
      expect(records.every(r => r.dropped === 1)).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('goes on under the id of a stored gap record with the drops its loss record counted during the write', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 2,
      maxEnqueueWaitMs: 10,
    });
    const records: Array<{ id: string; dropped: number }> = [];
    queue.recordLossesWith((loss, { id }) =>
      records.push({ id, dropped: loss.dropped }),
    );
    for (let i = 1; i <= 3; i++) await queue.enqueue(event(i));
    let release!: () => void;
    const released = new Promise<void>(resolve => {
      release = resolve;
    });
    const batches: AuditEventInput[][] = [];
    queue.attachSink(async batch => {
      batches.push(batch);
      await released;
    });
    while (batches.length === 0) await new Promise(r => setTimeout(r, 5));
    // the database takes its time: four more are dropped, and recorded with the first
    for (let i = 4; i <= 7; i++) await queue.enqueue(event(i));
    await new Promise(r => setTimeout(r, 1200));
    const id = records[0].id;
    expect(records).toEqual([
      { id, dropped: 1 },
      { id, dropped: 5 },
    ]);
    release();
    while (queue.stats().written < 2) await new Promise(r => setTimeout(r, 5));
    expect(queue.stats()).toMatchObject({ dropped: 5, unrecordedDrops: 4 });
    await queue.drain();
    const gaps = batches
      .flat()
      .filter(e => e.eventId === AUDIT_GAP_EVENT_ID)
      .map(e => e.meta);
    // the second counts the whole loss, as its last loss record does: the store keeps of it
    // what the chain's gap records of the id do not count
    expect(gaps).toEqual([
      expect.objectContaining({
        lossId: id,
        lossRecorded: 1,
        gap: expect.objectContaining({ dropped: 1 }),
      }),
      expect.objectContaining({
        lossId: id,
        lossRecorded: 5,
        gap: expect.objectContaining({
          dropped: 5,
          reasons: { 'queue full': 5 },
        }),
      }),
    ]);
    expect(queue.stats()).toMatchObject({ unrecordedDrops: 0 });
    // nothing more to record: the loss record of the id has the counts
    expect(records).toHaveLength(2);
    await queue.close();
  });

  it('records a new loss that comes less than a second after the last record a second after it', async () => {
    jest.useFakeTimers();
    try {
      const queue = new AuditEventQueue({ logger, maxSize: 1 });
      const records: Array<{ id: string; dropped: number; at: number }> = [];
      queue.recordLossesWith((loss, { id }) =>
        records.push({ id, dropped: loss.dropped, at: Date.now() }),
      );
      await queue.enqueue(event(1));
      await queue.enqueue(event(2)); // dropped, recorded at once
      const firstAt = Date.now();
      let down = false;
      const stored: AuditEventInput[] = [];
      queue.attachSink(async batch => {
        if (down) throw new Error('connection refused');
        stored.push(...batch);
      });
      await jest.advanceTimersByTimeAsync(100);
      expect(stored.map(e => e.eventId)).toEqual([AUDIT_GAP_EVENT_ID, 'e-1']);
      // the database goes down right after; a new loss soon after the last record
      down = true;
      await queue.enqueue(event(3));
      // full: dropped after maxEnqueueWaitMs
      const dropped = queue.enqueue(event(4));
      await jest.advanceTimersByTimeAsync(150);
      await dropped;
      expect(queue.stats()).toMatchObject({ unrecordedDrops: 1 });
      expect(records).toHaveLength(1);
      const soonAt = Date.now();
      await jest.advanceTimersByTimeAsync(1000);
      expect(records.slice(1)).toEqual([
        {
          id: expect.not.stringMatching(records[0].id),
          dropped: 1,
          at: firstAt + 1000,
        },
      ]);
      expect(soonAt - firstAt).toBeLessThan(1000);
      down = false;
      await jest.advanceTimersByTimeAsync(2000);
    } finally {
      jest.useRealTimers();
    }
  });

  it('records at a graceful stop the loss whose record the throttle held back', async () => {
    const queue = new AuditEventQueue({ logger, maxSize: 1 });
    const records: Array<{ id: string; dropped: number; pending: boolean }> =
      [];
    queue.recordLossesWith((loss, { id, pending }) =>
      records.push({ id, dropped: loss.dropped, pending }),
    );
    await queue.enqueue(event(1));
    await queue.enqueue(event(2)); // dropped, recorded at once
    let down = false;
    const stored: AuditEventInput[] = [];
    queue.attachSink(async batch => {
      if (down) throw new Error('connection refused');
      stored.push(...batch);
    });
    await queue.drain();
    expect(stored.map(e => e.eventId)).toEqual([AUDIT_GAP_EVENT_ID, 'e-1']);
    // the database goes down; a new loss soon after the last record waits for the throttle
    down = true;
    await queue.enqueue(event(3));
    await queue.enqueue(event(4));
    expect(queue.stats()).toMatchObject({ dropped: 2, unrecordedDrops: 1 });
    expect(records).toHaveLength(1);
    await queue.close();
    expect(records.slice(1)).toEqual([
      {
        id: expect.not.stringMatching(records[0].id),
        dropped: 2,
        pending: false,
      },
    ]);
  });

  it('makes room for a more severe event by dropping a less severe one, and names what it dropped', async () => {
    const queue = new AuditEventQueue({ logger, maxSize: 3 });
    const severe = (n: number, severity: AuditEventInput['severity']) => ({
      ...event(n),
      plugin: 'kubechart',
      eventId: severity === 'high' ? 'run-create' : 'refusal',
      severity,
    });
    // a flood of low events fills the queue (no sink yet: the database stalls)
    await queue.enqueue(event(1));
    await queue.enqueue(event(2));
    await queue.enqueue(severe(3, 'medium'));
    // another user's high event still gets in, in place of the newest low one
    await queue.enqueue(severe(4, 'high'));
    // a medium one in place of the last low one
    await queue.enqueue(severe(5, 'medium'));
    // nothing less severe is left: a further low or medium event is dropped itself
    await queue.enqueue(event(6));
    await queue.enqueue(severe(7, 'medium'));
    expect(queue.stats()).toMatchObject({ buffered: 3, dropped: 4 });
    const stored: AuditEventInput[] = [];
    queue.attachSink(async batch => {
      stored.push(...batch);
    });
    await queue.drain();
    expect(stored.map(e => `${e.eventId} ${e.severity}`)).toEqual([
      `${AUDIT_GAP_EVENT_ID} high`,
      'refusal medium',
      'run-create high',
      'refusal medium',
    ]);
    expect(stored[0].meta!.gap).toEqual({
      dropped: 4,
      firstOccurredAt: event(1).occurredAt,
      lastOccurredAt: event(7).occurredAt,
      reasons: {
        'queue full, dropped for a more severe event': 2,
        'queue full': 2,
      },
      bySeverity: { low: 3, medium: 1 },
      byEvent: {
        'test.e-1 (low)': 1,
        'test.e-2 (low)': 1,
        'test.e-6 (low)': 1,
        'kubechart.refusal (medium)': 1,
      },
    });
    expect(stored[0].error).toMatch(
      /because queue full, dropped for a more severe event \(2\), queue full \(2\); by severity: low 3, medium 1$/,
    );
  });

  it.each([
    ['stored', true],
    ['not stored', false],
  ])(
    'records drops during a write whose gap record is %s under ids the chain accounts for once',
    async (_, succeeds) => {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 1,
        maxEnqueueWaitMs: 5,
      });
      const records: Array<{ id: string; dropped: number }> = [];
      queue.recordLossesWith((loss, { id }) =>
        records.push({ id, dropped: loss.dropped }),
      );
      await queue.enqueue(event(1));
      await queue.enqueue(event(2)); // dropped
      let open: () => void = () => {};
      const gate = new Promise<void>(resolve => {
        open = resolve;
      });
      let calls = 0;
      const stored: AuditEventInput[] = [];
      queue.attachSink(async batch => {
        calls += 1;
        if (calls === 1) {
          await gate;
          if (!succeeds) throw new Error('connection reset');
        }
        stored.push(...batch);
      });
      await new Promise(r => setTimeout(r, 10)); // the first write is under way
      await queue.enqueue(event(3)); // dropped while it is
      open();
      await queue.drain();
      await queue.drain();
      const gaps = stored.filter(e => e.eventId === AUDIT_GAP_EVENT_ID);
      const inChain = new Set(gaps.map(g => g.meta!.lossId as string));
      // what the next start would append: the last record of each id the chain lacks
      const last = new Map(records.map(r => [r.id, r.dropped]));
      const appended = [...last]
        .filter(([id]) => !inChain.has(id))
        .reduce((sum, [, n]) => sum + n, 0);
      const chained = gaps.reduce(
        (sum, g) => sum + ((g.meta!.gap as any).dropped as number),
        0,
      );
      expect(chained).toBe(2);
      expect(appended).toBe(0);
      // and had the backend been killed before anything was stored, the records count them
      expect(records[0]).toEqual({ id: gaps[0].meta!.lossId, dropped: 1 });
      expect(stored.filter(e => e.eventId !== AUDIT_GAP_EVENT_ID)).toEqual([
        event(1),
      ]);
      expect(gaps.map(g => (g.meta!.gap as any).dropped)).toEqual(
        succeeds ? [1, 1] : [2],
      );
    },
  );

  it('resolves enqueueStored once its batch is written, and rejects it when the event is dropped', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 2,
      flushIntervalMs: 60000,
    });
    const high = (n: number) => ({ ...event(n), severity: 'high' as const });
    await queue.enqueue(high(1));
    await queue.enqueue(high(2));
    // full of events as severe, no sink: dropped at once, and said so
    await expect(queue.enqueueStored(high(3))).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: 'The audit trail could not take this event: queue full',
    });
    const written: string[] = [];
    queue.attachSink(async batch => {
      await new Promise(r => setTimeout(r, 20));
      written.push(...batch.map(e => e.eventId));
    });
    await queue.drain();
    // written at once, not after the flush interval, and only then resolved
    jest.useFakeTimers();
    try {
      let settled = false;
      const stored = queue.enqueueStored(high(4)).then(() => {
        settled = true;
      });
      // the sink's own 20 ms, nowhere near the 60 s flush interval
      await jest.advanceTimersByTimeAsync(19);
      expect(written).not.toContain('e-4');
      expect(settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(written).toContain('e-4');
      expect(settled).toBe(true);
      await stored;
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects enqueueStored when its event is not written within maxStoreWaitMs, and not before', async () => {
    jest.useFakeTimers();
    try {
      const queue = new AuditEventQueue({
        logger,
        maxStoreWaitMs: 300,
        flushIntervalMs: 60000,
      });
      // a database that is down: every write fails
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      let outcome: unknown;
      const stored = queue.enqueueStored(event(1)).catch(error => {
        outcome = error;
      });
      await jest.advanceTimersByTimeAsync(299);
      expect(outcome).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      await stored;
      expect(outcome).toMatchObject({
        name: 'ServiceUnavailableError',
        message: expect.stringMatching(
          /^The audit trail did not store this event within 300 ms \(auditLog\.queue\.maxStoreWaitMs\)/,
        ),
      });
    } finally {
      jest.useRealTimers();
    }
  });

  it('never drops an event that is being written to make room', async () => {
    const queue = new AuditEventQueue({
      logger,
      maxSize: 2,
      maxEnqueueWaitMs: 5,
    });
    let open: () => void = () => {};
    const gate = new Promise<void>(resolve => {
      open = resolve;
    });
    const stored: AuditEventInput[] = [];
    await queue.enqueue(event(1));
    await queue.enqueue(event(2));
    queue.attachSink(async batch => {
      await gate;
      stored.push(...batch);
    });
    await new Promise(r => setTimeout(r, 10)); // e-1 and e-2 are being written
    await queue.enqueue({ ...event(3), severity: 'high' });
    open();
    await queue.drain();
    expect(stored.map(e => e.eventId)).toEqual([
      'e-1',
      'e-2',
      AUDIT_GAP_EVENT_ID,
    ]);
    expect(stored[2].meta!.gap).toMatchObject({
      bySeverity: { high: 1 },
      reasons: { 'queue full': 1 },
    });
  });

  describe('events it holds while the database does not take them', () => {
    const HELD =
      'waited in memory for the database when the backend stopped, not known to be stored';
    const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

    it('records them at once when a write fails, counts and times only, and resolves the record once they are written', async () => {
      const queue = new AuditEventQueue({ logger });
      const records: Array<{
        id: string;
        resolved: boolean;
        held: AuditGapInfo;
      }> = [];
      queue.recordHeldWith((held, { id, resolved }) =>
        records.push({ id, resolved, held: structuredClone(held) }),
      );
      let down = true;
      const stored: AuditEventInput[] = [];
      queue.attachSink(async batch => {
        if (down) throw new Error('connection refused');
        stored.push(...batch);
      });
      for (let i = 1; i <= 3; i++) await queue.enqueue(event(i));
      while (queue.stats().failedWrites === 0) await sleep(5);
      // a backend killed now leaves this record: the next start counts the three as lost
      expect(records).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          resolved: false,
          held: {
            dropped: 3,
            firstOccurredAt: event(1).occurredAt,
            lastOccurredAt: event(3).occurredAt,
            reasons: { [HELD]: 3 },
            bySeverity: { low: 3 },
          },
        },
      ]);
      down = false;
      await queue.drain();
      expect(stored.map(e => e.eventId)).toEqual(['e-1', 'e-2', 'e-3']);
      expect(records.slice(1)).toEqual([
        {
          id: records[0].id,
          resolved: true,
          held: expect.objectContaining({ dropped: 3 }),
        },
      ]);
      await queue.close();
      expect(records).toHaveLength(2);
    });

    it('records them when a write has not answered for a second', async () => {
      const queue = new AuditEventQueue({ logger });
      const records: Array<{ resolved: boolean; dropped: number }> = [];
      queue.recordHeldWith((held, { resolved }) =>
        records.push({ resolved, dropped: held.dropped }),
      );
      let answer!: () => void;
      const answered = new Promise<void>(resolve => {
        answer = resolve;
      });
      queue.attachSink(() => answered);
      await queue.enqueue(event(1));
      await queue.enqueue(event(2));
      await sleep(1200);
      expect(records).toEqual([{ resolved: false, dropped: 2 }]);
      answer();
      await queue.drain();
      expect(records).toEqual([
        { resolved: false, dropped: 2 },
        { resolved: true, dropped: 2 },
      ]);
      await queue.close();
    });

    /**
     * Records every held and loss record, and after each how many events they cover together
     * (the last record of each held id, none once resolved, and of each loss id: what the next
     * start would count) and how many at least: while nothing is written, every event a held
     * record counted is still at risk.
     */
    function coverage(queue: AuditEventQueue) {
      const lines: string[] = [];
      const covered: Array<{ covered: number; atLeast: number }> = [];
      let atLeast = 0;
      const held = new Map<string, number>();
      const lost = new Map<string, number>();
      const sum = (m: Map<string, number>) =>
        [...m.values()].reduce((a, b) => a + b, 0);
      queue.recordLossesWith((loss, { id }) => {
        lines.push(`lost ${loss.dropped}`);
        lost.set(id, loss.dropped);
        covered.push({ covered: sum(held) + sum(lost), atLeast });
      });
      queue.recordHeldWith((info, { id, resolved }) => {
        lines.push(resolved ? 'held none' : `held ${info.dropped}`);
        held.set(id, resolved ? 0 : info.dropped);
        if (!resolved) atLeast = Math.max(atLeast, info.dropped);
        covered.push({ covered: sum(held) + sum(lost), atLeast });
      });
      return { lines, covered };
    }

    it('counts a held event that is dropped: a loss record counts it before its held record leaves it out', async () => {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 2,
        maxEnqueueWaitMs: 10,
      });
      const { lines, covered } = coverage(queue);
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      await queue.enqueue(event(1));
      await queue.enqueue(event(2));
      while (queue.stats().failedWrites === 0) await sleep(5);
      // full: the held e-2 makes room for a more severe event
      await queue.enqueue({ ...event(3), severity: 'high' });
      expect(queue.stats()).toMatchObject({ dropped: 1 });
      expect(lines.slice(0, 3)).toEqual(['held 2', 'lost 1', 'held 1']);
      // the backend stops, its database still down: what it held is lost, recorded as lost
      // before its held record is resolved
      await queue.close();
      expect(lines.slice(-2)).toEqual(['lost 3', 'held none']);
      expect(covered[covered.length - 1].covered).toBe(3);
      // nothing was written: the records never cover fewer events than one of them counted
      for (const c of covered)
        expect(c.covered).toBeGreaterThanOrEqual(c.atLeast);
    });

    it('keeps counting evicted held events until their throttled loss record counts them', async () => {
      const queue = new AuditEventQueue({
        logger,
        maxSize: 4,
        maxEnqueueWaitMs: 10,
      });
      const { covered } = coverage(queue);
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      for (let i = 1; i <= 4; i++) await queue.enqueue(event(i));
      while (queue.stats().failedWrites === 0) await sleep(5);
      // two evictions: the second loss record waits for the throttle
      await queue.enqueue({ ...event(5), severity: 'high' });
      await queue.enqueue({ ...event(6), severity: 'high' });
      expect(queue.stats()).toMatchObject({ dropped: 2 });
      await sleep(1200);
      await queue.close();
      expect(covered[covered.length - 1].covered).toBe(6);
      for (const c of covered)
        expect(c.covered).toBeGreaterThanOrEqual(c.atLeast);
    });

    it('records the events that wait over a second for a slow database, though each write answers within a second', async () => {
      const queue = new AuditEventQueue({ logger, batchSize: 1 });
      const records: Array<{ resolved: boolean; dropped: number }> = [];
      queue.recordHeldWith((held, { resolved }) =>
        records.push({ resolved, dropped: held.dropped }),
      );
      // a writer that holds the database's locks most of a second per write
      queue.attachSink(async () => {
        await sleep(700);
      });
      for (let i = 1; i <= 4; i++) await queue.enqueue(event(i));
      await sleep(1500);
      expect(records[0]).toMatchObject({ resolved: false });
      await queue.drain();
      await sleep(1100);
      expect(records[records.length - 1]).toMatchObject({ resolved: true });
      await queue.close();
    });

    it('counts within a second the events that come while it holds some', async () => {
      const queue = new AuditEventQueue({ logger });
      const { lines } = coverage(queue);
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      for (let i = 1; i <= 4; i++) await queue.enqueue(event(i));
      while (queue.stats().failedWrites === 0) await sleep(5);
      expect(lines).toEqual(['held 4']);
      for (let i = 5; i <= 7; i++) await queue.enqueue(event(i));
      await sleep(1200);
      expect(lines).toEqual(['held 4', 'held 7']);
      queue.attachSink(async () => {});
      await queue.close();
    });

    it('does not resolve the held record while the events a stopping backend could not store are only in memory', async () => {
      const queue = new AuditEventQueue({ logger });
      const { lines } = coverage(queue);
      queue.attachSink(async () => {
        throw new Error('connection refused');
      });
      for (let i = 1; i <= 3; i++) await queue.enqueue(event(i));
      while (queue.stats().failedWrites === 0) await sleep(5);
      expect(lines).toEqual(['held 3']);
      // the plugin's shutdown hook: the database is still down, the events are lost but
      // reported only when the queue closes; a backend killed now must leave them recorded
      await queue.drainOnShutdown();
      await sleep(1200);
      expect(lines).toEqual(['held 3']);
      await queue.close();
      expect(lines).toEqual(['held 3', 'lost 3', 'held none']);
    });
  });

  describe('on shutdown', () => {
    it('waits for audited operations in progress, then writes their events', async () => {
      const queue = new AuditEventQueue({ logger, flushIntervalMs: 60000 });
      const written: string[] = [];
      queue.attachSink(async batch => {
        written.push(...batch.map(e => e.eventId));
      });
      const ended = queue.beginEvent();
      await queue.enqueue(event(1));
      setTimeout(async () => {
        await queue.enqueue(event(2));
        ended();
      }, 100);
      await queue.drainOnShutdown();
      expect(written).toEqual(['e-1', 'e-2']);
      // the sink stays attached: a request completing later is still written
      await queue.enqueue(event(3));
      await queue.close();
      expect(written).toEqual(['e-1', 'e-2', 'e-3']);
    });

    it('stops waiting after maxShutdownWaitMs', async () => {
      const warnings = mockServices.logger.mock();
      const queue = new AuditEventQueue({
        logger: warnings,
        maxShutdownWaitMs: 50,
      });
      queue.beginEvent(); // never ends
      jest.useFakeTimers();
      try {
        let drained = false;
        const draining = queue.drainOnShutdown().then(() => {
          drained = true;
        });
        await jest.advanceTimersByTimeAsync(49);
        expect(drained).toBe(false);
        await jest.advanceTimersByTimeAsync(1);
        expect(drained).toBe(true);
        await draining;
      } finally {
        jest.useRealTimers();
      }
      await queue.close();
      expect(warnings.warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^Stopped waiting for 1 audited operation\(s\) in progress after 50 ms/,
        ),
      );
    });

    it('reports failed writes while stopping in one loss record at close, with an error line with the counts', async () => {
      const errors = mockServices.logger.mock();
      const queue = new AuditEventQueue({ logger: errors, batchSize: 2 });
      const losses: AuditGapInfo[] = [];
      queue.recordLossesWith(loss => losses.push(loss));
      let writes = 0;
      queue.attachSink(async () => {
        writes += 1;
        throw new Error('Unable to acquire a connection');
      });
      for (let i = 1; i <= 3; i++) {
        await queue.enqueue(event(i));
      }
      await queue.drainOnShutdown();
      // not retried: each batch is tried once
      expect(writes).toBe(2);
      await queue.close();
      expect(losses).toEqual([
        {
          dropped: 3,
          firstOccurredAt: event(1).occurredAt,
          lastOccurredAt: event(3).occurredAt,
          reasons: { 'database unavailable while the backend stopped': 3 },
          bySeverity: { low: 3 },
          byEvent: {
            'test.e-1 (low)': 1,
            'test.e-2 (low)': 1,
            'test.e-3 (low)': 1,
          },
        },
      ]);
      expect(errors.error).toHaveBeenCalledTimes(1);
      expect(errors.error).toHaveBeenCalledWith(
        `Audit events lost while the backend stopped: 3 events dropped between ${
          event(1).occurredAt
        } and ${
          event(3).occurredAt
        } because database unavailable while the backend stopped (3); by severity: low 3 (Error: Unable to acquire a connection)`,
      );
      expect(queue.stats()).toMatchObject({
        buffered: 0,
        dropped: 3,
        unrecordedDrops: 0,
      });
    });

    it('reports what is left when it closes, and the events enqueued after in one more loss record', async () => {
      const errors = mockServices.logger.mock();
      const queue = new AuditEventQueue({ logger: errors });
      const losses: AuditGapInfo[] = [];
      queue.recordLossesWith(loss => losses.push(loss));
      // no store ever attached
      await queue.enqueue(event(1));
      await queue.enqueue(event(2));
      await queue.close();
      expect(losses.map(l => [l.dropped, l.reasons])).toEqual([
        [2, { 'not stored before the backend stopped': 2 }],
      ]);
      for (let i = 3; i <= 402; i++) {
        await queue.enqueue(event(i));
      }
      expect(queue.stats()).toMatchObject({ unrecordedDrops: 400 });
      await new Promise(resolve => setTimeout(resolve, LATE_LOSS_WAIT_MS));
      expect(losses).toEqual([
        expect.objectContaining({ dropped: 2 }),
        expect.objectContaining({
          dropped: 400,
          firstOccurredAt: event(3).occurredAt,
          lastOccurredAt: event(402).occurredAt,
          reasons: { 'audited after the backend stopped': 400 },
          bySeverity: { low: 400 },
        }),
      ]);
      // one count per event, up to 50 of them
      const byEvent = losses[1].byEvent!;
      expect(Object.keys(byEvent)).toHaveLength(51);
      expect(byEvent).toMatchObject({
        'test.e-3 (low)': 1,
        'test.e-52 (low)': 1,
        'other events': 350,
      });
      expect(errors.error).toHaveBeenCalledTimes(2);
      expect(queue.stats()).toMatchObject({
        buffered: 0,
        dropped: 402,
        unrecordedDrops: 0,
      });
    });

    it('writes events enqueued later still when the process exits, in one loss record', async () => {
      // a process of its own: the queue's exit hook runs when it exits
      const script = `
        const { AuditEventQueue } = require(${JSON.stringify(
          require.resolve('./AuditEventQueue'),
        )});
        const logger = { error() {}, warn() {}, info() {}, debug() {}, child() { return logger; } };
        const queue = new AuditEventQueue({ logger });
        queue.recordLossesWith(loss => process.stdout.write(JSON.stringify(loss) + '\\n'));
        const event = n => ({ occurredAt: new Date(1700000000000 + n).toISOString(), plugin: 'test', eventId: 'e-' + n, severity: 'low', status: 'initiated', target: {} });
        (async () => {
          await queue.enqueue(event(1));
          await queue.close();
          for (let i = 2; i <= 401; i++) await queue.enqueue(event(i));
          setTimeout(async () => {
            for (let i = 402; i <= 450; i++) await queue.enqueue(event(i));
          }, ${LATE_LOSS_WAIT_MS});
        })();
      `;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['-r', require.resolve('sucrase/register'), '-e', script],
        { timeout: 20000 },
      );
      const losses = stdout
        .trim()
        .split('\n')
        .map(line => JSON.parse(line));
      expect(losses.map(l => [l.dropped, l.reasons])).toEqual([
        [1, { 'not stored before the backend stopped': 1 }],
        [400, { 'audited after the backend stopped': 400 }],
        [49, { 'audited after the backend stopped': 49 }],
      ]);
    }, 30000);
  });
});
