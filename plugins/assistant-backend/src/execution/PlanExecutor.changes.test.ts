import { ServiceUnavailableError } from '@backstage/errors';
import { KubeSim, startKubeSim } from '@internal/kube-sim';
import {
  Plan,
  TableResult,
  classifySafety,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import { recordingProxy } from '../__testUtils__/recordingProxy';
import { ClusterRegistry } from './clusters';
import { PlanExecutor, stoppedBeforeSent } from './PlanExecutor';

jest.setTimeout(60_000);

describe('PlanExecutor changes: the request sent is the plan shown', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  const executor = new PlanExecutor({ maxRows: 200 });
  let run: (plan: Plan) => ReturnType<PlanExecutor['execute']>;

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    proxy = await recordingProxy(sim.url);
    const registry = new ClusterRegistry([
      {
        name: 'sim',
        url: proxy.url,
        serviceAccountToken: sim.token,
        // The recording proxy speaks plain HTTP, which client-node only
        // allows with this flag; test only.
        skipTLSVerify: true,
      },
    ]);
    run = plan => executor.execute(plan, registry.kubeConfig('sim'));
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });
  beforeEach(() => {
    proxy.sent.length = 0;
  });

  const read = async (plan: Plan) =>
    (await run({ ...plan, verb: 'get', output: 'json' })) as {
      text: string;
    };
  const object = async (plan: Plan): Promise<any> =>
    JSON.parse(
      JSON.stringify(
        require('js-yaml').load((await read(plan)).text.split('---\n')[0]),
      ),
    );

  it.each<[string, Plan, (body: any) => void]>([
    [
      'scale',
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
        replicas: 3,
      },
      body => expect(body.spec).toEqual({ replicas: 3 }),
    ],
    [
      'label',
      {
        verb: 'label',
        resource: 'deployments',
        name: 'payments-api',
        namespace: 'payments',
        labels: { tier: 'backend' },
      },
      body => expect(body.metadata.labels).toEqual({ tier: 'backend' }),
    ],
    [
      'annotate',
      {
        verb: 'annotate',
        resource: 'deployments',
        name: 'payments-api',
        namespace: 'payments',
        annotations: { owner: 'team-pay' },
      },
      body => expect(body.metadata.annotations).toEqual({ owner: 'team-pay' }),
    ],
    [
      'rollout restart',
      {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      },
      body =>
        expect(
          body.spec.template.metadata.annotations[
            'kubectl.kubernetes.io/restartedAt'
          ],
        ).toMatch(/^\d{4}-/),
    ],
    [
      'patch',
      {
        verb: 'patch',
        resource: 'services',
        name: 'checkout-web',
        namespace: 'shop',
        patch: '{"metadata":{"labels":{"patched":"yes"}}}',
      },
      body => expect(body.metadata.labels).toEqual({ patched: 'yes' }),
    ],
  ])(
    '%s sends one PATCH to exactly the object of the plan',
    async (_, plan, checkBody) => {
      await run(plan);
      expect(proxy.sent).toHaveLength(1);
      const [request] = proxy.sent;
      const group = plan.resource === 'services' ? '/api/v1' : '/apis/apps/v1';
      expect(request.method).toBe('PATCH');
      expect(request.path).toBe(
        `${group}/namespaces/${plan.namespace}/${plan.resource}/${plan.name}`,
      );
      expect(request.body.metadata.name).toBe(plan.name);
      expect(request.body.metadata.namespace).toBe(plan.namespace);
      checkBody(request.body);
    },
  );

  it('label and annotate really land on the object', async () => {
    await run({
      verb: 'label',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
      labels: { audited: 'true' },
    });
    await run({
      verb: 'annotate',
      resource: 'namespaces',
      name: 'shop',
      annotations: { owner: 'team-shop' },
    });
    const deployment = await object({
      verb: 'get',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
    });
    expect(deployment.metadata.labels.audited).toBe('true');
    // Existing labels stay: a merge, not a replacement.
    expect(deployment.metadata.labels.app).toBe('payments-api');
    const namespace = await object({
      verb: 'get',
      resource: 'namespaces',
      name: 'shop',
    });
    expect(namespace.metadata.annotations.owner).toBe('team-shop');
  });

  it('cordons and uncordons the named node and nothing else', async () => {
    const node = 'kube-sim-node-2';
    await run({ verb: 'cordon', resource: 'nodes', name: node });
    await run({ verb: 'uncordon', resource: 'nodes', name: node });
    expect(proxy.sent.map(s => [s.method, s.path, s.body.spec])).toEqual([
      ['PATCH', `/api/v1/nodes/${node}`, { unschedulable: true }],
      ['PATCH', `/api/v1/nodes/${node}`, { unschedulable: null }],
    ]);
  });

  it('refuses a patch body that names another object, sending nothing', async () => {
    for (const patch of [
      '{"kind":"Secret","metadata":{"name":"db"}}',
      '{"metadata":{"namespace":"kube-system"}}',
      '{"metadata":{"name":"coredns"},"spec":{"replicas":0}}',
    ]) {
      await expect(
        run({
          verb: 'patch',
          resource: 'deployments',
          name: 'inventory-service',
          namespace: 'shop',
          patch,
        }),
      ).rejects.toThrow(/comes from the plan, not from the body/);
    }
    expect(proxy.sent).toEqual([]);
  });

  it('deletes exactly the named pod', async () => {
    // The rollout restart above replaces inventory-service's pods; a pod
    // picked while that rollout runs may be deleted by the controller
    // before our DELETE arrives. Wait until the rollout has settled.
    const deadline = Date.now() + 30_000;
    let pods: TableResult;
    for (;;) {
      const deployment = await object({
        verb: 'get',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      });
      pods = (await run({
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app=inventory-service',
      })) as TableResult;
      const { spec, status = {} } = deployment;
      const settled =
        status.observedGeneration === deployment.metadata.generation &&
        status.updatedReplicas === spec.replicas &&
        status.replicas === spec.replicas &&
        status.readyReplicas === spec.replicas &&
        pods.rows.length === spec.replicas;
      if (settled) break;
      if (Date.now() > deadline) {
        throw new Error(
          `inventory-service did not settle: ${JSON.stringify(status)}`,
        );
      }
      await new Promise(r => setTimeout(r, 100));
    }
    const name = pods.rows[0][0];
    proxy.sent.length = 0;
    await run({ verb: 'delete', resource: 'pods', name, namespace: 'shop' });
    expect(proxy.sent.map(s => [s.method, s.path])).toEqual([
      ['DELETE', `/api/v1/namespaces/shop/pods/${name}`],
    ]);
  });

  it('rolls a deployment back to its previous pod template', async () => {
    await run({
      verb: 'patch',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
      patch:
        '{"spec":{"template":{"metadata":{"annotations":{"release":"two"}}}}}',
    });
    // Give the deployment controller a moment to create revision 2.
    await new Promise(r => setTimeout(r, 500));
    proxy.sent.length = 0;
    const result = await run({
      verb: 'rollout',
      rolloutAction: 'undo',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
    });
    expect(result).toEqual({
      type: 'message',
      text: expect.stringMatching(
        /^deployment\/payments-api in payments rolled back to revision \d+$/,
      ),
    });
    expect(proxy.sent).toHaveLength(1);
    expect(proxy.sent[0].path).toBe(
      '/apis/apps/v1/namespaces/payments/deployments/payments-api',
    );
    const after = await object({
      verb: 'get',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
    });
    expect(after.spec.template.metadata.annotations?.release).toBeUndefined();
  });

  it('a selector change with no namespace is shown and classified as all namespaces, and runs only as shown', async () => {
    const shown: Plan = {
      verb: 'annotate',
      resource: 'deployments',
      labelSelector: 'backstage.io/kubernetes-id',
      allNamespaces: true,
      annotations: { 'example.com/checked': 'yes' },
    };
    expect(renderKubectl(shown)).toContain(' -A ');
    expect(classifySafety(shown).level).toBe('dangerous');
    await run(shown);
    const namespaces = new Set(
      proxy.sent.map(s => s.path.split('/namespaces/')[1].split('/')[0]),
    );
    // Every namespace with a matching deployment, as shown (-A).
    expect(namespaces).toEqual(new Set(['kube-system', 'payments', 'shop']));

    // A plan that does not say where it reaches is not run at all.
    proxy.sent.length = 0;
    await expect(
      run({
        verb: 'annotate',
        resource: 'deployments',
        labelSelector: 'app=inventory-service',
        annotations: { 'example.com/checked': 'yes' },
      }),
    ).rejects.toThrow(/names no namespace and does not say all namespaces/);
    expect(proxy.sent).toEqual([]);
  });

  it.each<Plan>([
    // `kubectl rollout restart deployments -l … -A` is rejected by kubectl (no --all-namespaces).
    {
      verb: 'rollout',
      rolloutAction: 'restart',
      resource: 'deployments',
      labelSelector: 'backstage.io/kubernetes-id',
      allNamespaces: true,
    },
    // Shown without -n (the kubeconfig's namespace), it would have been refused only once listed.
    {
      verb: 'rollout',
      rolloutAction: 'restart',
      resource: 'deployments',
      labelSelector: 'app=inventory-service',
    },
    // Shown without -n, it would have restarted the one found in any namespace.
    {
      verb: 'rollout',
      rolloutAction: 'restart',
      resource: 'deployments',
      name: 'inventory-service',
    },
  ])(
    'does not restart %j: kubectl rollout works in one namespace, named in the plan',
    async plan => {
      await expect(run(plan)).rejects.toThrow(
        /^This plan cannot run as shown: kubectl rollout works in one namespace/,
      );
      expect(proxy.sent).toEqual([]);
    },
  );
  it.each<[Plan, string]>([
    // Shown as `kubectl scale deployment/inventory-service --replicas=0` (the kubeconfig's
    // namespace), it would have scaled the one found in any namespace.
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'inventory-service',
        replicas: 0,
      },
      'kubectl scale works in one namespace, and none is known for deployment/inventory-service',
    ],
    [
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'inventory-service',
        patch: '{"metadata":{"labels":{"patched":"yes"}}}',
      },
      'kubectl patch works in one namespace, and none is known for deployment/inventory-service',
    ],
    [
      {
        verb: 'label',
        resource: 'deployments',
        name: 'inventory-service',
        labels: { audited: 'yes' },
      },
      'kubectl label finds a named object in one namespace, and none is known for deployment/inventory-service',
    ],
    [
      {
        verb: 'annotate',
        resource: 'deployments',
        name: 'inventory-service',
        annotations: { note: 'x' },
      },
      'kubectl annotate finds a named object in one namespace, and none is known for deployment/inventory-service',
    ],
    [
      { verb: 'delete', resource: 'deployments', name: 'inventory-service' },
      'kubectl delete finds a named object in one namespace, and none is known for deployment/inventory-service',
    ],
    // `kubectl scale … -A` and `kubectl delete deployment/… -A` are rejected by kubectl.
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'inventory-service',
        allNamespaces: true,
        replicas: 0,
      },
      'kubectl scale works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'delete',
        resource: 'deployments',
        name: 'inventory-service',
        allNamespaces: true,
      },
      'name and allNamespaces do not go together: kubectl finds a named object in one namespace (it rejects a name with --all-namespaces)',
    ],
  ])(
    'does not change a stored %j: its command would not name the namespace it changes',
    async (plan, reason) => {
      const error = await run(plan).catch(e => e);
      expect(error.message).toContain(
        `This plan cannot run as shown: ${reason}`,
      );
      expect(proxy.sent).toEqual([]);
      const after = await object({
        verb: 'get',
        resource: 'deployments',
        name: 'inventory-service',
        namespace: 'shop',
      });
      expect(after.spec.replicas).toBeGreaterThan(0);
      expect(after.metadata.labels?.patched).toBeUndefined();
    },
  );
});

describe('PlanExecutor changes: a run stopped from outside says whether the change was sent', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const given = 'The run was given up at the longest a run may take.';

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', podReadyDelayMs: 50 });
    proxy = await recordingProxy(sim.url);
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: proxy.url,
        serviceAccountToken: sim.token,
        // The recording proxy speaks plain HTTP; test only.
        skipTLSVerify: true,
      },
    ]);
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });
  beforeEach(() => {
    proxy.sent.length = 0;
    proxy.delay = undefined;
  });

  const replicasOf = async (name: string): Promise<number> => {
    const { text } = (await executor.execute(
      {
        verb: 'get',
        resource: 'deployments',
        name,
        namespace: 'shop',
        output: 'json',
      },
      registry.kubeConfig('sim'),
    )) as { text: string };
    return require('js-yaml').load(text.split('---\n')[0]).spec.replicas;
  };

  it('says that a change sent before the stop may still be applied, and which object it was', async () => {
    // The cluster holds the PATCH; the run is stopped while it is under way.
    proxy.delay = () => 300;
    const stop = new AbortController();
    const running = executor
      .executeReporting(
        {
          verb: 'scale',
          resource: 'deployments',
          name: 'checkout-web',
          namespace: 'shop',
          replicas: 3,
        },
        registry.kubeConfig('sim'),
        stop.signal,
      )
      .catch(e => e);
    for (let i = 0; i < 1000 && proxy.sent.length === 0; i++)
      await new Promise(r => setTimeout(r, 5));
    expect(proxy.sent.map(s => s.method)).toEqual(['PATCH']);
    stop.abort(new ServiceUnavailableError(given));
    const error = await running;
    expect(error.message).toBe(
      `${given} A change may still be applied: look before asking again.`,
    );
    expect(error.changeProgress).toEqual({
      changed: [],
      changedCount: 0,
      inFlight: 'deployment/checkout-web in shop',
      notAttempted: 0,
    });
    expect(stoppedBeforeSent(error)).toBe(false);
    // The cluster applied it.
    for (let i = 0; i < 200 && (await replicasOf('checkout-web')) !== 3; i++)
      await new Promise(r => setTimeout(r, 25));
    expect(await replicasOf('checkout-web')).toBe(3);
  });

  it('says that nothing was sent when stopped before the run started, and marks it as not run', async () => {
    const stop = new AbortController();
    stop.abort(new ServiceUnavailableError(given));
    const error = await executor
      .executeReporting(
        {
          verb: 'scale',
          resource: 'deployments',
          name: 'checkout-web',
          namespace: 'shop',
          replicas: 5,
        },
        registry.kubeConfig('sim'),
        stop.signal,
      )
      .catch(e => e);
    expect(error.message).toBe(`${given} Nothing was sent to the cluster.`);
    expect(stoppedBeforeSent(error)).toBe(true);
    expect(proxy.sent).toEqual([]);
  });
});
