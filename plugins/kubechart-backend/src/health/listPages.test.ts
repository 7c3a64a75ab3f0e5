import { KubeSim } from '@internal/kube-sim';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  V1Pod,
} from '@kubernetes/client-node';
import tls from 'node:tls';
import { startSim } from '../__testUtils__/setup';
import { describeKubeError } from '../lib/kubeErrors';
import { ListedPage, listInPages } from './listInPages';
import { inParseTurn, makeListPages } from './listPages';
import { trimPod } from './trimmedInformer';

jest.setTimeout(60_000);

const kubeConfig = (yaml: string, impersonateUser?: string) => {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  if (impersonateUser)
    (kc.getCurrentUser() as any).impersonateUser = impersonateUser;
  return kc;
};

async function itemsOf<T>(pages: AsyncIterable<ListedPage<T>>) {
  let items: T[] = [];
  for await (const page of pages)
    items = page.first ? [...page.items] : [...items, ...page.items];
  return items;
}

async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('the list page did not fail');
}

describe('makeListPages', () => {
  let sim: KubeSim;
  let pages: ReturnType<typeof makeListPages>;
  let writes = 0;
  /** A write, then compaction: continue tokens of lists begun before it are too old (410). */
  const compact = async () => {
    await kubeConfig(sim.kubeconfig)
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({
        namespace: 'pages',
        body: { metadata: { name: `write-${++writes}` } },
      });
    sim.faults.expireWatches();
  };
  beforeAll(async () => {
    sim = await startSim({
      users: [{ token: 'viewer-token', name: 'viewer' }],
    });
    const core = kubeConfig(sim.kubeconfig).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'pages' } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedPod({
        namespace: 'pages',
        body: {
          metadata: { name: `p-${i}`, annotations: { big: 'x'.repeat(100) } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'registry.example.com/app:1',
                env: [{ name: 'A', value: 'b' }],
              },
            ],
          },
        },
      });
    }
  });
  beforeEach(() => {
    pages = makeListPages(kubeConfig(sim.kubeconfig));
  });
  afterEach(() => {
    pages.close();
    sim.faults.clear();
  });
  afterAll(() => sim.stop());

  it('reads every page over TLS with the kubeconfig token, as plain JSON trimmed page by page', async () => {
    const items = await itemsOf(
      listInPages(
        pages.list<V1Pod>('/api/v1/namespaces/pages/pods'),
        trimPod,
        3,
      ),
    );
    expect(items.map(p => p.metadata?.name)).toEqual([
      'p-0',
      'p-1',
      'p-2',
      'p-3',
      'p-4',
      'p-5',
      'p-6',
    ]);
    const pod = items[0] as any;
    expect(pod.spec.containers).toEqual([{ name: 'c' }]);
    expect(pod.metadata.annotations).toBeUndefined();
    // Plain JSON, as watch events carry: times are strings, not client-node's Date objects.
    const untrimmed = await pages.list<V1Pod>('/api/v1/namespaces/pages/pods')({
      limit: 1,
    });
    expect(typeof untrimmed.items[0].metadata?.creationTimestamp).toBe(
      'string',
    );
  });

  it('reads the pages of a list over one kept-alive TLS connection', async () => {
    const connect = jest.spyOn(tls, 'connect');
    try {
      const items = await itemsOf(
        listInPages(
          pages.list<V1Pod>('/api/v1/namespaces/pages/pods'),
          trimPod,
          2,
        ),
      );
      expect(items).toHaveLength(7);
      expect(connect).toHaveBeenCalledTimes(1);
    } finally {
      connect.mockRestore();
    }
  });

  it('passes the query (a field selector) and the continue token of each page', async () => {
    const first = await pages.list<V1Pod>('/api/v1/namespaces/pages/pods', {
      fieldSelector: 'metadata.name!=p-0',
    })({ limit: 4 });
    expect(first.items.map(p => p.metadata?.name)).toEqual([
      'p-1',
      'p-2',
      'p-3',
      'p-4',
    ]);
    expect(first.metadata?._continue).toBeTruthy();
    const next = await pages.list<V1Pod>('/api/v1/namespaces/pages/pods', {
      fieldSelector: 'metadata.name!=p-0',
    })({ limit: 4, _continue: first.metadata?._continue });
    expect(next.items.map(p => p.metadata?.name)).toEqual(['p-5', 'p-6']);
    expect(next.metadata?._continue).toBeUndefined();
  });

  it('fails closed without the right credentials: a bad token is 401, an impersonated user without rights 403', async () => {
    const badToken = await failure(
      makeListPages(kubeConfig(sim.kubeconfigFor('not-a-token'))).list(
        '/api/v1/pods',
      )({ limit: 5 }),
    );
    expect(badToken).toBeInstanceOf(ApiException);
    expect(badToken.code).toBe(401);
    // The kubeconfig's impersonation is carried: the admin token acting as a user no role binds.
    const impersonated = await failure(
      makeListPages(kubeConfig(sim.kubeconfig, 'viewer')).list('/api/v1/pods')({
        limit: 5,
      }),
    );
    expect(impersonated.code).toBe(403);
    expect(describeKubeError(impersonated, 'dev')).toMatch(
      /^Kubernetes API of cluster "dev" answered 403: .*viewer/,
    );
    expect(describeKubeError(impersonated)).not.toContain(sim.token);
  });

  it('answers an expired continue token with code 410, and another status with its code', async () => {
    const first = await pages.list<V1Pod>('/api/v1/namespaces/pages/pods')({
      limit: 3,
    });
    await compact();
    const expired = await failure(
      pages.list<V1Pod>('/api/v1/namespaces/pages/pods')({
        limit: 3,
        _continue: first.metadata?._continue,
      }),
    );
    expect(expired).toBeInstanceOf(ApiException);
    expect(expired.code).toBe(410);
    expect(expired.body).toMatchObject({ kind: 'Status', reason: 'Expired' });

    sim.faults.failVerb({ verb: 'list', resource: 'pods', status: 503 });
    const unavailable = await failure(
      pages.list<V1Pod>('/api/v1/pods')({ limit: 3 }),
    );
    expect(unavailable.code).toBe(503);
  });

  it('starts a list over after an expired continue token (listInPages)', async () => {
    let calls = 0;
    const page = pages.list<V1Pod>('/api/v1/namespaces/pages/pods');
    const items = await itemsOf(
      listInPages(
        async p => {
          // The continue token of the first attempt expires after its first page.
          if (++calls === 2) await compact();
          return page(p);
        },
        trimPod,
        3,
      ),
    );
    expect(calls).toBeGreaterThan(3);
    expect(items).toHaveLength(7);
  });
});

describe('inParseTurn', () => {
  it('parses pages that arrive together one per turn of the event loop, with timers run between them', async () => {
    const order: string[] = [];
    const spin = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
    };
    let ticking = true;
    const tick = () => {
      order.push('timer');
      if (ticking) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    await Promise.all(
      [1, 2, 3, 4].map(i =>
        inParseTurn(() => {
          order.push(`page ${i}`);
          spin(15);
        }),
      ),
    );
    ticking = false;
    const parsed = order.filter(o => o.startsWith('page'));
    expect(parsed).toEqual(['page 1', 'page 2', 'page 3', 'page 4']);
    for (let i = 1; i < parsed.length; i++) {
      // A timer came due while the page before was parsed: it runs before the next page.
      expect(
        order.indexOf(parsed[i]) - order.indexOf(parsed[i - 1]),
      ).toBeGreaterThan(1);
    }
  });

  it('goes on after a page that fails to parse', async () => {
    const bad = inParseTurn(() => JSON.parse('{'));
    const good = inParseTurn(() => 'ok');
    await expect(bad).rejects.toThrow(SyntaxError);
    await expect(good).resolves.toBe('ok');
  });
});
