import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
} from '@kubechart/plugin-kubechart-node';
import { Knex } from 'knex';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { RunEngine } from '../engine/RunEngine';
import { readEngineSettings } from '../engine/settings';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import {
  CapturedAuditEvent,
  capturingAuditor,
  capturingAuditorService,
} from '../__testUtils__/capture';
import { settleEndedRuns } from '../engine/runOutcomes';
import { createRunOutcomeAuditor } from './runAudit';
import {
  MAX_RECORDED_RUN_EVENTS,
  MAX_RECORDED_RUN_EVENT_CHARACTERS,
} from './runsRecorded';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * A recorded run cannot hold its namespace, or grow its history, without end: its action's events
 * renew its lease, so an action posting one event every two minutes kept the namespace locked
 * forever, and each post could add 1000 events of 10,000 characters. A recorded run now ends
 * (`failed`, its locks released) once older than `kubechart.recovery.recordedRunMaxSeconds`, and
 * stores at most so many events (and characters of their messages).
 */
describe.each(databases.eachSupportedId())(
  'the bounds of a recorded run on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    /** Another backend instance on the same database: it reconciles what this one's actions left. */
    let other: RunEngine;
    const audit: CapturedAuditEvent[] = [];
    const data = (s: KubeSim) =>
      testConfig(s, {
        health: { startOnBoot: false },
        recovery: {
          staleAfterSeconds: 60,
          releaseLocksAfterSeconds: 600,
          recordedRunMaxSeconds: 3600,
        },
        clusters: {
          dev: {
            namespaces: {
              'team-long': { owner: 'user:default/mock' },
              'team-young': { owner: 'user:default/mock' },
              'team-count': { owner: 'user:default/mock' },
              'team-chars': { owner: 'user:default/mock' },
              'team-told': { owner: 'user:default/mock' },
              'team-owed': { owner: 'user:default/mock' },
            },
          },
        },
      });
    const post = (path: string, body: object) =>
      request(server).post(`/api/kubechart${path}`).send(body);
    const get = (path: string) => request(server).get(`/api/kubechart${path}`);
    const record = async (namespace: string) => {
      const r = await post('/runs/record', {
        kind: 'custom',
        action: 'acme:job:run',
        target: { cluster: 'dev', namespace },
      });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const storedEvents = async (id: string) =>
      Number(
        (
          await knex('kubechart_run_events')
            .where({ run_id: id })
            .count<{ n: number | string }[]>('seq as n')
        )[0].n,
      );

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          kubechartPlugin,
          mockServices.rootConfig.factory({ data: data(sim) }),
          mockServices.database.factory({ knex }),
          capturingAuditor(audit),
          createServiceFactory({
            service: signalsServiceRef,
            deps: {},
            factory: () => ({ publish: async () => undefined }),
          }),
        ],
      });
      server = backend.server;
      stop = () => backend.stop();
      const config = new ConfigReader(data(sim));
      other = new RunEngine({
        store: new DatabaseRunStore(knex),
        clusters: ClusterRegistry.fromConfig(config),
        helm: HelmCli.fromConfig(config),
        policy: PolicyEngine.fromConfig(config),
        logger: mockServices.logger.mock(),
        settings: readEngineSettings(config),
        instanceId: 'backend-b',
      });
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it('ends a recorded run older than recordedRunMaxSeconds, however often its action reports, and frees its namespace', async () => {
      const id = await record('team-long');
      const young = await record('team-young');
      // Both recorded long ago; the first just over the lifetime, the other just under it.
      const now = Date.now();
      await knex('kubechart_runs')
        .where({ id })
        .update({ created_at: now - 3_700_000, started_at: now - 3_700_000 });
      await knex('kubechart_runs')
        .where({ id: young })
        .update({ created_at: now - 3_000_000, started_at: now - 3_000_000 });
      // Their actions keep reporting: their heartbeats are fresh.
      for (const run of [id, young])
        expect(
          (
            await post(`/runs/${run}/events`, {
              events: [{ message: 'still working' }],
            })
          ).status,
        ).toBe(204);

      expect(await other.recoverStaleRuns()).toBe(1);
      const ended = (await get(`/runs/${id}`)).body;
      expect(ended.status).toBe('failed');
      expect(ended.failureReason).toMatch(
        /^lifetime exceeded: the action acme:job:run recorded this run at \S+Z, 3[67]\d\ds before this check; a recorded run may last at most 3600s \(kubechart\.recovery\.recordedRunMaxSeconds\); ended by backend instance backend-b, its locks released$/,
      );
      expect((await get(`/runs/${young}`)).body.status).toBe('running');

      // What the action sends now is refused, and nothing of it is stored.
      const late = await post(`/runs/${id}/events`, {
        events: [{ message: 'done' }],
      });
      expect(late.status).toBe(409);
      expect(late.body.error.message).toContain('lifetime exceeded');
      const finish = await post(`/runs/${id}/finish`, { status: 'succeeded' });
      expect(finish.status).toBe(409);
      expect((await get(`/runs/${id}`)).body.status).toBe('failed');
      const events = (await get(`/runs/${id}/events`)).body.items.map(
        (e: any) => e.message,
      );
      expect(events).toEqual([
        'still working',
        `Run failed: ${ended.failureReason}`,
      ]);
      // Its namespace is free at once.
      const next = await record('team-long');
      expect(
        (await post(`/runs/${next}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
      expect(
        (await post(`/runs/${young}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
    });

    it('audits the end of a recorded run it ended as a failed run-finished event, once, by the instance that ended it or the outcome pass', async () => {
      const told = await record('team-told');
      const owed = await record('team-owed');
      const now = Date.now();
      await knex('kubechart_runs')
        .whereIn('id', [told, owed])
        .update({ created_at: now - 3_700_000, started_at: now - 3_700_000 });
      for (const run of [told, owed])
        expect(
          (
            await post(`/runs/${run}/events`, {
              events: [{ message: 'still working' }],
            })
          ).status,
        ).toBe(204);
      const store = new DatabaseRunStore(knex);
      const logger = mockServices.logger.mock();
      const emitted: CapturedAuditEvent[] = [];
      const auditRunOutcome = createRunOutcomeAuditor(
        capturingAuditorService(emitted),
        logger,
        store,
      );
      const finished = (id: string) =>
        [...emitted, ...audit].filter(
          e => e.eventId === 'run-finished' && e.meta.runId === id,
        );
      const expectEnded = (id: string) =>
        expect(finished(id)).toEqual([
          expect.objectContaining({
            severityLevel: 'high',
            status: 'failed',
            meta: expect.objectContaining({
              runId: id,
              kind: 'custom',
              outcome: 'failed',
              actor: 'user:default/mock',
              namespace: id === told ? 'team-told' : 'team-owed',
            }),
            error: expect.stringMatching(
              /^lifetime exceeded: the action acme:job:run recorded this run/,
            ),
          }),
        ]);

      // The instance that ends the run tells its listener, which the plugin wires to the auditor.
      const config = new ConfigReader(data(sim));
      const ender = new RunEngine({
        store,
        clusters: ClusterRegistry.fromConfig(config),
        helm: HelmCli.fromConfig(config),
        policy: PolicyEngine.fromConfig(config),
        logger,
        settings: readEngineSettings(config),
        instanceId: 'backend-c',
        listener: {
          onRunChanged: run => {
            if (run.id === told) void auditRunOutcome(run);
          },
        },
      });
      expect(await ender.recoverStaleRuns()).toBe(2);
      for (let i = 0; i < 100 && !finished(told).length; i++)
        await new Promise(r => setTimeout(r, 50));
      expectEnded(told);
      // The other run's end was not told to an auditor (as when another instance stopped right
      // after ending it): it stays owed, and the outcome pass emits its event.
      expect(finished(owed)).toEqual([]);
      await settleEndedRuns({
        store,
        logger,
        audit: auditRunOutcome,
        graceMs: 0,
      });
      expectEnded(owed);
      expectEnded(told);
      const unaudited = await store.findUnauditedRuns({
        endedBefore: new Date(Date.now() + 60_000),
        staleClaimBefore: new Date(Date.now() + 60_000),
        limit: 1000,
      });
      // Neither is owed any more.
      expect(unaudited.map(r => r.id)).not.toContain(told);
      expect(unaudited.map(r => r.id)).not.toContain(owed);
    });

    it(`refuses events beyond ${MAX_RECORDED_RUN_EVENTS} with a 413, storing nothing of that post`, async () => {
      const id = await record('team-count');
      const batch = (n: number) => ({
        events: Array.from({ length: n }, (_, i) => ({ message: `line ${i}` })),
      });
      for (let i = 0; i < MAX_RECORDED_RUN_EVENTS / 1000; i++)
        expect((await post(`/runs/${id}/events`, batch(1000))).status).toBe(
          204,
        );
      expect(await storedEvents(id)).toBe(MAX_RECORDED_RUN_EVENTS);
      audit.length = 0;
      const over = await post(`/runs/${id}/events`, batch(1));
      expect(over.status).toBe(413);
      expect(over.body.error.message).toBe(
        `Recorded run ${id} holds ${MAX_RECORDED_RUN_EVENTS} events; with the 1 sent it would hold ${
          MAX_RECORDED_RUN_EVENTS + 1
        }, more than the ${MAX_RECORDED_RUN_EVENTS} a recorded run may store. Nothing was recorded`,
      );
      expect(await storedEvents(id)).toBe(MAX_RECORDED_RUN_EVENTS);
      expect(
        audit.filter(e => e.eventId === 'run-events').map(e => e.status),
      ).toEqual(['failed']);
      // The run may still be finished.
      expect(
        (await post(`/runs/${id}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
    });

    it(`refuses events beyond ${MAX_RECORDED_RUN_EVENT_CHARACTERS} characters of messages with a 413, storing nothing of that post`, async () => {
      const id = await record('team-chars');
      const big = (n: number) => ({
        events: Array.from({ length: n }, (_, i) => ({
          message: `${i}`.padEnd(10_000, 'x'),
        })),
      });
      const per = 450; // 4.5 million characters a post, under the 5 MiB body limit
      const fit = Math.floor(
        MAX_RECORDED_RUN_EVENT_CHARACTERS / (per * 10_000),
      );
      for (let i = 0; i < fit; i++)
        expect((await post(`/runs/${id}/events`, big(per))).status).toBe(204);
      const over = await post(`/runs/${id}/events`, big(per));
      expect(over.status).toBe(413);
      expect(over.body.error.message).toBe(
        `Recorded run ${id} holds ${
          fit * per * 10_000
        } characters of event messages; with the ${
          per * 10_000
        } sent it would hold ${
          (fit + 1) * per * 10_000
        }, more than the ${MAX_RECORDED_RUN_EVENT_CHARACTERS} a recorded run may store. Nothing was recorded`,
      );
      expect(await storedEvents(id)).toBe(fit * per);
      // What still fits is stored.
      expect(
        (await post(`/runs/${id}/events`, { events: [{ message: 'done' }] }))
          .status,
      ).toBe(204);
      expect(await storedEvents(id)).toBe(fit * per + 1);
      expect(
        (await post(`/runs/${id}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
    });
  },
);
