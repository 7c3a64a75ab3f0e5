import { mockServices } from '@backstage/backend-test-utils';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import {
  APPEND_OWNERS_PAUSE_MS,
  APPEND_OWNERS_TIMEOUT_MS,
  createOwnerRecorder,
  ENTITY_OWNER_META_KEY,
} from './entityOwners';

const change = (entityRef?: string, meta?: object): AuditEventInput => ({
  occurredAt: '2026-01-01T00:00:00.000Z',
  plugin: 'changes',
  eventId: 'thing-change',
  severity: 'medium',
  status: 'succeeded',
  target: entityRef ? { entityRef } : {},
  meta: { ...(entityRef ? { entityRef } : {}), ...meta },
});

describe('createOwnerRecorder', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('asks the catalog once a batch, for each entity once, and records owners in copies of the events', async () => {
    const asked: string[][] = [];
    const record = createOwnerRecorder({
      owners: async refs => {
        asked.push(refs);
        return new Map([['component:default/web', 'group:default/team-a']]);
      },
      logger: mockServices.logger.mock(),
    });
    const batch = [
      change('component:default/web'),
      change('Component:web'),
      change('component:default/gone'),
      change(undefined, { [ENTITY_OWNER_META_KEY]: 'group:default/team-b' }),
      change('not an entity ref'),
    ];
    const offered = JSON.parse(JSON.stringify(batch));
    const recorded = await record(batch);
    expect(asked).toEqual([
      ['component:default/web', 'component:default/gone'],
    ]);
    expect(recorded.map(e => e.meta?.[ENTITY_OWNER_META_KEY])).toEqual([
      'group:default/team-a',
      'group:default/team-a',
      undefined,
      undefined,
      undefined,
    ]);
    // what a plugin put under the audit log's key is gone, and the rest of its meta kept
    expect(recorded[3].meta).toBeUndefined();
    // the queue may offer the same batch again: it is as it was
    expect(batch).toEqual(offered);
  });

  it('records no owners while a catalog that did not answer in time is paused, and asks again after', async () => {
    jest.useFakeTimers();
    let calls = 0;
    const logger = mockServices.logger.mock();
    const record = createOwnerRecorder({
      owners: () => {
        calls += 1;
        return new Promise(() => {}); // never answers
      },
      logger,
    });
    const first = record([change('component:default/web')]);
    await jest.advanceTimersByTimeAsync(APPEND_OWNERS_TIMEOUT_MS);
    expect((await first)[0].meta).toEqual({
      entityRef: 'component:default/web',
    });
    expect(logger.warn).toHaveBeenCalledTimes(1);

    // within the pause, the batch is appended without asking
    const second = await record([change('component:default/web')]);
    expect(second[0].meta).toEqual({ entityRef: 'component:default/web' });
    expect(calls).toBe(1);

    await jest.advanceTimersByTimeAsync(APPEND_OWNERS_PAUSE_MS);
    const third = record([change('component:default/web')]);
    await jest.advanceTimersByTimeAsync(APPEND_OWNERS_TIMEOUT_MS);
    await third;
    expect(calls).toBe(2);
    // one warning for the whole time the catalog could not be read
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('asks again with the next batch after a catalog that refused at once', async () => {
    let calls = 0;
    const record = createOwnerRecorder({
      owners: async () => {
        calls += 1;
        if (calls === 1) throw new Error('connect ECONNREFUSED');
        return new Map([['component:default/web', 'group:default/team-a']]);
      },
      logger: mockServices.logger.mock(),
    });
    expect(
      (await record([change('component:default/web')]))[0].meta?.[
        ENTITY_OWNER_META_KEY
      ],
    ).toBeUndefined();
    expect(
      (await record([change('component:default/web')]))[0].meta?.[
        ENTITY_OWNER_META_KEY
      ],
    ).toBe('group:default/team-a');
  });
});
