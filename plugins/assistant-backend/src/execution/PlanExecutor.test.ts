import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { Plan, TableResult } from '@kubechart/plugin-assistant-common';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(30_000);

describe('PlanExecutor against kube-sim', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const run = (plan: Plan) =>
    executor.execute(plan, registry.kubeConfig('sim'));

  async function eventually<T>(
    fn: () => Promise<T>,
    ok: (t: T) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await fn();
      if (ok(value) || Date.now() > deadline) return value;
      await new Promise(r => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      podReadyDelayMs: 50,
      crashLoopBackoffMs: 100,
    });
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: sim.url,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
  });
  afterAll(() => sim?.stop());

  it('gives up on a cluster that does not answer in time, saying so', async () => {
    const impatient = new PlanExecutor({ maxRows: 200, timeoutMs: 300 });
    // Ten times the deadline: the cluster's answer comes after it however loaded the machine, so
    // the error below (only the deadline gives it) says the executor gave up before the answer.
    sim.faults.setLatency(3000);
    try {
      const error = await impatient
        .execute(
          { verb: 'get', resource: 'pods', namespace: 'shop' },
          registry.kubeConfig('sim'),
        )
        .catch(e => e);
      expect(error.name).toBe('ServiceUnavailableError');
      expect(error.message).toBe(
        'The cluster did not answer within 0.3 s, so the assistant stopped waiting (kubeAssistant.executionTimeoutSeconds). A change may still be applied: look before asking again.',
      );
    } finally {
      sim.faults.setLatency(0);
    }
  });

  it('lists crash-looping pods as a table', async () => {
    const result = (await eventually(
      () =>
        run({
          verb: 'get',
          resource: 'pods',
          allNamespaces: true,
          filter: 'crash-looping',
        }),
      r => r.type === 'table' && r.rows.length > 0,
    )) as TableResult;
    expect(result.columns).toEqual([
      'NAMESPACE',
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'NODE',
    ]);
    expect(result.rows.length).toBeGreaterThan(0);
    for (const row of result.rows) {
      expect(row[0]).toBe('shop');
      expect(row[1]).toMatch(/^checkout-web-/);
      expect(row[3]).toBe('CrashLoopBackOff');
    }
  });

  it('filters the healthy deployment out and keeps it in a plain list', async () => {
    const all = (await run({
      verb: 'get',
      resource: 'deployments',
      namespace: 'shop',
    })) as TableResult;
    expect(all.rows.map(r => r[0])).toEqual(
      expect.arrayContaining(['checkout-web', 'inventory-service']),
    );
    const notReady = (await eventually(
      () =>
        run({
          verb: 'get',
          resource: 'deployments',
          namespace: 'shop',
          filter: 'not-ready',
        }),
      r =>
        r.type === 'table' &&
        !r.rows.some(row => row[0] === 'inventory-service'),
    )) as TableResult;
    expect(notReady.rows.map(r => r[0])).toContain('checkout-web');
    expect(notReady.rows.map(r => r[0])).not.toContain('inventory-service');
  });

  it('truncates with a note when asked for fewer rows', async () => {
    const result = (await run({
      verb: 'get',
      resource: 'pods',
      allNamespaces: true,
      limit: 1,
    })) as TableResult;
    expect(result.rows).toHaveLength(1);
    expect(result.totalRows).toBeGreaterThan(1);
    expect(result.truncated).toMatch(/Showing 1 of \d+ rows/);
  });

  it('reads a bounded number of objects, page by page, and says so', async () => {
    const bounded = new PlanExecutor({ maxRows: 2, maxListed: 3 });
    const kc = registry.kubeConfig('sim');
    const all = (await run({
      verb: 'get',
      resource: 'pods',
      allNamespaces: true,
    })) as TableResult;
    expect(all.totalRows).toBeGreaterThan(3);
    // Sorting needs every object: it looks at the first maxListed only.
    const sorted = (await bounded.execute(
      {
        verb: 'get',
        resource: 'pods',
        allNamespaces: true,
        sortBy: 'restarts',
      },
      kc,
    )) as TableResult;
    expect(sorted.rows).toHaveLength(2);
    expect(sorted.truncated).toBe(
      'Showing 2 of 3 rows; narrow the question to see the rest. Looked at the first 3 pods only: name a namespace or a selector to see the rest.',
    );
    // A plain list stops at maxRows and still tells how many there are.
    const plain = (await bounded.execute(
      { verb: 'get', resource: 'pods', allNamespaces: true },
      kc,
    )) as TableResult;
    expect(plain.rows).toHaveLength(2);
    expect(plain.totalRows).toBe(all.totalRows);
    expect(plain.truncated).toBe(
      `Showing 2 of ${all.totalRows} rows; narrow the question to see the rest.`,
    );
  });

  it('reads the logs of a deployment as text', async () => {
    const result = await run({
      verb: 'logs',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
      tailLines: 20,
    });
    expect(result.type).toBe('text');
  });

  it('reads at most maxLogBytes of a container log from the cluster, and says where it was cut', async () => {
    const plan: Plan = {
      verb: 'logs',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
      tailLines: 20,
    };
    const whole = (await run(plan)) as { type: string; text: string };
    const cut = (await new PlanExecutor({
      maxRows: 200,
      maxLogBytes: 40,
    }).execute(plan, registry.kubeConfig('sim'))) as {
      type: string;
      text: string;
    };
    expect(cut.type).toBe('text');
    expect(cut.text).toBe(
      `${whole.text.slice(
        0,
        40,
      )}\n<cut by the cluster after 40 bytes: these are the first bytes of the last 20 lines; ask for fewer lines to see the newest>`,
    );
  });

  it('says where the cluster cut a log when the cut leaves a quoted secret open, and still hides the value', async () => {
    // The first log line names the image: `<time> INFO  starting app (image …)`.
    const image = 'busybox:1 password="s3cret-value-0123456789"';
    const core = registry.kubeConfig('sim').makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'quoted-log' },
        spec: { containers: [{ name: 'app', image }] },
      },
    });
    try {
      const plan: Plan = {
        verb: 'logs',
        resource: 'pods',
        name: 'quoted-log',
        namespace: 'shop',
        tailLines: 20,
      };
      await eventually(
        () => run(plan),
        r => r.type === 'text' && r.text.includes('starting app'),
      );
      // Cut inside the quoted value: its closing quote never arrives.
      const cutAt = Buffer.byteLength(
        `${new Date(
          0,
        ).toISOString()} INFO  starting app (image busybox:1 password="s3c`,
      );
      const cut = (await new PlanExecutor({
        maxRows: 200,
        maxLogBytes: cutAt,
      }).execute(plan, registry.kubeConfig('sim'))) as {
        type: string;
        text: string;
      };
      expect(cut.type).toBe('text');
      expect(cut.text).not.toContain('s3c');
      expect(cut.text.split('\n')).toEqual([
        expect.stringMatching(
          / INFO {2}starting app \(image busybox:1 password=/,
        ),
        `<cut by the cluster after ${cutAt} bytes: these are the first bytes of the last 20 lines; ask for fewer lines to see the newest>`,
      ]);
    } finally {
      await core.deleteNamespacedPod({ name: 'quoted-log', namespace: 'shop' });
    }
  });

  it('reads at most maxLogBytes of the previous log when diagnosing a crash', async () => {
    const plan: Plan = {
      verb: 'diagnose',
      resource: 'deployments',
      name: 'checkout-web',
      namespace: 'shop',
    };
    const logLines = (result: any) =>
      (result.evidence as string[])
        .filter(line => line.startsWith('log: '))
        .map(line => line.slice('log: '.length));
    const whole = await eventually(
      () => run(plan),
      (r: any) => logLines(r).join('').length > 40,
    );
    expect(logLines(whole).join('').length).toBeGreaterThan(40);
    const cut = await new PlanExecutor({
      maxRows: 200,
      maxLogBytes: 40,
    }).execute(plan, registry.kubeConfig('sim'));
    expect(cut.type).toBe('diagnosis');
    expect(logLines(cut).join('\n').length).toBeLessThanOrEqual(40);
  });

  it('finds the namespace of a named resource when none is given, and runs it there', async () => {
    const { plan } = await executor.lookUpNamespace(
      { verb: 'describe', resource: 'deployments', name: 'payments-api' },
      registry.kubeConfig('sim'),
    );
    expect(plan).toEqual({
      verb: 'describe',
      resource: 'deployments',
      name: 'payments-api',
      namespace: 'payments',
    });
    const result = await run(plan);
    expect(result.type).toBe('text');
    expect((result as { text: string }).text).toContain('namespace: payments');
    // Not found: left without a namespace, which is refused when run.
    expect(
      (
        await executor.lookUpNamespace(
          { verb: 'describe', resource: 'deployments', name: 'no-such-app' },
          registry.kubeConfig('sim'),
        )
      ).plan,
    ).toEqual({
      verb: 'describe',
      resource: 'deployments',
      name: 'no-such-app',
    });
  });

  it.each<[Plan, string]>([
    [
      // Shown as `kubectl rollout status deployment/payments-api`: kubectl reads the
      // kubeconfig's namespace; this would have looked in every namespace.
      {
        verb: 'rollout',
        rolloutAction: 'status',
        resource: 'deployments',
        name: 'payments-api',
      },
      "This plan cannot run as shown: kubectl rollout works in one namespace, and none is known for deployment/payments-api (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      {
        verb: 'logs',
        resource: 'deployments',
        name: 'inventory-service',
      },
      "This plan cannot run as shown: kubectl logs reads one namespace, and none is known for deployment/inventory-service (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      // Shown as `kubectl describe deployments payments-api` (the kubeconfig's namespace); this
      // would have described the one found in any namespace.
      { verb: 'describe', resource: 'deployments', name: 'payments-api' },
      "This plan cannot run as shown: kubectl describe finds a named object in one namespace, and none is known for deployment/payments-api (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      {
        verb: 'get',
        resource: 'secrets',
        name: 'payments-api-config',
        output: 'yaml',
      },
      "This plan cannot run as shown: kubectl get finds a named object in one namespace, and none is known for secret/payments-api-config (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      { verb: 'top', resource: 'pods', name: 'payments-api-0' },
      "This plan cannot run as shown: kubectl top finds a named object in one namespace, and none is known for pod/payments-api-0 (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      { verb: 'diagnose', resource: 'deployments', name: 'payments-api' },
      "This plan cannot run as shown: a diagnosis finds a named object in one namespace, and none is known for deployment/payments-api (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace. Ask again.",
    ],
    [
      // Shown as `kubectl get deployment/payments-api -A`, which kubectl rejects ("a resource
      // cannot be retrieved by name across all namespaces").
      {
        verb: 'get',
        resource: 'deployments',
        name: 'payments-api',
        allNamespaces: true,
      },
      'This plan cannot run as shown: name and allNamespaces do not go together: kubectl finds a named object in one namespace (it rejects a name with --all-namespaces): name the namespace, or leave allNamespaces out for the assistant to look it up. Ask again.',
    ],
    [
      // Shown as `kubectl rollout history deployments -A`, which kubectl rejects.
      {
        verb: 'rollout',
        rolloutAction: 'history',
        resource: 'deployments',
        allNamespaces: true,
      },
      'This plan cannot run as shown: kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace. Ask again.',
    ],
  ])(
    'refuses a stored %j, which kubectl would not run as the assistant does',
    async (plan, message) => {
      await expect(run(plan)).rejects.toThrow(message);
    },
  );

  it('scales a deployment through the API', async () => {
    const result = await run({
      verb: 'scale',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
      replicas: 3,
    });
    expect(result).toEqual({
      type: 'message',
      text: 'deployment/inventory-service in shop scaled to 3',
    });
    const table = (await run({
      verb: 'get',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
    })) as TableResult;
    expect(table.rows[0][1]).toMatch(/\/3$/);
  });

  it('reports a missing resource as not found', async () => {
    await expect(
      run({
        verb: 'describe',
        resource: 'pods',
        name: 'nope',
        namespace: 'shop',
      }),
    ).rejects.toThrow('Error from server (NotFound): pods "nope" not found');
  });

  it('refuses a plan whose command and result would differ, before reading the cluster', async () => {
    // A cluster that answers every request with an error, and a count of the requests sent to it
    // (each is authenticated through the client configuration): a refusal that read it first
    // would say so, or count one.
    const kc = registry.kubeConfig('sim');
    const requests = [
      jest.spyOn(kc, 'applySecurityAuthentication'),
      jest.spyOn(kc, 'applyToFetchOptions'),
      jest.spyOn(kc, 'applyToHTTPSOptions'),
    ];
    const runOn = (plan: Plan) => executor.execute(plan, kc);
    sim.faults.setErrorRate(1);
    try {
      // Shown as `kubectl top pods -n shop`, labelled "pods matching
      // metadata.name=nonexistent-pod": it used to list every pod.
      await expect(
        runOn({
          verb: 'top',
          resource: 'pods',
          namespace: 'shop',
          fieldSelector: 'metadata.name=nonexistent-pod',
        }),
      ).rejects.toThrow(
        'This plan cannot run as shown: top does not take fieldSelector: it would be shown but not carried out',
      );
      // Shown piped through grep: it used to return the whole log.
      await expect(
        runOn({
          verb: 'logs',
          resource: 'deployments',
          name: 'inventory-service',
          namespace: 'shop',
          filter: 'crash-looping',
        }),
      ).rejects.toThrow(
        'This plan cannot run as shown: logs does not take filter: it would be shown but not carried out',
      );
      // Shown as `kubectl logs -l app=checkout-web -A`, which kubectl rejects.
      await expect(
        runOn({
          verb: 'logs',
          resource: 'pods',
          allNamespaces: true,
          labelSelector: 'app=checkout-web',
        }),
      ).rejects.toThrow(
        'This plan cannot run as shown: kubectl logs reads one namespace (it has no --all-namespaces): name the namespace. Ask again.',
      );
      for (const sent of requests) expect(sent).not.toHaveBeenCalled();
      // A plan that reads the cluster is counted.
      sim.faults.setErrorRate(0);
      await runOn({ verb: 'get', resource: 'pods', namespace: 'shop' });
      expect(
        requests.reduce((n, sent) => n + sent.mock.calls.length, 0),
      ).toBeGreaterThan(0);
    } finally {
      sim.faults.setErrorRate(0);
      for (const sent of requests) sent.mockRestore();
    }
  });

  it('shows a named object in the format the command asks for, a Secret with sizes only', async () => {
    const core = registry.kubeConfig('sim').makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: 'shop',
      body: {
        metadata: { name: 'shown-as-yaml' },
        stringData: { password: 'correct-horse-battery' },
      },
    });
    const secret = await run({
      verb: 'get',
      resource: 'secrets',
      name: 'shown-as-yaml',
      namespace: 'shop',
      output: 'yaml',
    });
    expect(secret.type).toBe('text');
    const text = (secret as { text: string }).text;
    expect(text).toContain('name: shown-as-yaml');
    expect(text).toContain('password: <21 bytes>');
    expect(text).not.toContain('correct-horse-battery');
    expect(text).not.toContain(
      Buffer.from('correct-horse-battery').toString('base64'),
    );

    const json = await run({
      verb: 'get',
      resource: 'deployments',
      name: 'inventory-service',
      namespace: 'shop',
      output: 'json',
    });
    expect(json.type).toBe('text');
    expect(JSON.parse((json as { text: string }).text).metadata.name).toBe(
      'inventory-service',
    );
  });

  it("never shows a Pod's secret arguments, probe headers or env values, in get -o yaml nor describe", async () => {
    const core = registry.kubeConfig('sim').makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'leaky' },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/shop:1.0',
              args: ['--db-password', 'HUNTER2ARGS'],
              env: [
                { name: 'DB_PASS', value: 'ENVPASSVAL' },
                { name: 'LOG_LEVEL', value: 'debug' },
              ],
              livenessProbe: {
                httpGet: {
                  path: '/healthz',
                  port: 8080,
                  httpHeaders: [
                    { name: 'Authorization', value: 'Basic QkFTSUNWQUw=' },
                    { name: 'X-Api-Key', value: 'APIKEYHEADERVAL' },
                  ],
                },
              },
            },
          ],
        },
      },
    });
    try {
      for (const verb of ['get', 'describe'] as const) {
        const result = await run({
          verb,
          resource: 'pods',
          name: 'leaky',
          namespace: 'shop',
          ...(verb === 'get' ? { output: 'yaml' as const } : {}),
        });
        expect(result.type).toBe('text');
        const text = (result as { text: string }).text;
        expect([verb, text]).toEqual([verb, expect.stringContaining('leaky')]);
        expect([verb, text]).toEqual([
          verb,
          expect.stringContaining('--db-password'),
        ]);
        expect([verb, text]).toEqual([
          verb,
          expect.stringContaining('value: debug'),
        ]);
        for (const secret of [
          'HUNTER2ARGS',
          'ENVPASSVAL',
          'QkFTSUNWQUw',
          'APIKEYHEADERVAL',
        ])
          expect([verb, secret, text.includes(secret)]).toEqual([
            verb,
            secret,
            false,
          ]);
      }
    } finally {
      await core.deleteNamespacedPod({ name: 'leaky', namespace: 'shop' });
    }
  });

  it('lists events by time with the events verb, newest first, as kubectl events does', async () => {
    const core = registry.kubeConfig('sim').makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'event-order' } } });
    // Later than their creation (which counts as their time too), and
    // created and named in an order that is not their time order.
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    for (const [name, minutes] of [
      ['a-newest', 3],
      ['b-oldest', 1],
      ['c-middle', 2],
    ] as const) {
      await core.createNamespacedEvent({
        namespace: 'event-order',
        body: {
          metadata: { name },
          involvedObject: {
            kind: 'Pod',
            name: 'web-1',
            namespace: 'event-order',
          },
          reason: 'Test',
          type: 'Normal',
          message: name,
          lastTimestamp: at(minutes),
          firstTimestamp: at(minutes),
        },
      });
    }
    const newest = (await run({
      verb: 'events',
      resource: 'events',
      namespace: 'event-order',
      limit: 2,
    })) as TableResult;
    expect(newest.rows.map(r => r[r.length - 1])).toEqual([
      'a-newest',
      'c-middle',
    ]);
    // By age is by the events' time too, as `--sort-by=.lastTimestamp` shows.
    const byAge = (await run({
      verb: 'get',
      resource: 'events',
      namespace: 'event-order',
      sortBy: 'age',
    })) as TableResult;
    expect(byAge.rows.map(r => r[r.length - 1])).toEqual([
      'a-newest',
      'c-middle',
      'b-oldest',
    ]);
  });

  it('does not run exec', async () => {
    await expect(
      run({
        verb: 'exec',
        resource: 'pods',
        name: 'x',
        namespace: 'shop',
        command: ['sh'],
      }),
    ).rejects.toThrow(/does not run "kubectl exec"/);
  });
});
