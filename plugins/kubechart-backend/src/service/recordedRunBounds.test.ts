import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { nodesReadByAsync } from '@internal/kube-sim/testUtils';
import {
  MANIFEST_REQUEST_LIMITS,
  RECORDED_RUN_LIMITS,
} from '@kubechart/plugin-kubechart-node';
import yaml from 'js-yaml';
import request from 'supertest';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';
import { MAX_RECORDED_MANIFEST_OBJECTS } from './runsRecorded';

jest.setTimeout(180_000);

/**
 * What one recorded run's finish may bring is bounded: a manifest of more objects (each item of a
 * List counted) than drift compares in one pass is refused before anything walks it. A 4.9 MB List
 * of 65,482 flow-style ConfigMaps whose first item is a Secret held the event loop 10 s (its
 * redaction wrote the List out again, searching it for repeated objects).
 */
const SECRET = 'hunter2-Zq9vLp4w';

/** A List of a Secret and `n` ConfigMaps, one flow-style item a line (about 60 bytes each). */
const list = (n: number) =>
  [
    'apiVersion: v1',
    'kind: List',
    'items:',
    `- { apiVersion: v1, kind: Secret, metadata: { name: db }, stringData: { password: ${SECRET} } }`,
    ...Array.from(
      { length: n },
      (_, i) => `- {apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`,
    ),
  ].join('\n');

describe('the finish of a recorded run', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const audit: CapturedAuditEvent[] = [];
  const alice = mockCredentials.user.header('user:default/alice');
  const post = (path: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', alice)
      .send(body);
  const get = (path: string) =>
    request(server).get(`/api/kubechart${path}`).set('Authorization', alice);
  const record = async () => {
    const r = await post('/runs/record', {
      kind: 'custom',
      action: 'acme:bulk:apply',
      target: { cluster: 'dev', namespace: 'team-b' },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: { namespaces: { 'team-b': { owner: 'user:default/alice' } } },
        },
      }),
      features: [capturingAuditor(audit)],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it(`refuses a manifest of more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects with a 413 naming the limit, and records nothing`, async () => {
    const id = await record();
    // Four Lists of 16,600 items, each document within the bytes one may hold.
    const manifest = Array(4).fill(list(16_600)).join('\n---\n');
    expect(manifest.length).toBeGreaterThan(4_000_000);
    const finish = await post(`/runs/${id}/finish`, {
      status: 'succeeded',
      manifest,
    });
    expect(finish.status).toBe(413);
    expect(finish.body.error.message).toBe(
      `The manifest of recorded run ${id} holds more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects (each item of a List counted); a recorded run may report at most ${MAX_RECORDED_MANIFEST_OBJECTS}. Nothing was recorded`,
    );
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'running' });
    expect(run.body.manifest).toBeUndefined();
    // The run is still the action's to finish.
    const again = await post(`/runs/${id}/finish`, { status: 'failed' });
    expect(again.status).toBe(204);
  });

  /** Runs `fn` on a new recorded run, which is failed afterwards (its namespace free again). */
  const withRun = async (fn: (id: string) => Promise<void>) => {
    const id = await record();
    try {
      await fn(id);
    } finally {
      expect(
        (await post(`/runs/${id}/finish`, { status: 'failed' })).status,
      ).toBe(204);
    }
  };

  it(`refuses a List of more than ${MAX_RECORDED_MANIFEST_OBJECTS} items as its item over the limit is read, not once the whole List is (413)`, () =>
    withRun(async id => {
      // What reading a List of as many objects as allowed costs…
      let allowed = 0;
      yaml.loadAll(list(MAX_RECORDED_MANIFEST_OBJECTS - 1), null, {
        listener: (event: string) => {
          if (event === 'open') allowed++;
        },
      } as yaml.LoadOptions);
      // …and what refusing one of 20,001 costs: the item over the limit is where it stops.
      const { result: finish, nodes } = await nodesReadByAsync(() =>
        post(`/runs/${id}/finish`, {
          status: 'succeeded',
          manifest: list(20_000),
        }),
      );
      expect(finish.status).toBe(413);
      expect(finish.body.error.message).toContain(
        `holds more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects`,
      );
      expect(nodes).toBeLessThanOrEqual(allowed + 1);
    }));

  it(`refuses a manifest of more than ${RECORDED_RUN_LIMITS.maxManifestCharacters} characters before reading it, naming the limit (400)`, () =>
    withRun(async id => {
      const max = RECORDED_RUN_LIMITS.maxManifestCharacters;
      const head =
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {blob: "';
      const manifest = `${head}${'x'.repeat(max - head.length - 2)}"}\n`;
      const { result: finish, nodes } = await nodesReadByAsync(() =>
        post(`/runs/${id}/finish`, { status: 'succeeded', manifest }),
      );
      expect(finish.status).toBe(400);
      expect(finish.body.error.message).toBe(
        `Invalid finish request: manifest: ${
          max + 1
        } characters; a recorded run may report at most ${max} (RECORDED_RUN_LIMITS.maxManifestCharacters)`,
      );
      expect(nodes).toBe(0);
      expect((await get(`/runs/${id}`)).body.manifest).toBeUndefined();
    }));

  /** A ConfigMap of `keys` keys in its data, one a line (about 13 bytes each). */
  const wideConfigMap = (keys: number) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: wide }',
      'data:',
      ...Array.from({ length: keys }, (_, i) => `  k${i}: v`),
    ].join('\n');

  it.each([
    [
      'six ConfigMaps of 45,000 keys',
      () => Array(6).fill(wideConfigMap(45_000)).join('\n---\n'),
    ],
    [
      'six flow sequences of 45,000 numbers',
      () =>
        Array(6)
          .fill(
            `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: seq }\nx: [${'1,'.repeat(
              44_999,
            )}1]\n`,
          )
          .join('---\n'),
    ],
  ])(
    `refuses %s, more than ${MANIFEST_REQUEST_LIMITS.maxNodes} nodes, as the node over the limit is read (400 naming the limit)`,
    (_, make) =>
      withRun(async id => {
        const manifest = make();
        // Within the characters, the body bytes and the objects a recorded run may bring.
        expect(manifest.length).toBeLessThan(
          RECORDED_RUN_LIMITS.maxManifestCharacters,
        );
        const { result: finish, nodes } = await nodesReadByAsync(() =>
          post(`/runs/${id}/finish`, { status: 'succeeded', manifest }),
        );
        expect(finish.status).toBe(400);
        expect(finish.body.error.message).toBe(
          `The manifest of recorded run ${id} cannot be read: Manifests refused: more than ${MANIFEST_REQUEST_LIMITS.maxNodes} nodes once aliases are expanded; the limit maxNodes is ${MANIFEST_REQUEST_LIMITS.maxNodes}. Nothing was recorded`,
        );
        // Stopped where the limit was passed (a key and a value a node each), not once all was read.
        expect(nodes).toBeLessThanOrEqual(
          2 * MANIFEST_REQUEST_LIMITS.maxNodes + 1,
        );
        expect((await get(`/runs/${id}`)).body.manifest).toBeUndefined();
      }),
  );

  it.each([
    [
      'a ConfigMap of 2 MB',
      () =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: ${'y'.repeat(
          2_000_000,
        )}\n`,
      'the document starting on line 1 is larger than 1572864 bytes; the limit maxDocumentBytes is 1572864',
    ],
    [
      'a ConfigMap of 300,000 keys (3.9 MB) after a small one',
      () => `${wideConfigMap(10)}\n---\n${wideConfigMap(300_000)}`,
      'the document starting on line 15 is larger than 1572864 bytes; the limit maxDocumentBytes is 1572864',
    ],
    [
      'a ConfigMap of 60,000 keys (0.7 MB)',
      () => wideConfigMap(60_000),
      `document 1 holds more than ${MANIFEST_REQUEST_LIMITS.maxDocumentNodes} nodes once aliases are expanded; the limit maxDocumentNodes is ${MANIFEST_REQUEST_LIMITS.maxDocumentNodes}`,
    ],
  ])(
    'refuses %s, more than one document may hold, with a 400 naming the limit, and records nothing',
    (_, make, why) =>
      withRun(async id => {
        const { result: finish } = await nodesReadByAsync(() =>
          post(`/runs/${id}/finish`, {
            status: 'succeeded',
            manifest: make(),
          }),
        );
        expect(finish.status).toBe(400);
        expect(finish.body.error.message).toBe(
          `The manifest of recorded run ${id} cannot be read: Manifests refused: ${why}. Nothing was recorded`,
        );
        const run = await get(`/runs/${id}`);
        expect(run.body).toMatchObject({ status: 'running' });
        expect(run.body.manifest).toBeUndefined();
      }),
  );

  it('records a manifest of 4.4 MB in four documents of 1.1 MB, as large as the characters allow', async () => {
    const id = await record();
    const configMap = (i: number) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big-${i}}\ndata:\n  a: ${'abcd'[
        i - 1
      ].repeat(1_100_000)}\n`;
    const finish = await post(`/runs/${id}/finish`, {
      status: 'succeeded',
      manifest: [1, 2, 3, 4].map(configMap).join('---\n'),
    });
    expect(finish.status).toBe(204);
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'succeeded' });
    for (const i of [1, 2, 3, 4])
      expect(run.body.manifest).toContain(configMap(i));
  });

  it(`records a manifest of ${MAX_RECORDED_MANIFEST_OBJECTS} objects, its Secret's value hidden`, async () => {
    const id = await record();
    const finish = await post(`/runs/${id}/finish`, {
      status: 'succeeded',
      manifest: list(MAX_RECORDED_MANIFEST_OBJECTS - 1),
    });
    expect(finish.status).toBe(204);
    const run = await get(`/runs/${id}`);
    expect(run.body).toMatchObject({ status: 'succeeded' });
    expect(run.body.manifest).toContain(
      `name: c${MAX_RECORDED_MANIFEST_OBJECTS - 2}\n`,
    );
    expect(run.text).not.toContain(SECRET);
  });

  describe('refused for its writer, is audited as a failed run-finish', () => {
    /** Finishes a new run with `manifest`: its answer, once its audit event and run were checked. */
    const refusedFinish = async (manifest: string) => {
      const id = await record();
      audit.length = 0;
      try {
        const finish = await post(`/runs/${id}/finish`, {
          status: 'succeeded',
          manifest,
        });
        expect(audit).toEqual([
          expect.objectContaining({
            eventId: 'run-finish',
            status: 'failed',
            meta: expect.objectContaining({ runId: id, status: 'succeeded' }),
            error: finish.body.error.message,
          }),
        ]);
        expect(JSON.stringify(audit)).not.toContain(SECRET);
        const run = await get(`/runs/${id}`);
        expect(run.body).toMatchObject({ status: 'running' });
        expect(run.body.manifest).toBeUndefined();
        return { status: finish.status, message: finish.body.error.message };
      } finally {
        // Still the action's to finish (and its namespace free for the next test).
        expect(
          (await post(`/runs/${id}/finish`, { status: 'failed' })).status,
        ).toBe(204);
      }
    };

    it(`for a manifest of more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects (413)`, async () => {
      expect(await refusedFinish(list(MAX_RECORDED_MANIFEST_OBJECTS))).toEqual({
        status: 413,
        message: expect.stringContaining(
          `holds more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects`,
        ),
      });
    });

    it(`for a manifest of more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects, refused before the documents after it are read (413)`, async () => {
      // Not valid YAML in the document after the one over the limit: the limit is what the writer
      // is told.
      const manifest = `${list(
        MAX_RECORDED_MANIFEST_OBJECTS,
      )}\n---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: broken`;
      expect(await refusedFinish(manifest)).toEqual({
        status: 413,
        message: expect.stringMatching(
          `^The manifest of recorded run [0-9a-f-]+ holds more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects \\(each item of a List counted\\); a recorded run may report at most ${MAX_RECORDED_MANIFEST_OBJECTS}\\. Nothing was recorded$`,
        ),
      });
    });

    it('for a manifest that cannot be read (400)', async () => {
      expect(
        await refusedFinish(
          `apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData: { password: ${SECRET}\n  x: [`,
        ),
      ).toEqual({
        status: 400,
        message: expect.stringContaining('cannot be read'),
      });
    });

    it('for more secret values than one manifest may bring (400)', async () => {
      const manifest = [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: { name: many }',
        'stringData:',
        `  password: ${SECRET}`,
        ...Array.from({ length: 2001 }, (_, i) => `  k${i}: value-${i}-Qx7r`),
      ].join('\n');
      expect(await refusedFinish(manifest)).toEqual({
        status: 400,
        message: expect.stringContaining('Secret values refused'),
      });
    });
  });
});
