import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim, limitedUser } from '@internal/kube-sim';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  V1Ingress,
} from '@kubernetes/client-node';
import { parseManifests } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { readIngressHostsInUse } from './ingressHostsInUse';
import { RunEngine } from './RunEngine';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/*
 * Without kubechart.policy.ingressHostDomain (the example app-config sets none), hosts are not tied to
 * namespaces. ingress-nginx merges the Ingresses of one host across namespaces, so a tenant that
 * publishes `pay.example.com/login` takes that path of another tenant's `pay.example.com`. The engine
 * reads the hosts the cluster's Ingresses and routes hold when it checks a run, and `ingress-host`
 * refuses one that another namespace holds (in every policy mode). Its annotations are judged too:
 * `auth-url` makes the shared controller call into another tenant, `proxy-ssl-secret` names another
 * namespace's Secret.
 */

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ port: 80 }] }
`;
const ingress = (
  name: string,
  host: string,
  paths: string[],
  annotations: Record<string, string> = {},
) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  rules:
    - host: ${host}
      http:
        paths:
${paths
  .map(
    path => `          - path: ${path}
            pathType: Prefix
            backend: { service: { name: ${name}, port: { number: 80 } } }`,
  )
  .join('\n')}
`;
/** The attack: a path of rival's host, authenticated by rival's admin page, with rival's TLS Secret. */
const stealing = [
  service('login'),
  ingress('login', 'pay.example.com', ['/login'], {
    'nginx.ingress.kubernetes.io/auth-url':
      'http://web.tenant-rival.svc.cluster.local/admin',
    'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'tenant-rival/rival-tls',
  }),
].join('---\n');

describe('hosts another namespace holds, without ingressHostDomain, with real helm against kube-sim', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
  let networking: NetworkingV1Api;
  let core: CoreV1Api;

  const run = async (request: any, actor: string) => {
    const submitted = await engine.submit(request, actor);
    await engine.waitFor(submitted.id);
    return (await store.getRun(submitted.id))!;
  };
  const manifests = (namespace: string, text: string, actor: string) =>
    run(
      { kind: 'manifests', cluster: 'dev', namespace, manifests: text },
      actor,
    );
  const ingresses = async (namespace: string) =>
    (await networking.listNamespacedIngress({ namespace })).items.map(
      (i: V1Ingress) =>
        `${i.metadata?.name} ${i.spec?.rules
          ?.flatMap(r => r.http?.paths.map(p => `${r.host}${p.path}`))
          .join(' ')}`,
    );

  beforeAll(async () => {
    sim = await startSim();
    const created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim),
    });
    ({ engine, store } = created);
    const config = created.clusters.kubeConfig('dev');
    networking = config.makeApiClient(NetworkingV1Api);
    core = config.makeApiClient(CoreV1Api);
    for (const [tenant, owner] of [
      ['rival', 'user:default/rita'],
      ['acme', 'user:default/alice'],
    ]) {
      const done = await run(
        { kind: 'tenant', cluster: 'dev', tenant, releases: [] },
        owner,
      );
      if (done.status !== 'succeeded')
        throw new Error(
          `tenant ${tenant} ${done.status}: ${done.failureReason}`,
        );
    }
    const published = await manifests(
      'tenant-rival',
      [service('web'), ingress('web', 'pay.example.com', ['/'])].join('---\n'),
      'user:default/rita',
    );
    if (published.status !== 'succeeded')
      throw new Error(`rival's Ingress: ${published.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it("refuses a manifests run whose Ingress takes a path of another tenant's host, and its annotations; nothing is applied", async () => {
    const done = await manifests('tenant-acme', stealing, 'user:default/alice');
    expect(done.status).toBe('failed');
    expect(done.failureReason).toContain(
      'Chart policy (enforce) blocked the manifests; nothing was applied',
    );
    expect(done.failureReason).toContain(
      '[ingress-host] Ingress/login: host "pay.example.com" (spec.rules[0].host) is already claimed by an Ingress, route or ListenerSet of another namespace',
    );
    expect(done.failureReason).toContain(
      "[ingress-annotations] Ingress/login: annotation nginx.ingress.kubernetes.io/auth-url names a URL the shared ingress controller calls or sends clients to, another tenant's Service included; annotation nginx.ingress.kubernetes.io/proxy-ssl-secret names a Secret the shared ingress controller reads, of any namespace",
    );
    const refused = (done.policyReport?.results ?? []).filter(
      r => !r.passed && r.object.name === 'login',
    );
    expect(refused.map(r => [r.ruleId, r.severity])).toEqual([
      ['ingress-host', 'error'],
      ['ingress-annotations', 'error'],
    ]);
    // Which namespace holds the host is not told: it would say which tenant serves it.
    expect(refused[0].message).not.toContain('rival');
    expect(await ingresses('tenant-acme')).toEqual([]);
    expect(
      (await core.listNamespacedService({ namespace: 'tenant-acme' })).items,
    ).toEqual([]);
    expect(await ingresses('tenant-rival')).toEqual(['web pay.example.com/']);
  });

  it('refuses it without the annotations too, and a chart whose Ingress names the host', async () => {
    const plain = await manifests(
      'tenant-acme',
      ingress('login', 'PAY.example.com', ['/login']),
      'user:default/alice',
    );
    expect(plain.status).toBe('failed');
    expect(plain.failureReason).toContain(
      '[ingress-host] Ingress/login: host "PAY.example.com" (spec.rules[0].host) is already claimed',
    );
    const chart = await run(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-acme',
        release: {
          name: 'pay',
          chart: 'tenantroutes',
          values: { host: 'pay.example.com' },
        },
      },
      'user:default/alice',
    );
    expect(chart.status).toBe('failed');
    expect(chart.failureReason).toContain(
      'Chart policy (enforce) blocked release pay; nothing was installed',
    );
    expect(chart.failureReason).toContain(
      '[ingress-host] Ingress/pay: host "pay.example.com" (spec.rules[0].host) is already claimed',
    );
    expect(await ingresses('tenant-acme')).toEqual([]);
  });

  it('lets a tenant change its own Ingress of the host, and another tenant take a host no one holds', async () => {
    const own = await manifests(
      'tenant-rival',
      ingress('web', 'pay.example.com', ['/', '/v2']),
      'user:default/rita',
    );
    expect([own.status, own.failureReason]).toEqual(['succeeded', undefined]);
    expect(await ingresses('tenant-rival')).toEqual([
      'web pay.example.com/ pay.example.com/v2',
    ]);
    const free = await manifests(
      'tenant-acme',
      [service('login'), ingress('login', 'login.example.com', ['/'])].join(
        '---\n',
      ),
      'user:default/alice',
    );
    expect([free.status, free.failureReason]).toEqual(['succeeded', undefined]);
    expect(await ingresses('tenant-acme')).toEqual([
      'login login.example.com/',
    ]);
  });

  it('judges the dry run of POST /policy/check the same way, and refuses hosts when it names no cluster to read them from', async () => {
    const objects = parseManifests(stealing);
    const report = await engine.checkManifests(objects, {
      cluster: 'dev',
      namespace: 'tenant-acme',
    });
    expect(report.blocking).toBe(true);
    expect(
      report.results.find(r => r.ruleId === 'ingress-host' && !r.passed)
        ?.message,
    ).toMatch(/^host "pay\.example\.com" .* is already claimed/);
    const noCluster = await engine.checkManifests(objects, {
      namespace: 'tenant-acme',
    });
    expect(
      noCluster.results.find(r => r.ruleId === 'ingress-host' && !r.passed)
        ?.message,
    ).toBe(
      'host "pay.example.com" (spec.rules[0].host) cannot be checked against the hosts other namespaces hold: the check names no cluster to read them from',
    );
  });
});

describe('readIngressHostsInUse', () => {
  let sim: KubeSim;
  /** Lists Ingresses, not Gateway API routes. */
  const ingressReader = limitedUser({
    name: 'ingress-reader',
    clusterRules: [
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['ingresses'],
        verbs: ['list'],
      },
    ],
  });
  const hostsReader = limitedUser({
    name: 'hosts-reader',
    clusterRules: [
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['ingresses'],
        verbs: ['list'],
      },
      {
        apiGroups: ['gateway.networking.k8s.io'],
        resources: ['httproutes'],
        verbs: ['list'],
      },
    ],
  });
  const kubeConfigFor = (token: string) => {
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfigFor(token));
    kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
    return kc;
  };
  const ingressIn = (namespace: string, name: string, host: string) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: {
      rules: [{ host }],
      tls: [{ hosts: [`tls-${host}`] }],
    },
  });

  beforeAll(async () => {
    sim = await startSim({
      users: [ingressReader.user, hostsReader.user],
      objects: [
        ...ingressReader.objects,
        ...hostsReader.objects,
        ...['a', 'b'].map(name => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        })),
        ingressIn('a', 'one', 'one.example.com'),
        ingressIn('a', 'two', 'two.example.com'),
        ingressIn('b', 'three', 'three.example.com'),
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'four', namespace: 'b' },
          spec: { hostnames: ['four.example.com'] },
        },
      ],
    });
  });
  afterAll(() => sim?.stop());

  it("reads every host of the cluster's Ingresses and routes with their namespaces, in pages", async () => {
    const read = await readIngressHostsInUse(
      kubeConfigFor(hostsReader.user.token),
      { pageSize: 1 },
    );
    expect(
      'hosts' in read &&
        read.hosts
          .map(h => `${h.namespace} ${h.host}`)
          .filter(h => h.includes('example.com'))
          .sort(),
    ).toEqual([
      'a one.example.com',
      'a tls-one.example.com',
      'a tls-two.example.com',
      'a two.example.com',
      'b four.example.com',
      'b three.example.com',
      'b tls-three.example.com',
    ]);
  });

  it('answers why it cannot, rather than a partial list: a kind it may not list, more objects than it reads', async () => {
    const forbidden = await readIngressHostsInUse(
      kubeConfigFor(ingressReader.user.token),
    );
    expect(forbidden).toEqual({
      unreadable: expect.stringMatching(
        /^they could not be read from the cluster: Kubernetes API answered 403: .*httproutes/,
      ),
    });
    expect(
      await readIngressHostsInUse(kubeConfigFor(hostsReader.user.token), {
        pageSize: 1,
        maxObjects: 3,
      }),
    ).toEqual({
      unreadable:
        'the cluster holds more than 3 Ingresses, Gateway API routes and ListenerSets, more than one check reads',
    });
  });
});
