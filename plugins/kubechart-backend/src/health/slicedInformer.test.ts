import { ConfigReader } from '@backstage/config';
import { KubeSim } from '@internal/kube-sim';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import {
  ApiException,
  CoreV1Api,
  PatchStrategy,
  V1ConfigMap,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startSim, testConfig } from '../__testUtils__/setup';
import { describeKubeError } from '../lib/kubeErrors';
import { listInPages } from './listInPages';
import { SlicedListWatch } from './slicedInformer';
import { makeWatchRequest } from './watchRequest';

jest.setTimeout(60_000);

async function eventually<T>(
  fn: () => T,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (check(v) || Date.now() - start > timeoutMs) return v;
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('SlicedListWatch', () => {
  let sim: KubeSim;
  let core: CoreV1Api;
  let registry: ClusterRegistry;
  beforeAll(async () => {
    sim = await startSim({ nodes: 1, bookmarkIntervalMs: 100 });
    registry = ClusterRegistry.fromConfig(new ConfigReader(testConfig(sim)));
    core = registry.kubeConfig('dev').makeApiClient(CoreV1Api);
  });
  afterAll(() => sim.stop());

  const informerOf = (namespace: string, slice = 10) =>
    new SlicedListWatch<V1ConfigMap>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      makeWatchRequest(registry.kubeConfig('dev')),
      () =>
        listInPages(
          page => core.listNamespacedConfigMap({ namespace, ...page }),
          undefined,
          25,
        ),
      // What a trimming informer does: every listed and watched object passes through it.
      { slice, map: cm => ({ metadata: cm.metadata, data: cm.data }) },
    );
  const configMap = (name: string, value = '1') => ({
    metadata: { name },
    data: { value },
  });
  // The API server creates kube-root-ca.crt in every namespace: left out of what is asserted.
  const ours = (cm: V1ConfigMap) => cm.metadata?.name !== 'kube-root-ca.crt';
  const names = (informer: SlicedListWatch<V1ConfigMap>) =>
    informer
      .list()
      .filter(ours)
      .map(cm => cm.metadata?.name);
  const seen = (informer: SlicedListWatch<V1ConfigMap>) => {
    const events: string[] = [];
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, cm => {
        if (ours(cm))
          events.push(`${verb} ${cm.metadata?.name} ${cm.data?.value ?? ''}`);
      });
    }
    return events;
  };

  it('lists, then follows what the watch reports: adds, updates and deletes', async () => {
    await core.createNamespace({ body: { metadata: { name: 'follow' } } });
    await core.createNamespacedConfigMap({
      namespace: 'follow',
      body: configMap('listed'),
    });
    const informer = informerOf('follow');
    const events = seen(informer);
    const connects: number[] = [];
    informer.on('connect', () => connects.push(1));
    await informer.start();
    expect(events).toEqual(['add listed 1']);
    expect(connects).toHaveLength(1);
    await core.createNamespacedConfigMap({
      namespace: 'follow',
      body: configMap('watched'),
    });
    await core.patchNamespacedConfigMap(
      {
        name: 'listed',
        namespace: 'follow',
        body: [{ op: 'replace', path: '/data/value', value: '2' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await core.deleteNamespacedConfigMap({
      name: 'watched',
      namespace: 'follow',
    });
    expect(
      await eventually(
        () => events.slice(),
        e => e.length >= 4,
      ),
    ).toEqual([
      'add listed 1',
      'add watched 1',
      'update listed 2',
      'delete watched 1',
    ]);
    expect(names(informer)).toEqual(['listed']);
    expect(informer.list('follow')).toEqual(informer.list());
    expect(informer.get('listed', 'follow')?.data).toEqual({ value: '2' });
    expect(informer.list('elsewhere')).toEqual([]);
    await informer.stop();
  });

  it('moves its resourceVersion on with bookmarks, so a watch resumes from there', async () => {
    await core.createNamespace({ body: { metadata: { name: 'bookmarked' } } });
    const informer = informerOf('bookmarked');
    await informer.start();
    const listedAt = Number(informer.latestResourceVersion());
    // A change elsewhere moves the cluster's resourceVersion; only a bookmark tells this watch of it.
    const other = await core.createNamespacedConfigMap({
      namespace: 'follow',
      body: configMap('elsewhere'),
    });
    const rv = Number(other.metadata?.resourceVersion);
    expect(rv).toBeGreaterThan(listedAt);
    expect(
      await eventually(
        () => Number(informer.latestResourceVersion()),
        v => v >= rv,
      ),
    ).toBeGreaterThanOrEqual(rv);
    expect(names(informer)).toEqual([]);
    await informer.stop();
  });

  it('asks the server to end each watch after its timeout and watches on from there; a watch that hangs silently past it is given up as an error', async () => {
    await core.createNamespace({ body: { metadata: { name: 'bounded' } } });
    let lists = 0;
    // What each watch asks for, and how each ended (null: the server ended it).
    const queries: Array<Record<string, unknown>> = [];
    const ends: unknown[] = [];
    const real = makeWatchRequest(registry.kubeConfig('dev'));
    const informer = new SlicedListWatch<V1ConfigMap>(
      '/api/v1/namespaces/bounded/configmaps',
      {
        watch: (path, query, callback, done, signal) => {
          queries.push(query);
          return real.watch(
            path,
            query,
            callback,
            e => {
              ends.push(e);
              done(e);
            },
            signal,
          );
        },
      },
      () => {
        lists++;
        return listInPages(page =>
          core.listNamespacedConfigMap({ namespace: 'bounded', ...page }),
        );
      },
      { minWatchTimeoutSeconds: 1, watchDeadlineGraceMs: 300 },
    );
    const events = seen(informer);
    const errors: unknown[] = [];
    informer.on('error', e => errors.push(e));
    await informer.start();
    // The server ends each watch after 1 to 2 s; the informer watches again without listing, and
    // follows what happens after.
    await new Promise(r => setTimeout(r, 2500));
    await core.createNamespacedConfigMap({
      namespace: 'bounded',
      body: configMap('after-timeouts'),
    });
    expect(
      await eventually(
        () => events.slice(),
        e => e.length > 0,
      ),
    ).toEqual(['add after-timeouts 1']);
    expect(errors).toEqual([]);
    expect(lists).toBe(1);
    expect(queries.length).toBeGreaterThan(1);
    for (const q of queries) {
      expect(q.allowWatchBookmarks).toBe('true');
      expect(Number(q.timeoutSeconds)).toBeGreaterThanOrEqual(1);
      expect(Number(q.timeoutSeconds)).toBeLessThanOrEqual(2);
    }
    expect(ends.length).toBeGreaterThan(0);
    expect(ends.every(e => e === null)).toBe(true);
    expect(Date.now() - informer.provenAt()!).toBeLessThan(2000);

    try {
      sim.faults.hangWatches({ resource: 'configmaps', namespace: 'bounded' });
      const hungFrom = Date.now();
      await eventually(
        () => errors.length,
        n => n > 0,
        5000,
      );
      expect(String(errors[0])).toMatch(
        /watch of \/api\/v1\/namespaces\/bounded\/configmaps neither ended at its timeout \(\d s\) nor sent anything .*hangs/,
      );
      // It last knew its cache current before the hang, not when it gave the watch up.
      expect(informer.provenAt()!).toBeLessThanOrEqual(hungFrom + 100);
      expect(Date.now() - informer.provenAt()!).toBeGreaterThanOrEqual(300);
    } finally {
      sim.faults.clear();
    }
    // Started again, it lists (what it holds was last proven before the hang).
    await informer.start();
    expect(lists).toBe(2);
    expect(Date.now() - informer.provenAt()!).toBeLessThan(1000);
    await informer.stop();
  });

  it('lists again after its watch expired (410), a slice at a time with the event loop running in between, and deletes what the new list lacks', async () => {
    await core.createNamespace({ body: { metadata: { name: 'sliced' } } });
    for (let i = 0; i < 60; i++)
      await core.createNamespacedConfigMap({
        namespace: 'sliced',
        body: configMap(`cm-${i}`),
      });
    const informer = informerOf('sliced', 10);
    const events = seen(informer);
    const errors: unknown[] = [];
    informer.on('error', e => errors.push(e));
    await informer.start();
    expect(names(informer)).toHaveLength(60);
    events.length = 0;

    // The watch fails while objects change, then can only resume from a compacted resourceVersion.
    sim.faults.failVerb({ verb: 'watch', resource: 'configmaps', status: 500 });
    sim.faults.expireWatches();
    await eventually(
      () => errors.length,
      n => n > 0,
    );
    expect(errors.length).toBeGreaterThan(0);
    events.length = 0;
    for (let i = 0; i < 5; i++)
      await core.deleteNamespacedConfigMap({
        name: `cm-${i}`,
        namespace: 'sliced',
      });
    await core.createNamespacedConfigMap({
      namespace: 'sliced',
      body: configMap('cm-new'),
    });
    await core.replaceNamespacedConfigMap({
      name: 'cm-30',
      namespace: 'sliced',
      body: configMap('cm-30', '2'),
    });
    sim.faults.expireWatches();
    sim.faults.clear();

    // Turns of the event loop, counted while the relist is applied.
    const loop = { turns: 0, ticking: true };
    const tick = () => {
      loop.turns++;
      if (loop.ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turnOf = new Map<string, number>();
    for (const verb of ['add', 'update', 'delete'] as const)
      informer.on(verb, cm =>
        turnOf.set(`${verb} ${cm.metadata?.name}`, loop.turns),
      );
    await informer.start();
    const after = await eventually(
      () => events.slice(),
      e => e.length >= 7,
    );
    loop.ticking = false;
    expect(after.sort()).toEqual(
      [
        'add cm-new 1',
        'update cm-30 2',
        'delete cm-0 1',
        'delete cm-1 1',
        'delete cm-2 1',
        'delete cm-3 1',
        'delete cm-4 1',
      ].sort(),
    );
    expect(names(informer).sort()).toEqual(
      [...Array.from({ length: 55 }, (_, i) => `cm-${i + 5}`), 'cm-new'].sort(),
    );
    // 56 listed objects and 5 deletions in slices of 10: the event loop ran between them, so the
    // update (listed in the middle) and the deletions (last) came in different turns.
    expect(turnOf.get('delete cm-0')).toBeGreaterThan(
      turnOf.get('update cm-30')!,
    );
    expect(informer.latestResourceVersion()).not.toBe('');
    await informer.stop();
  });

  it('reports a failed list as an error and lists when started again', async () => {
    await core.createNamespace({ body: { metadata: { name: 'failing' } } });
    await core.createNamespacedConfigMap({
      namespace: 'failing',
      body: configMap('one'),
    });
    const informer = informerOf('failing');
    const errors: any[] = [];
    informer.on('error', e => errors.push(e));
    sim.faults.failVerb({ verb: 'list', resource: 'configmaps', status: 503 });
    await informer.start();
    sim.faults.clear();
    expect(errors).toHaveLength(1);
    expect(informer.list()).toEqual([]);
    await informer.start();
    expect(names(informer)).toEqual(['one']);
    expect(errors).toHaveLength(1);
    await informer.stop();
  });

  it('applies a list page by page as the pages arrive, and deletes what the list did not hold after its last page', async () => {
    // A watch that ends only when told to, with the error given (410 Expired: list again).
    let endWatch!: (err: unknown) => void;
    const watcher = {
      watch: async (
        _path: string,
        _query: object,
        _event: unknown,
        done: (err: unknown) => void,
      ) => {
        endWatch = done;
      },
    };
    const page = (items: string[], first = false) => ({
      items: items.map(name => configMap(name)),
      resourceVersion: '7',
      first,
    });
    let lastPage!: () => void;
    const lastPageAsked = new Promise<void>(r => (lastPage = r));
    let release!: () => void;
    const released = new Promise<void>(r => (release = r));
    let attempt = 0;
    const informer = new SlicedListWatch<V1ConfigMap>(
      '/api/v1/namespaces/paged/configmaps',
      watcher,
      async function* pages() {
        if (++attempt === 1) {
          yield page(['old'], true);
          return;
        }
        yield page(['a', 'b'], true);
        lastPage();
        await released;
        yield page(['c']);
      },
    );
    await informer.start();
    expect(names(informer)).toEqual(['old']);
    endWatch({ statusCode: 410 });
    // The first page is in the cache while the last one is still on its way.
    await lastPageAsked;
    expect(names(informer).sort()).toEqual(['a', 'b', 'old']);
    release();
    expect(
      await eventually(
        () => names(informer).sort(),
        n => n.length === 3 && !n.includes('old'),
      ),
    ).toEqual(['a', 'b', 'c']);
    expect(informer.latestResourceVersion()).toBe('7');
    await informer.stop();
  });

  describe('provenAt', () => {
    // A watcher whose watches are driven by the test: each call is kept with its callbacks.
    type Call = {
      query: Record<string, string>;
      event: (phase: string, object: unknown) => void;
      done: (err: unknown) => void;
      signal: AbortSignal;
    };
    let now = 0;
    beforeEach(() => {
      now = 1000;
      jest.spyOn(Date, 'now').mockImplementation(() => now);
    });
    afterEach(() => jest.restoreAllMocks());
    const bookmark = (rv: string) => ({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: rv },
    });
    const setUp = (lists: Array<() => AsyncIterable<any>>) => {
      const calls: Call[] = [];
      const informer = new SlicedListWatch<V1ConfigMap>(
        '/api/v1/namespaces/proof/configmaps',
        {
          watch: async (_path, query, event, done, signal) => {
            calls.push({ query, event, done, signal });
          },
        },
        () => lists.shift()!(),
      );
      const errors: unknown[] = [];
      informer.on('error', e => errors.push(e));
      return { informer, calls, errors };
    };
    // eslint-disable-next-line require-yield
    async function* failing(): AsyncIterable<any> {
      throw Object.assign(new Error('list answered 500'), { code: 500 });
    }
    async function* listed() {
      yield { items: [configMap('a')], resourceVersion: '10', first: true };
    }
    const settle = () => new Promise(r => setImmediate(r));

    it('moves on with events and bookmarks, not with an ERROR event nor with a connection that broke', async () => {
      const { informer, calls, errors } = setUp([listed]);
      await informer.start();
      expect(informer.provenAt()).toBe(1000);
      now = 5000;
      calls[0].event('BOOKMARK', bookmark('11'));
      expect(informer.provenAt()).toBe(5000);
      // 240 s of silence, then the connection is reset: nothing was heard after the bookmark.
      now = 245_000;
      calls[0].done(
        Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      );
      await settle();
      expect(errors).toHaveLength(1);
      expect(informer.provenAt()).toBe(5000);
      // Resumed: an ERROR event on the stream proves nothing, nor does the clean end after it; it
      // is the informer's failure.
      const failed = informer.start();
      await settle();
      expect(calls).toHaveLength(2);
      expect(calls[1].query.resourceVersion).toBe('11');
      now = 250_000;
      calls[1].event('ERROR', {
        kind: 'Status',
        code: 500,
        message: 'internal error',
      });
      calls[1].done(null);
      await settle();
      expect(informer.provenAt()).toBe(5000);
      expect(errors).toHaveLength(2);
      await failed;
      // Started again, the watch (from the same resourceVersion) delivers a change: proof.
      const resumed = informer.start();
      await settle();
      expect(calls).toHaveLength(3);
      expect(calls[2].query.resourceVersion).toBe('11');
      now = 251_000;
      calls[2].event('ADDED', {
        ...configMap('b'),
        metadata: { name: 'b', resourceVersion: '12' },
      });
      expect(informer.provenAt()).toBe(251_000);
      await resumed;
      // A watch the server ends cleanly carried everything up to its end.
      now = 260_000;
      calls[2].done(null);
      await settle();
      expect(informer.provenAt()).toBe(260_000);
      await informer.stop();
    });

    it('reports an ERROR event other than 410 as an error, and watches again only when started again, from where it was', async () => {
      const { informer, calls, errors } = setUp([listed]);
      await informer.start();
      now = 5000;
      calls[0].event('BOOKMARK', bookmark('11'));
      // What the API server sends when it cannot decode (or decrypt) an object it would send.
      now = 6000;
      calls[0].event('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'unable to decode an event from the watch stream',
        reason: 'InternalError',
        code: 500,
      });
      calls[0].event('ADDED', {
        ...configMap('late'),
        metadata: { name: 'late', resourceVersion: '12' },
      });
      calls[0].done(null);
      await settle();
      await settle();
      // No watch again at once (it would fail the same way, as fast as the server answers).
      expect(calls).toHaveLength(1);
      expect(calls[0].signal.aborted).toBe(true);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ApiException);
      expect(errors[0]).toMatchObject({
        code: 500,
        body: {
          reason: 'InternalError',
          message: 'unable to decode an event from the watch stream',
        },
      });
      expect(describeKubeError(errors[0])).toBe(
        'Kubernetes API answered 500: unable to decode an event from the watch stream',
      );
      // Nothing after the ERROR is taken in, and it proves nothing.
      expect(informer.get('late')).toBeUndefined();
      expect(informer.provenAt()).toBe(5000);
      // Started again (the health cache does after its delay): it resumes from where it was.
      const resumed = informer.start();
      await settle();
      expect(calls).toHaveLength(2);
      expect(calls[1].query.resourceVersion).toBe('11');
      now = 9000;
      calls[1].event('BOOKMARK', bookmark('12'));
      await resumed;
      expect(informer.provenAt()).toBe(9000);
      expect(errors).toHaveLength(1);
      await informer.stop();
    });

    it('lists again after an ERROR event of 410 Expired, with no error', async () => {
      const { informer, calls, errors } = setUp([listed, listed]);
      await informer.start();
      calls[0].event('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'too old resource version: 1 (426)',
        reason: 'Expired',
        code: 410,
      });
      calls[0].done(null);
      await settle();
      await settle();
      expect(errors).toEqual([]);
      expect(calls).toHaveLength(2);
      expect(calls[1].query.resourceVersion).toBe('10');
      await informer.stop();
    });

    it('lists again at once after a 410, but waits, longer each time, while every watch after a list expires without an event', async () => {
      jest.useFakeTimers({
        doNotFake: ['Date', 'setImmediate', 'nextTick', 'queueMicrotask'],
      });
      // The jitter at its least: each wait is half its delay.
      jest.spyOn(Math, 'random').mockReturnValue(0);
      try {
        let lists = 0;
        const calls: Call[] = [];
        const expired = {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'too old resource version: 1 (426)',
          reason: 'Expired',
          code: 410,
        };
        // A server that answers every watch with 410 Expired and ends it cleanly.
        const informer = new SlicedListWatch<V1ConfigMap>(
          '/api/v1/namespaces/proof/configmaps',
          {
            watch: async (_path, query, event, done, signal) => {
              calls.push({ query, event, done, signal });
              // Answered on a later turn of the event loop, as a server's answer comes.
              setImmediate(() => {
                event('ERROR', expired);
                done(null);
              });
            },
          },
          () => {
            lists++;
            return listed();
          },
        );
        const errors: unknown[] = [];
        informer.on('error', e => errors.push(e));
        await informer.start();
        for (let i = 0; i < 20; i++) await settle();
        // The first 410 lists again at once; the second in a row waits (800 ms, half of it jittered).
        expect(lists).toBe(2);
        expect(calls).toHaveLength(2);
        await jest.advanceTimersByTimeAsync(399);
        for (let i = 0; i < 5; i++) await settle();
        expect(lists).toBe(2);
        await jest.advanceTimersByTimeAsync(1);
        for (let i = 0; i < 5; i++) await settle();
        expect(lists).toBe(3);
        expect(calls).toHaveLength(3);
        // Then 1.6 s (at least 800 ms), 3.2 s (1.6 s)…
        await jest.advanceTimersByTimeAsync(799);
        for (let i = 0; i < 5; i++) await settle();
        expect(lists).toBe(3);
        await jest.advanceTimersByTimeAsync(1);
        for (let i = 0; i < 5; i++) await settle();
        expect(lists).toBe(4);
        // … up to 30 s: a minute of it lists a handful of times, not thousands.
        for (let s = 0; s < 60; s++) {
          await jest.advanceTimersByTimeAsync(1000);
          for (let i = 0; i < 5; i++) await settle();
        }
        expect(lists).toBeLessThan(12);
        expect(lists).toBeGreaterThan(5);
        expect(calls).toHaveLength(lists);
        expect(errors).toEqual([]);
        // stop() ends the wait: nothing is listed after it.
        const stoppedAt = lists;
        await informer.stop();
        await jest.advanceTimersByTimeAsync(120_000);
        for (let i = 0; i < 5; i++) await settle();
        expect(lists).toBe(stoppedAt);
        expect(jest.getTimerCount()).toBe(0);
      } finally {
        jest.useRealTimers();
      }
    });

    it('says it waits to list again after repeated 410s, from when, until a list proves the cache current again', async () => {
      jest.useFakeTimers({
        doNotFake: ['Date', 'setImmediate', 'nextTick', 'queueMicrotask'],
      });
      jest.spyOn(Math, 'random').mockReturnValue(0);
      try {
        const { informer, calls, errors } = setUp([listed, listed, listed]);
        await informer.start();
        expect(informer.provenAt()).toBe(1000);
        expect(informer.waitingSince()).toBeUndefined();
        // The first 410 lists again at once.
        now = 2000;
        calls[0].done({ statusCode: 410 });
        for (let i = 0; i < 5; i++) await settle();
        expect(calls).toHaveLength(2);
        expect(informer.provenAt()).toBe(2000);
        expect(informer.waitingSince()).toBeUndefined();
        // The second in a row, with no event since: no watch is open while it waits.
        now = 3000;
        calls[1].done({ statusCode: 410 });
        for (let i = 0; i < 5; i++) await settle();
        expect(calls).toHaveLength(2);
        expect(informer.waitingSince()).toBe(3000);
        expect(informer.provenAt()).toBe(2000);
        // Its wait over, the list proves the cache current again.
        now = 3400;
        await jest.advanceTimersByTimeAsync(400);
        for (let i = 0; i < 5; i++) await settle();
        expect(calls).toHaveLength(3);
        expect(informer.provenAt()).toBe(3400);
        expect(informer.waitingSince()).toBeUndefined();
        // Stopping the cache ends a wait.
        now = 4000;
        calls[2].done({ statusCode: 410 });
        for (let i = 0; i < 5; i++) await settle();
        expect(informer.waitingSince()).toBe(4000);
        await informer.stop();
        expect(informer.waitingSince()).toBeUndefined();
        expect(errors).toEqual([]);
      } finally {
        jest.useRealTimers();
      }
    });

    it('lists again at once after a 410 that follows a watch which delivered an event', async () => {
      const { informer, calls, errors } = setUp([listed, listed, listed]);
      await informer.start();
      calls[0].done({ statusCode: 410 });
      await settle();
      await settle();
      expect(calls).toHaveLength(2);
      // This watch delivers a bookmark before it expires: the next 410 lists at once too.
      calls[1].event('BOOKMARK', bookmark('11'));
      calls[1].done({ statusCode: 410 });
      await settle();
      await settle();
      expect(calls).toHaveLength(3);
      expect(errors).toEqual([]);
      await informer.stop();
    });

    it('does not move on when a watch resumed after an outage is answered 410 and the list after it fails, and start() waits for proof, not for the answer', async () => {
      const { informer, calls, errors } = setUp([listed, failing]);
      await informer.start();
      calls[0].done(
        Object.assign(new Error('connect ECONNREFUSED'), {
          code: 'ECONNREFUSED',
        }),
      );
      await settle();
      expect(errors).toHaveLength(1);
      // Ten minutes later the cluster answers again; the watch resumes.
      now = 600_000;
      let started = false;
      const resumed = informer.start().then(() => {
        started = true;
      });
      await settle();
      expect(calls).toHaveLength(2);
      // The watch was asked for (and, a real server, answered its headers): no proof yet.
      expect(started).toBe(false);
      expect(informer.provenAt()).toBe(1000);
      calls[1].done({ statusCode: 410 });
      await resumed;
      expect(errors).toHaveLength(2);
      expect(String(errors[1])).toMatch(/list answered 500/);
      expect(informer.provenAt()).toBe(1000);
      await informer.stop();
    });

    it('aborts the watch it gave up, and the one running when stopped', async () => {
      const { informer, calls } = setUp([listed, listed]);
      await informer.start();
      expect(calls[0].signal.aborted).toBe(false);
      calls[0].done({ statusCode: 410 });
      await settle();
      expect(calls[0].signal.aborted).toBe(true);
      expect(calls).toHaveLength(2);
      await informer.stop();
      expect(calls[1].signal.aborted).toBe(true);
    });
  });

  it('reports a watch that could not be started as an error, not as a rejected start', async () => {
    await core.createNamespace({ body: { metadata: { name: 'unwatched' } } });
    await core.createNamespacedConfigMap({
      namespace: 'unwatched',
      body: configMap('one'),
    });
    const refusing = {
      watch: async () => {
        throw new Error('no credentials for the cluster');
      },
    };
    const informer = new SlicedListWatch<V1ConfigMap>(
      '/api/v1/namespaces/unwatched/configmaps',
      refusing,
      () =>
        listInPages(page =>
          core.listNamespacedConfigMap({ namespace: 'unwatched', ...page }),
        ),
    );
    const errors: Error[] = [];
    informer.on('error', e => errors.push(e));
    // start() resolves once the list is in; the watch fails after.
    await expect(informer.start()).resolves.toBeUndefined();
    expect(
      await eventually(
        () => errors.map(e => e.message),
        e => e.length > 0,
      ),
    ).toEqual(['no credentials for the cluster']);
    expect(names(informer)).toEqual(['one']);
    await informer.stop();
  });
});
