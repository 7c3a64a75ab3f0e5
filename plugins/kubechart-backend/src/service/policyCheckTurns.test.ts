import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  PolicyRule,
  kubechartPolicyRulesExtensionPoint,
} from '@kubechart/plugin-kubechart-node';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(180_000);

/**
 * For each object the policy judged, in order: whether other work (a callback queued while the
 * object before it was judged) ran before it was judged. A check that holds the event loop for a
 * whole release lets nothing run between its objects: no other request of any user is answered.
 */
let otherWorkRan: boolean[] = [];
let ranSinceLast = false;
const turnObserver: PolicyRule = {
  id: 'turn-observer',
  defaultSeverity: 'info',
  description: 'observes the event loop between the objects of a check',
  fix: 'none',
  check: () => {
    otherWorkRan.push(ranSinceLast);
    ranSinceLast = false;
    setImmediate(() => {
      ranSinceLast = true;
    });
    return [];
  },
};

const observerModule = createBackendModule({
  pluginId: 'kubechart',
  moduleId: 'turn-observer',
  register(env) {
    env.registerInit({
      deps: { policy: kubechartPolicyRulesExtensionPoint },
      async init({ policy }) {
        policy.addPolicyRules(turnObserver);
      },
    });
  },
});

/** `count` ConfigMaps. */
const configMaps = (count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm${i} }\ndata: { a: "1" }\n`,
  ).join('---\n');

describe('the policy judges what a request brings with turns of the event loop between objects', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const alice = mockCredentials.user.header('user:default/alice');
  const post = (path: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', alice)
      .send(body);

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, { health: { startOnBoot: false } }),
      features: [observerModule],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });
  beforeEach(() => {
    otherWorkRan = [];
  });

  it.each([
    ['POST /policy/check of manifests', '/policy/check', {}],
    [
      'POST /runs/preview of manifests',
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev' },
    ],
  ])('%s', async (_, path, body) => {
    const r = await post(path, {
      ...body,
      namespace: 'tenant-agent',
      manifests: configMaps(30),
    });
    expect(r.status).toBe(200);
    expect(otherWorkRan).toHaveLength(30);
    expect(otherWorkRan.slice(1)).toEqual(Array(29).fill(true));
  });

  it.each([
    ['POST /policy/check of a chart', '/policy/check', {}],
    ['POST /runs/preview of a chart', '/runs/preview', { kind: 'chart' }],
  ])('%s', async (_, path, body) => {
    const r = await post(path, {
      ...body,
      cluster: 'dev',
      namespace: 'tenant-agent',
      release: { name: 'web', chart: 'webapp' },
    });
    expect(r.status).toBe(200);
    // The chart's Deployment, PodDisruptionBudget and Service, each judged after other work ran.
    expect(otherWorkRan).toEqual([expect.any(Boolean), true, true]);
  });
});
