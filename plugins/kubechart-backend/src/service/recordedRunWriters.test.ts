import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import request from 'supertest';
import { serviceHeader } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
/** Reads every run, as every user does here. */
const BOB = 'user:default/bob';
const BOT = 'service:external:ci-bot';
const SCAFFOLDER = serviceHeader('plugin:scaffolder');
/** Another service the platform lets act on behalf of users. */
const OTHER_ALLOWED = serviceHeader('plugin:other');

/**
 * Who may add events to and finish a recorded run: its actor, and a service only when it may act on
 * behalf of users and recorded the run itself. Everyone else who may read the run gets 403, and a
 * service that may not read it (one that neither started nor recorded it) 404, as reading it would
 * answer; nothing changes.
 */
describe.each(databases.eachSupportedId())(
  'writers of a recorded run on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    let next = 0;

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        onBehalfOf: { allowedServices: ['plugin:scaffolder', 'plugin:other'] },
        clusters: {
          dev: {
            namespaces: Object.fromEntries(
              Array.from({ length: 10 }, (_, i) => [
                [`alice-${i}`, { owner: ALICE }],
                [`bot-${i}`, { owner: BOT }],
              ]).flat(),
            ),
          },
        },
      });
      const backend = await startKubechartBackend({ config, knex });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const post = (auth: string, path: string, body: object) =>
      request(server)
        .post(`/api/kubechart${path}`)
        .set('Authorization', auth)
        .send(body);
    /** Records a chart run in a namespace of its own (a recorded run locks its namespace). */
    const record = async (
      auth: string,
      prefix: 'alice' | 'bot',
      extra: object = {},
    ) => {
      const r = await post(auth, '/runs/record', {
        kind: 'chart',
        action: 'acme:cache:create',
        target: { cluster: 'dev', namespace: `${prefix}-${next++}` },
        ...extra,
      });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    /** What a reader sees of the run. */
    const seen = async (id: string) => {
      const run = await request(server)
        .get(`/api/kubechart/runs/${id}`)
        .set('Authorization', mockCredentials.user.header(ALICE));
      const events = await request(server)
        .get(`/api/kubechart/runs/${id}/events`)
        .set('Authorization', mockCredentials.user.header(ALICE));
      return {
        status: run.body.status,
        helmRevision: run.body.helmRevision,
        events: events.body.items.map((e: any) => e.message),
      };
    };
    /** Posts events and a finish as `auth`; returns both answers. */
    const write = async (auth: string, id: string) => {
      const events = await post(auth, `/runs/${id}/events`, {
        events: [{ message: 'installed revision 7' }],
      });
      const finish = await post(auth, `/runs/${id}/finish`, {
        status: 'succeeded',
        helmRevision: 7,
      });
      return [events, finish].map(r => ({
        status: r.status,
        message: r.body?.error?.message,
      }));
    };

    it("refuses a service outside the allow-list and another user on a user's run; the run is unchanged", async () => {
      const id = await record(mockCredentials.user.header(ALICE), 'alice');
      const refusal = {
        status: 403,
        message: `Run ${id} was recorded by ${ALICE}; only ${ALICE} may add events to or finish it`,
      };
      expect(await write(mockCredentials.user.header(BOB), id)).toEqual([
        refusal,
        refusal,
      ]);
      const unreadable = { status: 404, message: `Run ${id} not found` };
      expect(await write(mockCredentials.service.header(), id)).toEqual([
        unreadable,
        unreadable,
      ]);
      expect(await seen(id)).toEqual({
        status: 'running',
        helmRevision: undefined,
        events: [],
      });
      // Alice, who recorded it, still may.
      expect(
        (await write(mockCredentials.user.header(ALICE), id)).map(
          r => r.status,
        ),
      ).toEqual([204, 204]);
      expect(await seen(id)).toEqual({
        status: 'succeeded',
        helmRevision: 7,
        events: ['installed revision 7'],
      });
    });

    it('lets only the service that recorded a run on behalf of a user write to it', async () => {
      const id = await record(SCAFFOLDER, 'alice', { onBehalfOf: ALICE });
      const refusal = {
        status: 403,
        message: `Run ${id} was recorded by service:plugin:scaffolder on behalf of ${ALICE}; only ${ALICE} or service:plugin:scaffolder may add events to or finish it`,
      };
      expect(await write(mockCredentials.user.header(BOB), id)).toEqual([
        refusal,
        refusal,
      ]);
      const unreadable = { status: 404, message: `Run ${id} not found` };
      expect(await write(OTHER_ALLOWED, id)).toEqual([unreadable, unreadable]);
      expect(await seen(id)).toEqual({
        status: 'running',
        helmRevision: undefined,
        events: [],
      });
      expect((await write(SCAFFOLDER, id)).map(r => r.status)).toEqual([
        204, 204,
      ]);
      expect(await seen(id)).toMatchObject({
        status: 'succeeded',
        helmRevision: 7,
      });
    });

    it('lets a service write to the run it recorded as itself, and no other service', async () => {
      const botHeader = serviceHeader('external:ci-bot');
      const id = await record(botHeader, 'bot');
      const refusal = {
        status: 403,
        message: `Run ${id} was recorded by ${BOT}; only ${BOT} may add events to or finish it`,
      };
      expect(await write(mockCredentials.user.header(BOB), id)).toEqual([
        refusal,
        refusal,
      ]);
      const unreadable = { status: 404, message: `Run ${id} not found` };
      expect(await write(SCAFFOLDER, id)).toEqual([unreadable, unreadable]);
      expect((await write(botHeader, id)).map(r => r.status)).toEqual([
        204, 204,
      ]);
    });

    it("leaves a user's run recorded before the recorder was kept to that user", async () => {
      const id = await record(SCAFFOLDER, 'alice', { onBehalfOf: ALICE });
      // What migration 20261207000000_recorded_by leaves on such a run: no recorder.
      await knex('kubechart_runs').where({ id }).update({ recorded_by: null });
      const refusal = {
        status: 403,
        message: `Run ${id} of ${ALICE} was recorded before kubechart kept who records runs; only ${ALICE} may add events to or finish it`,
      };
      expect(await write(mockCredentials.user.header(BOB), id)).toEqual([
        refusal,
        refusal,
      ]);
      // Nor does the scaffolder read it any more: nothing tells that it recorded it.
      const unreadable = { status: 404, message: `Run ${id} not found` };
      expect(await write(SCAFFOLDER, id)).toEqual([unreadable, unreadable]);
      expect(
        (await write(mockCredentials.user.header(ALICE), id)).map(
          r => r.status,
        ),
      ).toEqual([204, 204]);
    });
  },
);
