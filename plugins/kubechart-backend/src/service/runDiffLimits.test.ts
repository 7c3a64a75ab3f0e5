import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';
import { runDiff } from './runDiff';

// The run diff as it is; a test holds the diffs under way until it lets them go.
jest.mock('./runDiff', () => {
  const actual = jest.requireActual('./runDiff');
  return { ...actual, runDiff: jest.fn(actual.runDiff) };
});
const { runDiff: actualRunDiff } = jest.requireActual('./runDiff');

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

describe('run diffs per caller', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const as = (who: string) => mockCredentials.user.header(who);
  const diff = (who: string, a: string, b: string) =>
    request(server)
      .get(`/api/kubechart/runs/${a}/diff/${b}`)
      .set('Authorization', as(who))
      .then(r => r);
  const record = async (who: string, namespace: string, manifest: string) => {
    const r = await request(server)
      .post('/api/kubechart/runs/record')
      .set('Authorization', as(who))
      .send({
        kind: 'custom',
        action: 'acme:x:y',
        target: { cluster: 'dev', namespace },
      });
    expect(r.status).toBe(201);
    const done = await request(server)
      .post(`/api/kubechart/runs/${r.body.id}/finish`)
      .set('Authorization', as(who))
      .send({ status: 'succeeded', manifest });
    expect(done.status).toBe(204);
    return r.body.id as string;
  };

  beforeAll(async () => {
    sim = await startSim();
    const config = testConfig(sim, {
      health: { startOnBoot: false },
      clusters: {
        dev: {
          namespaces: {
            'alice-1': { owner: ALICE },
            'bob-1': { owner: BOB },
          },
        },
      },
    });
    const backend = await startKubechartBackend({
      config,
      features: [capturingAuditor([])],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it("answers a caller's third diff under way with 429, still serves another caller, and serves the first once its diffs end", async () => {
    const cm = (v: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: "${v}"\n`;
    const [a1, a2] = [
      await record(ALICE, 'alice-1', cm('1')),
      await record(ALICE, 'alice-1', cm('2')),
    ];
    const [b1, b2] = [
      await record(BOB, 'bob-1', cm('1')),
      await record(BOB, 'bob-1', cm('2')),
    ];
    // The first two diffs are held until released; any later one runs at once.
    let release = () => {};
    const held = new Promise<void>(r => {
      release = r;
    });
    const diffing = runDiff as jest.Mock;
    diffing.mockImplementation(async (...args: unknown[]) => {
      if (diffing.mock.calls.length <= 2) await held;
      return actualRunDiff(...args);
    });
    try {
      const first = [diff(ALICE, a1, a2), diff(ALICE, a2, a1)];
      for (let i = 0; i < 600 && diffing.mock.calls.length < 2; i++)
        await new Promise(r => setTimeout(r, 20));
      expect(diffing).toHaveBeenCalledTimes(2);
      const third = await diff(ALICE, a1, a2);
      expect(third.status).toBe(429);
      expect(third.body.error.message).toBe(
        `${ALICE} already has 2 run diffs under way, the most one caller may have at once; wait for them to finish`,
      );
      // Another caller is served meanwhile.
      const other = await diff(BOB, b1, b2);
      expect(other.status).toBe(200);
      expect(other.body.manifest).toContain('+  v: "2"');
      release();
      for (const answer of await Promise.all(first)) {
        expect(answer.status).toBe(200);
        expect(answer.body.manifest).toContain('+  v: "');
      }
    } finally {
      release();
    }
    expect((await diff(ALICE, a1, a2)).status).toBe(200);
  });
});
