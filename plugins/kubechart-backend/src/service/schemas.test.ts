import { InputError } from '@backstage/errors';
import {
  appendEventsSchema,
  createRunSchema,
  finishRunSchema,
  parse,
  policyCheckSchema,
  recordRunSchema,
} from './schemas';

/**
 * `target` behind a proxy that counts the items (array elements, object values) read from it:
 * the work validation does on an input of a million items, whatever validates it.
 */
function counted<T extends object>(target: T) {
  const reads = { count: 0 };
  const proxy = new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string' && key !== 'length') reads.count++;
      return Reflect.get(t, key, receiver);
    },
  });
  return { proxy, reads };
}

const N = 20_000;
const manyKeys = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('parse', () => {
  const tenant = { kind: 'tenant', cluster: 'dev', tenant: 't', releases: [] };

  it.each([
    [
      'credentials',
      createRunSchema,
      (list: object) => ({ ...tenant, credentials: list }),
      () => Array(N).fill(0),
      'Invalid run request: credentials: at most 20 items, not 20000',
    ],
    [
      'releases',
      createRunSchema,
      (list: object) => ({ ...tenant, releases: list }),
      () => Array(N).fill({}),
      'Invalid run request: releases: at most 20 items, not 20000',
    ],
    [
      'quota quantities',
      createRunSchema,
      (list: object) => ({ ...tenant, quota: { defaultLimits: list } }),
      () => manyKeys(N),
      'Invalid run request: quota.defaultLimits: at most 100 keys, not 20000',
    ],
    [
      'release values',
      policyCheckSchema,
      (list: object) => ({
        namespace: 'a',
        release: { name: 'w', chart: 'c', values: list },
      }),
      () => manyKeys(N),
      'Invalid policy check: release.values: at most 1000 keys, not 20000',
    ],
    [
      'events',
      appendEventsSchema,
      (list: object) => ({ events: list }),
      () => Array(N).fill({}),
      'Invalid events: events: at most 1000 items, not 20000',
    ],
    [
      'a recorded run input',
      recordRunSchema,
      (list: object) => ({
        kind: 'custom',
        target: { cluster: 'dev', namespace: 'a' },
        input: list,
      }),
      () => manyKeys(N),
      'Invalid recorded run: input: at most 1000 keys, not 20000',
    ],
    [
      'finished values',
      finishRunSchema,
      (list: object) => ({ status: 'succeeded', values: list }),
      () => manyKeys(N),
      'Invalid finish request: values: at most 1000 keys, not 20000',
    ],
  ])(
    'refuses %s over their limit without reading them',
    (_name, schema, body, list, message) => {
      const { proxy, reads } = counted(list());
      const what = message.match(/^Invalid ([^:]+):/)![1];
      expect(refusal(() => parse(schema as any, body(proxy), what))).toBe(
        message,
      );
      expect(reads.count).toBeLessThan(50);
    },
  );

  it('names a few unknown fields of a closed object and counts the rest, reading none of them', () => {
    const { proxy, reads } = counted({ ...tenant, ...manyKeys(N) });
    expect(refusal(() => parse(createRunSchema, proxy, 'run request'))).toMatch(
      /^Invalid run request: \(root\): Unrecognized key\(s\) in object: 'k0', 'k1', .*'k9' and 19990 more$/,
    );
    expect(reads.count).toBeLessThan(50);
    const events = counted({ message: 'x', ...manyKeys(N) });
    expect(
      refusal(() =>
        parse(appendEventsSchema, { events: [events.proxy] }, 'events'),
      ),
    ).toMatch(
      /^Invalid events: events\.0: Unrecognized key\(s\) in object: 'k0', /,
    );
    expect(events.reads.count).toBeLessThan(50);
  });

  it('keeps a refusal short whatever the input says', () => {
    const message = refusal(() =>
      parse(
        createRunSchema,
        {
          ...tenant,
          quota: { hard: { ['q'.repeat(100_000)]: 'x'.repeat(100) } },
          releases: Array(20).fill({ name: 'w'.repeat(1000), chart: 1 }),
        },
        'run request',
      ),
    );
    expect(message.length).toBeLessThan(4000);
    expect(message).toMatch(/; and \d+ more problems$/);
  });

  it('accepts what it accepted before', () => {
    expect(
      parse(
        createRunSchema,
        {
          ...tenant,
          releases: Array(20).fill({
            name: 'w',
            chart: 'webapp',
            values: manyKeys(1000),
          }),
          credentials: Array(20).fill('c'),
          quota: { hard: manyKeys(0) },
        },
        'run request',
      ),
    ).toMatchObject({ kind: 'tenant', releases: { length: 20 } });
    expect(
      parse(
        appendEventsSchema,
        { events: Array(1000).fill({ message: 'm' }) },
        'events',
      ).events,
    ).toHaveLength(1000);
  });
});
