import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Knex } from 'knex';
import request from 'supertest';
import auditLogPlugin from '@kubechart/plugin-audit-log-backend';
import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';
import { kubechartPlugin } from './plugin';
import {
  CapturedAuditEvent,
  capturingAuditor,
  capturingLogger,
} from './__testUtils__/capture';
import { chartDirectory, startSim, testConfig } from './__testUtils__/setup';
import { tableDump } from './__testUtils__/tableDump';
import { Diff, lineDiff } from 'diff';
import yaml from 'js-yaml';
import http from 'node:http';
import os from 'node:os';

jest.setTimeout(180_000);

/** 428 bytes of YAML that expand to 387 million nodes (9 levels of 9 aliases). */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map(
      (c, i) =>
        `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`,
    ),
].join('\n');

/**
 * Starts the kubechart backend against kube-sim. Its audit events go to `audit`, or, when `audit`
 * is `'audit-log'`, through the real audit-log auditor into the audit-log plugin's tables.
 */
async function startBackend(
  sim: KubeSim,
  /** A database per plugin id (each plugin has its own, as in production); default in-memory SQLite. */
  knexByPlugin: Record<string, Knex> | undefined,
  logs: string[],
  audit: CapturedAuditEvent[] | 'audit-log',
  extra: Record<string, any> = {},
) {
  // Namespaces (not tenants) the platform gave the mock user: runs recorded below go there.
  const mine = Object.fromEntries(
    ['team-m', 'team-d1', 'team-d2', 'team-h', 'team-f'].map(n => [
      n,
      { owner: 'user:default/mock' },
    ]),
  );
  const data = testConfig(sim, {
    health: { startOnBoot: false },
    clusters: { dev: { namespaces: mine } },
    ...extra,
  });
  const backend = await startTestBackend({
    features: [
      kubechartPlugin,
      // The catalog a tenant run's entityRef is checked against: none of the tenants' entities exist yet.
      catalogServiceMock.factory({ entities: [] }),
      mockServices.rootConfig.factory({ data }),
      ...(knexByPlugin
        ? [
            createServiceFactory({
              service: coreServices.database,
              deps: { plugin: coreServices.pluginMetadata },
              factory: ({ plugin }) =>
                mockServices.database.mock({
                  getClient: async () => knexByPlugin[plugin.getId()],
                }),
            }),
          ]
        : []),
      capturingLogger(logs),
      ...(audit === 'audit-log'
        ? [auditLogPlugin, auditLogAuditorServiceFactory]
        : [capturingAuditor(audit)]),
      createServiceFactory({
        service: signalsServiceRef,
        deps: {},
        factory: () => ({ publish: async () => {} }),
      }),
    ],
  });
  return backend;
}

describe('kubechart backend under hostile input', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const logs: string[] = [];
  const audit: CapturedAuditEvent[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startBackend(sim, undefined, logs, audit);
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  /**
   * Sends a hostile request and counts the work done for it: the nodes js-yaml opens, the reads of
   * the values it returns (an alias is one shared object, so walking a bomb's aliases expanded reads
   * millions; past a million the read throws, so such a walk ends) and the calls of `JSON.parse`
   * on text nested deeper than 100. Counts, not time: the machine may be busy.
   */
  async function workFor(send: () => request.Test) {
    const work = { yamlNodes: 0, valueReads: 0, deepJsonParses: 0 };
    const proxies = new WeakMap<object, object>();
    const counted = (value: unknown): unknown => {
      if (value === null || typeof value !== 'object') return value;
      let proxy = proxies.get(value);
      if (!proxy) {
        proxy = new Proxy(value, {
          get(target, key, receiver) {
            if (++work.valueReads > 1_000_000)
              throw new Error('read a million values of parsed YAML');
            return counted(Reflect.get(target, key, receiver));
          },
        });
        proxies.set(value, proxy);
      }
      return proxy;
    };
    const loadAll = yaml.loadAll;
    const parse = JSON.parse;
    const yamlSpy = jest
      .spyOn(yaml, 'loadAll')
      .mockImplementation((text: string, iterator?: any, options?: any) => {
        const opts =
          iterator && typeof iterator === 'object' ? iterator : options;
        const listener = opts?.listener;
        const docs = loadAll(text, null, {
          ...opts,
          listener: (event: 'open' | 'close', state: any) => {
            if (event === 'open') work.yamlNodes++;
            listener?.(event, state);
          },
        });
        return (docs as unknown[]).map(counted) as any;
      });
    const deep = '{"a":'.repeat(101);
    const jsonSpy = jest
      .spyOn(JSON, 'parse')
      .mockImplementation((text: string, reviver?: any) => {
        if (typeof text === 'string' && text.includes(deep))
          work.deepJsonParses++;
        return parse(text, reviver);
      });
    try {
      return { response: await send(), work };
    } finally {
      yamlSpy.mockRestore();
      jsonSpy.mockRestore();
    }
  }

  /**
   * Sends a request and, for each line diff of jsdiff over more than 1,000 lines while it is
   * handled (the object-by-object diff diffs small objects, the fallback the whole texts), counts the turns of the event loop from its start to its result (a `setImmediate`
   * queued anew each turn): none when it runs to its end as one synchronous stretch, however long.
   */
  async function largeDiffTurns(send: () => request.Test) {
    let turns = 0;
    let done = false;
    const turn = () => {
      if (done) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    const spans: number[] = [];
    const run = (Diff.prototype as any).diffWithOptionsObj;
    const spy = jest
      .spyOn(Diff.prototype as any, 'diffWithOptionsObj')
      .mockImplementation(function countedDiff(
        this: unknown,
        oldTokens: any,
        newTokens: any,
        options: any,
        callback: any,
      ) {
        const large =
          this === lineDiff && oldTokens.length + newTokens.length > 1000;
        const from = turns;
        const result = run.call(
          this,
          oldTokens,
          newTokens,
          options,
          callback &&
            ((value: unknown) => {
              if (large) spans.push(turns - from);
              callback(value);
            }),
        );
        if (large && !callback) spans.push(turns - from);
        return result;
      });
    try {
      return { response: await send(), spans };
    } finally {
      done = true;
      spy.mockRestore();
    }
  }

  const post = (path: string, body: unknown) => () =>
    request(server)
      .post(`/api/kubechart${path}`)
      .send(body as object);

  it.each([
    [
      'an alias bomb to /policy/check',
      post('/policy/check', { namespace: 'team-a', manifests: ALIAS_BOMB }),
      /Manifests refused: .*the limit maxExpandedChars is 5242880/,
    ],
    [
      'an alias bomb to /runs/preview',
      post('/runs/preview', {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-a',
        manifests: ALIAS_BOMB,
      }),
      /the limit maxExpandedChars is 5242880/,
    ],
    [
      'deeply nested YAML',
      post('/policy/check', {
        namespace: 'team-a',
        manifests: `a: ${'['.repeat(100_000)}`,
      }),
      /the limit maxDepth is 100/,
    ],
    [
      'a deeply nested JSON body',
      () =>
        request(server)
          .post('/api/kubechart/runs/preview')
          .set('Content-Type', 'application/json')
          .send(
            `{"kind":"chart","cluster":"dev","namespace":"a","release":{"name":"w","chart":"webapp","values":${'{"a":'.repeat(
              50_000,
            )}1${'}'.repeat(50_000)}}}`,
          ),
      /Request body refused: nesting deeper than 100; the limit maxDepth is 100/,
    ],
    [
      'a hundred thousand documents',
      post('/runs/preview', {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-a',
        manifests: '---\na: 1\n'.repeat(110_000),
      }),
      /the limit maxDocuments is 1000/,
    ],
  ])(
    'answers %s with a 400 naming the limit, refused before the costly part',
    async (_name, send, message) => {
      const { response, work } = await workFor(send);
      // js-yaml reads no deeper than the nesting limit and nothing of a stream over the document
      // limit, nothing walks a bomb's aliases expanded, `JSON.parse` never sees the deep body.
      expect(work.yamlNodes).toBeLessThan(1000);
      expect(work.valueReads).toBeLessThan(1000);
      expect(work.deepJsonParses).toBe(0);
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(message);
    },
  );

  it.each([
    ['/policy/check', { namespace: 'team-a' }],
    ['/runs/preview', { kind: 'chart', cluster: 'dev', namespace: 'team-a' }],
  ])(
    'answers values the chart cannot render at %s with a 400 carrying helm’s message, no stack, no host path',
    async (path, body) => {
      for (const values of [{ image: 'not-a-map' }, { replicas: 'a: b\nc' }]) {
        const r = await request(server)
          .post(`/api/kubechart${path}`)
          .send({ ...body, release: { name: 'w', chart: 'webapp', values } });
        expect(r.status).toBe(400);
        expect(r.body.error.name).toBe('InputError');
        expect(r.body.error.message).toMatch(
          /^helm template failed: .*webapp\/templates\/deployment\.yaml.*(can't evaluate field repository|YAML parse error)/s,
        );
        expect(r.text).not.toMatch(/"stack"|\s+at \S+ \(/);
        for (const hostPath of [chartDirectory, os.tmpdir(), process.cwd()])
          expect(r.text).not.toContain(hostPath);
      }
    },
  );

  it.each([
    ['/policy/check', { namespace: 'team-a' }],
    [
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev', namespace: 'team-m' },
    ],
    ['/runs', { kind: 'manifests', cluster: 'dev', namespace: 'team-m' }],
  ])(
    'answers manifests helm reads otherwise than the policy at %s with a 400 naming the character and line',
    async (path, body) => {
      const hidden = [
        // go-yaml (helm) ends the comment at U+2028 and reads `hostNetwork: true`; js-yaml a comment.
        [
          'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  # notes\u2028  hostNetwork: true\n  containers: []\n',
          /Manifests holds U\+2028 \(LINE SEPARATOR\) on line 5: helm's YAML reader reads it as a line break and js-yaml does not/,
        ],
        // helm's YAMLReader starts a document (an indented Pod); js-yaml reads a key of the ConfigMap.
        [
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n---\u00a0#: |\n  apiVersion: v1\n  kind: Pod\n  metadata: { name: p }\n  spec: { hostNetwork: true, containers: [] }\n',
          /Manifests has a line starting with --- followed by U\+00A0 on line 4: helm's YAML reader starts a new document there and js-yaml does not/,
        ],
      ] as const;
      for (const [manifests, message] of hidden) {
        const r = await request(server)
          .post(`/api/kubechart${path}`)
          .send({ ...body, manifests });
        expect(r.status).toBe(400);
        expect(r.body.error.message).toMatch(message);
      }
    },
  );

  it('refuses a recorded manifest of too many documents with a 400, without reading them', async () => {
    const r = await request(server)
      .post('/api/kubechart/runs/record')
      .send({
        kind: 'custom',
        action: 'acme:x:y',
        target: { cluster: 'dev', namespace: 'team-m' },
      });
    const { response, work } = await workFor(
      post(`/runs/${r.body.id}/finish`, {
        status: 'succeeded',
        manifest: '---\na: 1\n'.repeat(200_000),
      }),
    );
    // Refused on a count of its document markers: js-yaml never reads the stream.
    expect(work.yamlNodes).toBe(0);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(
      'the limit maxDocuments is 1000',
    );
  });

  it('diffs two very different recorded manifests without stalling, or says it will not', async () => {
    const recordWith = async (namespace: string, manifest: string) => {
      const r = await request(server)
        .post('/api/kubechart/runs/record')
        .send({
          kind: 'custom',
          action: 'acme:x:y',
          target: { cluster: 'dev', namespace },
        });
      const done = await request(server)
        .post(`/api/kubechart/runs/${r.body.id}/finish`)
        .send({ status: 'succeeded', manifest });
      expect(done.status).toBe(204);
      return r.body.id as string;
    };
    const objects = (prefix: string) =>
      Array.from(
        { length: 900 },
        (_, i) =>
          `kind: ConfigMap\nmetadata:\n  name: ${prefix}-${i}\ndata:\n  k: ${prefix}${i}\n  l: ${prefix}${i}\n`,
      ).join('---\n');
    const a = await recordWith('team-d1', objects('a'));
    const b = await recordWith('team-d2', objects('b'));
    const { response, spans } = await largeDiffTurns(() =>
      request(server).get(`/api/kubechart/runs/${a}/diff/${b}`),
    );
    expect(response.status).toBe(200);
    expect(response.body.manifest).toMatch(
      /^# diff not shown: manifest@.* differ in more than 2000 lines/,
    );
    // The whole texts are diffed step by step, other work going on between the steps.
    expect(spans.length).toBeGreaterThan(0);
    for (const span of spans) expect(span).toBeGreaterThan(100);
  });

  it('holds at most ten open event streams per caller, and frees a place when one closes', async () => {
    const started = await request(server)
      .post('/api/kubechart/runs/record')
      .send({
        kind: 'custom',
        action: 'acme:x:follow',
        target: { cluster: 'dev', namespace: 'team-f' },
      });
    expect(started.status).toBe(201);
    const { port } = server.address();
    /** Opens a follow stream and resolves with its status once its headers came (the stream stays open). */
    const follow = () =>
      new Promise<{ status: number; body: Promise<string>; close: () => void }>(
        (resolve, reject) => {
          const req = http.get(
            `http://127.0.0.1:${port}/api/kubechart/runs/${started.body.id}/events?follow=true`,
            res => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (text += c));
              const body = new Promise<string>(done =>
                res.on('end', () => done(text)),
              );
              resolve({
                status: res.statusCode ?? 0,
                body,
                close: () => req.destroy(),
              });
            },
          );
          req.on('error', reject);
        },
      );
    const streams = [];
    for (let i = 0; i < 10; i++) streams.push(await follow());
    expect(streams.map(s => s.status)).toEqual(Array(10).fill(200));
    const refused = await follow();
    expect(refused.status).toBe(429);
    expect(JSON.parse(await refused.body).error.message).toContain(
      'user:default/mock already follows 10 run event streams, the most one caller may hold open at once',
    );
    streams.pop()!.close();
    let again = await follow();
    for (let i = 0; again.status === 429 && i < 50; i++) {
      await new Promise(r => setTimeout(r, 20)); // the server sees the close a moment later
      again = await follow();
    }
    expect(again.status).toBe(200);
    // The run ends: its streams end, and their places are free.
    expect(
      (
        await request(server)
          .post(`/api/kubechart/runs/${started.body.id}/finish`)
          .send({ status: 'succeeded' })
      ).status,
    ).toBe(204);
    for (const s of [...streams, again])
      expect(await s.body).toContain('"type":"end"');
    const after = await follow();
    expect(after.status).toBe(200);
    await after.body;
  });

  it('scrubs half a megabyte of hostile log text in linear time', async () => {
    const started = await request(server)
      .post('/api/kubechart/runs/record')
      .send({
        kind: 'custom',
        action: 'acme:x:y',
        target: { cluster: 'dev', namespace: 'team-h' },
      });
    expect(started.status).toBe(201);
    // `a-a-a-…` made the old key=value regex quadratic: every position is a word boundary.
    const message = `${'a-'.repeat(4_990)}password=hunter22`;
    const events = Array.from({ length: 50 }, () => ({ message }));
    const sent = Date.now();
    const response = await post(`/runs/${started.body.id}/events`, {
      events,
    })();
    expect(response.status).toBe(204);
    // A regular expression retrying from every position of hostile text: one generous bound, 50
    // times this request on a loaded runner (under 200 ms), far below the quadratic scrub's time.
    expect(Date.now() - sent).toBeLessThan(10_000);
    const stored = await request(server).get(
      `/api/kubechart/runs/${started.body.id}/events`,
    );
    expect(stored.body.items.length).toBeGreaterThanOrEqual(50);
    expect(stored.body.items[0].message.endsWith('password=***')).toBe(true);
  });

  it.each([
    ['/policy/check', { namespace: 'team-a' }, 'report'],
    [
      '/runs/preview',
      { kind: 'manifests', cluster: 'dev', namespace: 'team-a' },
      'policyReport',
    ],
  ])(
    'checks a ConfigMap of a megabyte of near-JWT text at %s without stalling, and still finds a real token',
    async (path, body, reportField) => {
      // `-eyJ-eyJ…` made the old JWT pattern retry 8192 characters from every `eyJ`: seconds.
      const manifests = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'near-miss', namespace: 'team-a' },
        data: {
          blob: '-eyJ'.repeat(249_000),
          session:
            'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
        },
      });
      const sent = Date.now();
      const response = await post(path, { ...body, manifests })();
      // A regular expression retrying from every position of hostile text: one generous bound, over
      // 20 times this request on a loaded runner (under 800 ms).
      const tookMs = Date.now() - sent;
      expect(response.status).toBe(200);
      expect(
        response.body[reportField].results
          .filter((r: any) => r.ruleId === 'no-secret-values' && !r.passed)
          .map((r: any) => r.message),
      ).toEqual(['ConfigMap key "session" holds a JSON Web Token']);
      expect(tookMs).toBeLessThan(20_000);
    },
  );
});

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const USER_SECRET = 'userGiven-Secret-7d21';

describe.each(databases.eachSupportedId())(
  'redaction by value on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let auditKnex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let core: CoreV1Api;
    const logs: string[] = [];
    const responses: string[] = [];

    const track = (r: request.Response) => {
      responses.push(r.text ?? JSON.stringify(r.body));
      return r;
    };
    const get = async (path: string) =>
      track(await request(server).get(`/api/kubechart${path}`));
    const post = async (path: string, body: object) =>
      track(await request(server).post(`/api/kubechart${path}`).send(body));
    const getAuditLog = async (path: string) =>
      track(await request(server).get(`/api/audit-log${path}`));
    /** Waits until the audit-log plugin has stored the run's outcome; returns it as the API answers it. */
    async function waitForAuditedOutcome(runId: string) {
      for (let i = 0; i < 300; i++) {
        const r = await getAuditLog(
          `/events?eventId=run-finished&limit=50&severity=high`,
        );
        expect(r.status).toBe(200);
        const found = r.body.items.find(
          (e: any) => e.target?.resource === `run:${runId}`,
        );
        if (found) return found;
        await new Promise(res => setTimeout(res, 100));
      }
      throw new Error(`the audit log holds no run-finished event for ${runId}`);
    }
    async function waitForRun(id: string) {
      for (let i = 0; i < 600; i++) {
        const r = await get(`/runs/${id}`);
        if (r.body.status === 'succeeded' || r.body.status === 'failed')
          return r.body;
        await new Promise(res => setTimeout(res, 200));
      }
      throw new Error(`run ${id} did not finish`);
    }

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      auditKnex = await databases.init(databaseId);
      // An operator who lets charts put credentials in ConfigMaps (policy warns): redaction must still hold.
      const policy = {
        mode: 'enforce',
        trustedRegistries: ['registry.example.com'],
        rules: { 'no-secret-values': 'warning' },
      };
      // The real audit trail: the audit-log auditor and plugin, storing into the same database.
      const backend = await startBackend(
        sim,
        { kubechart: knex, 'audit-log': auditKnex },
        logs,
        'audit-log',
        { policy },
      );
      server = backend.server;
      stop = () => backend.stop();
      const kc = new KubeConfig();
      kc.loadFromString(sim.kubeconfig);
      kc.clusters[0] = { ...kc.clusters[0], caData: sim.caData } as any;
      core = kc.makeApiClient(CoreV1Api);
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const tenantRequest = {
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'vault',
      entityRef: 'component:default/vault',
      credentials: ['databasePassword'],
      releases: [
        {
          name: 'db',
          chart: 'dbclient',
          values: { database: { password: USER_SECRET } },
        },
      ],
    };

    it('finds a generated or given secret nowhere: API responses, every KubeChart and audit-log table, logs', async () => {
      const preview = await post('/runs/preview', tenantRequest);
      expect(preview.status).toBe(200);
      expect(preview.body.manifest).toContain(
        'ADMIN_URL: postgres://admin:***@db:5432/app',
      );
      expect(
        (
          await post('/policy/check', {
            namespace: 'tenant-vault',
            release: tenantRequest.releases[0],
          })
        ).status,
      ).toBe(200);

      const created = await post('/runs', tenantRequest);
      expect(created.status).toBe(202);
      const run = await waitForRun(created.body.id);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });

      // The chart really copied both secrets into plain objects on the cluster.
      const creds = await core.readNamespacedSecret({
        name: 'kubechart-tenant-credentials',
        namespace: 'tenant-vault',
      });
      const generated = Buffer.from(
        creds.data!.databasePassword,
        'base64',
      ).toString();
      expect(generated.length).toBeGreaterThanOrEqual(16);
      const cm = await core.readNamespacedConfigMap({
        name: 'db-config',
        namespace: 'tenant-vault',
      });
      expect(cm.data!.DATABASE_URL).toContain(generated);
      expect(cm.data!.ADMIN_URL).toContain(USER_SECRET);

      // What readers get: the objects are there, the secrets are not.
      expect(run.manifest).toContain(
        'DATABASE_URL: postgres://app:***@db:5432/app',
      );
      // A Secret inside a List, sent for a policy check, comes back redacted.
      const listed = await post('/policy/check', {
        namespace: 'tenant-vault',
        manifests: `apiVersion: v1\nkind: List\nitems:\n- { apiVersion: v1, kind: Secret, metadata: { name: s }, stringData: { url: "postgres://app:${USER_SECRET}@db/app" } }\n`,
      });
      expect(listed.status).toBe(200);
      expect(listed.body.manifest).toContain("url: '***'");
      await get(`/runs/${run.id}/events`);
      await get(`/runs/${run.id}/diff/${run.id}`);
      await get('/runs?limit=50');
      await get('/tenants');
      await get('/tenants/vault');
      await get('/metrics/summary');
      await get(`/runs/${run.id}/events?follow=true`);

      // The end of the run is in the audit trail, at severity high, with its entity.
      const outcome = await waitForAuditedOutcome(run.id);
      expect(outcome).toMatchObject({
        eventId: 'run-finished',
        severity: 'high',
        status: 'succeeded',
        target: { entityRef: 'component:default/vault' },
        meta: expect.objectContaining({
          runId: run.id,
          outcome: 'succeeded',
          actor: 'user:default/mock',
        }),
      });
      const trail = await getAuditLog('/events?limit=500');
      expect(trail.body.items.map((e: any) => e.eventId)).toEqual(
        expect.arrayContaining(['run-create', 'run-finished']),
      );
      for (const e of trail.body.items)
        expect((await getAuditLog(`/events/${e.seq}`)).status).toBe(200);
      await getAuditLog('/verify');
      const csv = await request(server).get('/api/audit-log/export?format=csv');
      expect(csv.status).toBe(200);
      responses.push(csv.text);
      const ndjson = await request(server).get(
        '/api/audit-log/export?format=ndjson',
      );
      responses.push(ndjson.text);

      const needles = [
        generated,
        USER_SECRET,
        Buffer.from(generated).toString('base64'),
        Buffer.from(USER_SECRET).toString('base64'),
      ];
      const tablesOf = async (db: Knex): Promise<string[]> =>
        db.client.config.client === 'pg'
          ? (
              await db('information_schema.tables')
                .where({ table_schema: db.raw('current_schema()') })
                .select('table_name')
            ).map((t: any) => t.table_name)
          : (
              await db('sqlite_master').where({ type: 'table' }).select('name')
            ).map((t: any) => t.name);
      const tables: Array<[Knex, string]> = [];
      for (const db of [knex, auditKnex])
        for (const table of await tablesOf(db)) tables.push([db, table]);
      expect(tables.map(([, t]) => t)).toEqual(
        expect.arrayContaining([
          'kubechart_runs',
          'kubechart_run_events',
          'kubechart_tenants',
          'audit_log_events',
          'audit_log_chain_head',
        ]),
      );
      const haystacks: Array<[string, string]> = [
        ['responses', responses.join('\n')],
        ['logs', logs.join('\n')],
      ];
      for (const [db, table] of tables)
        haystacks.push([`table ${table}`, await tableDump(db, table)]);
      // The search finds what is there: the audit trail holds the run's outcome.
      expect(
        haystacks.find(([where]) => where === 'table audit_log_events')![1],
      ).toContain(run.id);
      const hits = haystacks.flatMap(([where, text]) =>
        needles.filter(n => text.includes(n)).map(n => `${where} holds ${n}`),
      );
      expect(hits).toEqual([]);
    });
  },
);
