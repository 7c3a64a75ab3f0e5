import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

/** The longest refusal a hostile body may get: a few problems, each cut short. */
const MAX_REFUSAL_CHARS = 4000;

/**
 * A body that costs little to send must cost the backend little to refuse: one request of a
 * megabyte or two used to hold the event loop for seconds (each of 900,000 array items validated
 * and reported, or each of a million parsed objects walked) and answered with megabytes of error.
 * Its refusal is now a 400 or 413 naming the bound it broke, a few hundred characters long.
 */
describe('request bodies', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let runId: string;

  const post = (path: string) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', mockCredentials.user.header());
  /** Posts JSON text as it is (a large body built as text, not by supertest's JSON.stringify). */
  const postText = (path: string, text: string) =>
    post(path).set('Content-Type', 'application/json').send(text);

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-b': { owner: 'user:default/mock' } } },
        },
      }),
    });
    server = backend.server;
    stop = () => backend.stop();
    const recorded = await post('/runs/record').send({
      kind: 'custom',
      action: 'acme:x:y',
      target: { cluster: 'dev', namespace: 'team-b' },
    });
    if (recorded.status !== 201)
      throw new Error(`recorded run refused: ${recorded.text}`);
    runId = recorded.body.id;
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  const tenant = { kind: 'tenant', cluster: 'dev', tenant: 't', releases: [] };

  it.each([
    [
      'credentials of 90,000 items',
      '/runs',
      () => ({ ...tenant, credentials: Array(90_000).fill(0) }),
      /^Invalid run request: credentials: at most 20 items, not 90000$/,
    ],
    [
      'releases of 45,000 items',
      '/runs/preview',
      () => ({ ...tenant, releases: Array(45_000).fill({}) }),
      /^Invalid run request: releases: at most 20 items, not 45000$/,
    ],
    [
      'a quota of 45,000 quantities',
      '/runs',
      () => ({
        ...tenant,
        quota: {
          hard: Object.fromEntries(
            Array.from({ length: 45_000 }, (_, i) => [`q${i}`, i]),
          ),
        },
      }),
      /^Invalid run request: quota\.hard: at most 100 keys, not 45000$/,
    ],
    [
      'values of 45,000 keys',
      '/runs/preview',
      () => ({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'team-b',
        release: {
          name: 'w',
          chart: 'webapp',
          values: Object.fromEntries(
            Array.from({ length: 45_000 }, (_, i) => [`v${i}`, i]),
          ),
        },
      }),
      /^Invalid run request: release\.values: at most 1000 keys, not 45000$/,
    ],
    [
      '45,000 fields nobody asked for',
      '/runs',
      () => ({
        ...tenant,
        ...Object.fromEntries(
          Array.from({ length: 45_000 }, (_, i) => [`f${i}`, i]),
        ),
      }),
      /^Invalid run request: \(root\): Unrecognized key\(s\) in object: 'f0', 'f1', .*'f9' and 44990 more$/,
    ],
  ])(
    'refuses a run request with %s in a short 400 naming the limit',
    async (_name, path, body, message) => {
      const r = await post(path).send(body());
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(message);
      expect(r.text.length).toBeLessThan(MAX_REFUSAL_CHARS);
    },
  );

  it('refuses 45,000 events in a short 400 naming the limit', async () => {
    const r = await post(`/runs/${runId}/events`).send({
      events: Array(45_000).fill({}),
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(
      'Invalid events: events: at most 1000 items, not 45000',
    );
    expect(r.text.length).toBeLessThan(MAX_REFUSAL_CHARS);
  });

  it('lists the first ten problems of a refused request and counts the rest', async () => {
    const r = await post('/runs').send({
      ...tenant,
      releases: Array(20).fill({ name: 1, chart: 2, version: 3 }),
    });
    expect(r.status).toBe(400);
    const message: string = r.body.error.message;
    expect(message).toMatch(/^Invalid run request: releases\.0\.name: /);
    expect(message).toMatch(/; and 50 more problems$/);
    expect(message.split('; ')).toHaveLength(11);
  });

  it('cuts a problem that quotes a long value', async () => {
    const r = await post(`/runs/${runId}/events`).send({
      events: [{ message: 'x', level: 'e'.repeat(1_000_000) }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^Invalid events: events\.0\.level: /);
    expect(r.text.length).toBeLessThan(MAX_REFUSAL_CHARS);
  });

  it('counts the nodes of a body before parsing it', async () => {
    // 150,001 objects in 450 kB: the bound is on nodes, before JSON.parse builds any of them.
    const text = `{"events":[${'{},'.repeat(150_000)}{}]}`;
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const r = await postText(`/runs/${runId}/events`, text);
      expect(
        parse.mock.calls.filter(([t]) => String(t).length >= text.length),
      ).toEqual([]);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe(
        'Request body refused: more than 100000 nodes; the limit maxNodes is 100000',
      );
    } finally {
      parse.mockRestore();
    }
  });

  it.each([
    ['a route that does not exist', '/no-such-route'],
    ['a run decision', '/runs/x/approve'],
    ['a re-apply', '/runs/x/reapply'],
  ])(
    'refuses a body over 100 KiB to %s with a 413, before parsing it',
    async (_name, path) => {
      const text = `[${'{},'.repeat(989_999)}{}]`; // 990,000 objects, 3 MB
      const r = await postText(path, text);
      expect(r.status).toBe(413);
      expect(r.body.error.message).toMatch(
        /^Request body refused: larger than 100 KiB, the most this route accepts/,
      );
    },
  );

  it('still takes large bodies where a run needs them', async () => {
    const events = await post(`/runs/${runId}/events`).send({
      events: Array.from({ length: 1000 }, (_, i) => ({
        message: `${i} ${'x'.repeat(2000)}`,
      })),
    });
    expect(events.status).toBe(204);
    // 4 MB in four documents of 1 MB (a document may hold 1.5 MiB).
    const finished = await post(`/runs/${runId}/finish`).send({
      status: 'succeeded',
      manifest: [1, 2, 3, 4]
        .map(
          i =>
            `kind: ConfigMap\nmetadata:\n  name: big-${i}\ndata:\n  a: ${'y'.repeat(
              1_000_000,
            )}\n`,
        )
        .join('---\n'),
    });
    expect(finished.status).toBe(204);
  });
});
