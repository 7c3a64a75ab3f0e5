import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

/** A chart preview: `helm template` in the shared pool of helm processes. */
const chartPreview = {
  kind: 'chart',
  cluster: 'dev',
  namespace: 'team-a',
  release: {
    name: 'web',
    chart: 'webapp',
    values: {
      replicas: 1,
      image: { repository: 'registry.example.com/web', tag: '1' },
    },
  },
};

describe('previews and policy checks per caller', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const as = (who: string) => mockCredentials.user.header(who);
  const preview = (who: string) =>
    request(server)
      .post('/api/kubechart/runs/preview')
      .set('Authorization', as(who))
      .send(chartPreview);
  const check = (who: string) =>
    request(server)
      .post('/api/kubechart/policy/check')
      .set('Authorization', as(who))
      .send({ namespace: 'team-a', release: chartPreview.release });

  beforeAll(async () => {
    sim = await startSim();
    const config = testConfig(sim, { health: { startOnBoot: false } });
    config.kubechart.limits = {
      ...config.kubechart.limits,
      previewsPerUserAtOnce: 2,
      previewsPerUserPerMinute: 12,
    } as any;
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

  it("answers one caller's flood with 429 beyond kubechart.limits.previewsPerUserAtOnce, and still serves another user", async () => {
    const flood = Array.from({ length: 6 }, (_, i) =>
      i % 2 ? check(ALICE) : preview(ALICE),
    );
    const other = preview(BOB);
    const answers = await Promise.all(flood);
    expect((await other).status).toBe(200);
    const statuses = answers.map(a => a.status);
    expect(statuses.filter(s => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter(s => s === 200).length).toBeLessThanOrEqual(2);
    const refused = answers.filter(a => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    for (const r of refused)
      expect(r.body.error.message).toBe(
        `${ALICE} already has 2 previews or policy checks under way, the most one caller may have at once (kubechart.limits.previewsPerUserAtOnce); wait for them to finish`,
      );
    // Once they finished, the caller is served again.
    expect((await preview(ALICE)).status).toBe(200);
  });

  it('refuses more than kubechart.limits.previewsPerUserPerMinute in a minute with 429, naming the limit', async () => {
    // bob used 1 of his 12 above.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await check(BOB)).status);
    expect(statuses).toEqual(Array(11).fill(200));
    const over = await check(BOB);
    expect(over.status).toBe(429);
    expect(over.body.error.message).toBe(
      `${BOB} asked for 12 previews or policy checks in the last minute; the limit is 12 per minute (kubechart.limits.previewsPerUserPerMinute). Try again shortly.`,
    );
  });
});
