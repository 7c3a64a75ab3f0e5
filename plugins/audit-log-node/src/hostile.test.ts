import {
  AuditorService,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import {
  AuditEventInput,
  redactText,
} from '@kubechart/plugin-audit-log-common';
import { auditLogAuditorServiceFactory } from './auditorServiceFactory';
import { auditLogQueueServiceRef } from './queueServiceRef';
import {
  META_LIMITS,
  REDACTED,
  SECRET_KEY_PATTERN,
  redactSecrets,
} from './redact';

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
  // what a scaffolder dry-run puts in its outcome (`parameters` of the template in the request
  // body): 5000 keys of 256 characters of free text that is slow to redact (1.3 MB)
  '5000 long keys of free text': () => ({
    parameters: Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => [
        `${i}${'a: --token '.repeat(30)}`.slice(0, 256),
        1,
      ]),
    ),
  }),
};

jest.mock('@kubechart/plugin-audit-log-common', () => {
  const actual = jest.requireActual('@kubechart/plugin-audit-log-common');
  return { ...actual, redactText: jest.fn(actual.redactText) };
});

/**
 * Runs `work` on `body` and counts the work it does: the values read out of `body` (each read of
 * a property of it or of an object or list inside it), the characters of text the free-text rules
 * (`redactText`) are run on and those of keys matched against {@link SECRET_KEY_PATTERN}. Counts,
 * not time: the machine may be busy, and a walk bounded by {@link META_LIMITS} stays as small
 * however large the body.
 */
async function workOn<T>(
  body: JsonObject,
  work: (body: JsonObject) => Promise<T> | T,
): Promise<{
  result: T;
  valueReads: number;
  /** Texts run through `redactText`, and their characters. */
  redactedTexts: number;
  redactedChars: number;
  /** Keys matched against the key pattern, and their characters. */
  matchedKeys: number;
  matchedKeyChars: number;
}> {
  const tally = {
    valueReads: 0,
    redactedTexts: 0,
    redactedChars: 0,
    matchedKeys: 0,
    matchedKeyChars: 0,
  };
  const proxies = new WeakMap<object, object>();
  const counted = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    let proxy = proxies.get(value);
    if (!proxy) {
      proxy = new Proxy(value, {
        get(target, key, receiver) {
          tally.valueReads++;
          return counted(Reflect.get(target, key, receiver));
        },
      });
      proxies.set(value, proxy);
    }
    return proxy;
  };
  const redact = jest.mocked(redactText);
  const matched = jest.spyOn(SECRET_KEY_PATTERN, 'test');
  redact.mockClear();
  try {
    const result = await work(counted(body) as JsonObject);
    for (const [text] of redact.mock.calls) {
      tally.redactedTexts++;
      tally.redactedChars += text.length;
    }
    for (const [key] of matched.mock.calls) {
      tally.matchedKeys++;
      tally.matchedKeyChars += key.length;
    }
    return { result, ...tally };
  } finally {
    matched.mockRestore();
  }
}

/**
 * Checks that a redaction stayed within {@link META_LIMITS}, whatever the body: each value the walk
 * may visit read at most twice (a list's `length` and its item), at most two texts through the
 * free-text rules for each (its key and its value), no more characters through them than the
 * string budget, keys and values together, and at most the key text budget matched. A walk or a
 * scan past a limit reads the whole hostile body: hundreds of thousands of values or millions of
 * characters.
 */
function expectBounded(work: Awaited<ReturnType<typeof workOn>>) {
  expect(work.valueReads).toBeLessThanOrEqual(2 * META_LIMITS.maxNodes + 10);
  expect(work.redactedTexts).toBeLessThanOrEqual(2 * META_LIMITS.maxNodes + 10);
  expect(work.redactedChars).toBeLessThanOrEqual(
    META_LIMITS.maxTotalStringLength,
  );
  expect(work.matchedKeys).toBeLessThanOrEqual(META_LIMITS.maxNodes + 10);
  expect(work.matchedKeyChars).toBeLessThanOrEqual(
    META_LIMITS.maxScannedKeyChars,
  );
}

describe('hostile audit event metadata', () => {
  beforeAll(() => {
    // compile the walk before timing it
    redactSecrets(hostileBodies['many medium strings']());
  });

  it.each(Object.keys(hostileBodies))(
    'redacts %s within the metadata limits and keeps a bounded copy',
    async name => {
      const work = await workOn(hostileBodies[name](), redactSecrets);
      expectBounded(work);
      const out = work.result;
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

  it('shows no key past the string budget, and hides the secrets in the keys it shows', () => {
    const repositories = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [
        `${i} https://app:s3cr3t-${i}@charts.example.com/${'x'.repeat(200)}`,
        'ok',
      ]),
    );
    const meta = {
      repositories,
      [`${'y'.repeat(300)}password`]: 'hunter2',
    };
    const out = redactSecrets(meta);
    const text = JSON.stringify(out);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('hunter2');
    const placeholder = /^\[member \d+: name not shown\]$/;
    const keys = Object.keys(out.repositories as JsonObject);
    const shown = keys.filter(key => !placeholder.test(key));
    // the keys past the budget are placeholders; those before it went through the rules
    expect(keys).toHaveLength(400);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(400);
    expect(shown.join('').length).toBeLessThanOrEqual(
      META_LIMITS.maxTotalStringLength,
    );
    // a secret-named key past the budget: its name is not shown, its value still hidden
    const last = Object.entries(out).find(([key]) => key !== 'repositories');
    expect(last).toEqual([expect.stringMatching(placeholder), REDACTED]);
    // the store bounds what the auditor bounded again: it comes out unchanged
    expect(redactSecrets(out)).toEqual(out);
  });

  it('the auditor records each hostile body reading no more of it than the metadata limits allow', async () => {
    const stored: AuditEventInput[] = [];
    let audit: (meta: JsonObject) => Promise<void> = async () => {};
    let auditorOf!: AuditorService;
    const testPlugin = createBackendPlugin({
      pluginId: 'demo',
      register(env) {
        env.registerInit({
          deps: {
            auditor: coreServices.auditor,
            queue: auditLogQueueServiceRef,
          },
          async init({ auditor, queue }) {
            auditorOf = auditor;
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
        // redacted once for the event and its outcome, never walked whole
        expectBounded(await workOn(hostileBodies[name](), record));
      }
      expect(stored).toHaveLength(Object.keys(hostileBodies).length * 2);
      stored.length = 0;
      // in the outcome (as the scaffolder's dry-run sends its template's parameters): the event
      // and its outcome are redacted within one string budget
      const withOutcome = async (meta: JsonObject) => {
        const event = await auditorOf.createEvent({
          eventId: 'task',
          meta: { actionType: 'dry-run' },
        });
        await event.success({ meta });
      };
      for (const name of Object.keys(hostileBodies)) {
        expectBounded(await workOn(hostileBodies[name](), withOutcome));
      }
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
