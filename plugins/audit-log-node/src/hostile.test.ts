import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from './auditorServiceFactory';
import { auditLogQueueServiceRef } from './queueServiceRef';
import { META_LIMITS, REDACTED, redactSecrets } from './redact';

/**
 * Hostile event metadata: what an audited request may carry into
 * `auditor.createEvent({ meta })`. Each is about 5 MB of JSON.
 */
const MB = 1024 * 1024;
const hostileBodies: Record<string, () => JsonObject> = {
  'one 5 MB string': () => ({ message: 'a'.repeat(5 * MB) }),
  '5 MB of secret-looking key text': () => ({
    ['passwor'.repeat((5 * MB) / 7)]: 'x',
    ['x'.repeat(5 * MB)]: 'y',
  }),
  // all of it matched: as much key text as one event may have scanned
  'secret-looking keys filling the scan budget': () =>
    Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [
        `${i}:${'passwor'.repeat(1160)}`,
        'x',
      ]),
    ),
  // A 5 MB object of 330,000 keys costs the JSON parser ~0.7 s before any
  // audit code sees it; a plugin's body limit bounds that, not redaction.
  '65,000 keys (1 MB)': () =>
    Object.fromEntries(
      Array.from({ length: MB / 16 }, (_, i) => [`key${i}`, 'v']),
    ),
  '1.3 million array items': () => ({
    list: Array.from({ length: (5 * MB) / 4 }, () => 1),
  }),
  '100,000 levels of nesting': () => {
    let inner: JsonObject = { leaf: 'x' };
    for (let i = 0; i < 100000; i++) {
      inner = { next: inner };
    }
    return inner;
  },
  'many medium strings': () => ({
    list: Array.from({ length: 600 }, () => 's'.repeat(8 * 1024)),
  }),
};

/**
 * Runs `work` while a 10 ms timer ticks and returns the longest time the
 * event loop failed to answer that timer. The test machine is shared, so a
 * wall-clock gap may also be time this process was not scheduled, and CPU
 * time also counts the garbage collector's helper threads; a real block of
 * the loop shows up in both, so each gap counts as the smaller of the two.
 */
async function longestStallOnce(work: () => Promise<unknown>): Promise<number> {
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let lastCpu = cpuMs();
  let lastWall = performance.now();
  let longest = 0;
  const tick = () => {
    const cpu = cpuMs();
    const wall = performance.now();
    longest = Math.max(longest, Math.min(cpu - lastCpu, wall - lastWall));
    lastCpu = cpu;
    lastWall = wall;
  };
  const timer = setInterval(tick, 10);
  try {
    await work();
    await new Promise(r => setTimeout(r, 30));
  } finally {
    clearInterval(timer);
  }
  tick();
  return longest;
}

/**
 * The smallest of three measurements: a real block of the loop shows up in
 * every run, a pause of the shared machine rarely in all three.
 */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3 && best >= 200; i++) {
    best = Math.min(best, await longestStallOnce(work));
  }
  return best;
}

describe('hostile audit event metadata', () => {
  beforeAll(() => {
    // compile the walk before timing it
    redactSecrets(hostileBodies['many medium strings']());
  });

  it.each(Object.keys(hostileBodies))(
    'redacts %s without stalling the event loop and keeps a bounded copy',
    async name => {
      const body = hostileBodies[name]();
      let out: JsonObject = {};
      const stall = await longestStall(async () => {
        out = redactSecrets(body);
      });
      expect(stall).toBeLessThan(200);
      expect(JSON.stringify(out).length).toBeLessThan(
        META_LIMITS.maxTotalStringLength + 200 * 1024,
      );
    },
  );

  it('redacts the values of keys too long to scan', () => {
    const out = redactSecrets(
      hostileBodies['5 MB of secret-looking key text'](),
    );
    expect(Object.values(out)).toEqual([REDACTED, REDACTED]);
    const scanned =
      hostileBodies['secret-looking keys filling the scan budget']();
    expect(Object.values(redactSecrets(scanned))).toEqual(
      Object.values(scanned),
    );
  });

  it('still redacts a secret whose key is longer than the key limit', () => {
    const out = redactSecrets({ [`${'x'.repeat(300)}password`]: 'hunter2' });
    expect(JSON.stringify(out)).not.toContain('hunter2');
    const key = `aPassword${'x'.repeat(1000)}`;
    expect(Object.values(redactSecrets({ [key]: 'hunter2' }))).toEqual([
      REDACTED,
    ]);
  });

  it('the auditor answers a concurrent timer within 200 ms while recording each hostile body', async () => {
    const stored: AuditEventInput[] = [];
    let audit: (meta: JsonObject) => Promise<void> = async () => {};
    const testPlugin = createBackendPlugin({
      pluginId: 'demo',
      register(env) {
        env.registerInit({
          deps: {
            auditor: coreServices.auditor,
            queue: auditLogQueueServiceRef,
          },
          async init({ auditor, queue }) {
            queue.attachSink(async batch => {
              stored.push(...batch);
            });
            audit = async meta => {
              const event = await auditor.createEvent({
                eventId: 'hostile',
                meta,
              });
              await event.success();
              await queue.drain();
            };
          },
        });
      },
    });
    const backend = await startTestBackend({
      features: [
        testPlugin,
        auditLogAuditorServiceFactory,
        mockServices.rootLogger.factory({ level: 'none' }),
      ],
    });
    try {
      const record = audit;
      for (const name of Object.keys(hostileBodies)) {
        const body = hostileBodies[name]();
        const stall = await longestStall(() => record(body));
        expect({ name, stalled: stall < 200 }).toEqual({
          name,
          stalled: true,
        });
      }
      expect(stored).toHaveLength(Object.keys(hostileBodies).length * 2);
      for (const event of stored) {
        expect(JSON.stringify(event.meta).length).toBeLessThan(
          META_LIMITS.maxTotalStringLength + 200 * 1024,
        );
      }
    } finally {
      await backend.stop();
    }
  });
});
