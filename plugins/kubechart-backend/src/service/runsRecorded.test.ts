import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
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
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { RunEngine } from '../engine/RunEngine';
import { readEngineSettings } from '../engine/settings';
import { kubechartPlugin } from '../plugin';
import { startSim, testConfig } from '../__testUtils__/setup';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describe.each(databases.eachSupportedId())(
  'recorded runs on %p',
  databaseId => {
    let sim: KubeSim;
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    /** Another backend instance on the same database (it reconciles what this one's action left). */
    let other: RunEngine;
    const audit: CapturedAuditEvent[] = [];
    const data = (s: KubeSim) =>
      testConfig(s, {
        health: { startOnBoot: false },
        recovery: { staleAfterSeconds: 60, releaseLocksAfterSeconds: 600 },
        // Not tenants: the platform gave these to the mock user, and team-other to someone else.
        clusters: {
          dev: {
            namespaces: {
              'team-cache': { owner: 'user:default/mock' },
              'team-queue': { owner: 'user:default/mock' },
              'team-once': { owner: 'user:default/mock' },
              'team-other': { owner: 'group:default/others' },
              'team-prod': { owner: 'user:default/mock' },
              'team-events': { owner: 'user:default/mock' },
              'team-claim': { owner: 'user:default/mock' },
              'team-stuck': { owner: 'user:default/mock' },
              'team-late': { owner: 'user:default/mock' },
              'team-beat': { owner: 'user:default/mock' },
              'team-owned': { owner: 'user:default/mock' },
            },
          },
        },
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['team-prod'],
              approvers: ['group:default/managers'],
            },
          ],
        },
      });
    const post = (path: string, body: object) =>
      request(server).post(`/api/kubechart${path}`).send(body);
    const get = (path: string) => request(server).get(`/api/kubechart${path}`);
    const record = (target: object) =>
      post('/runs/record', {
        kind: 'chart',
        action: 'acme:cache:create',
        target: { cluster: 'dev', ...target },
      });

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

    it('lock the namespace, not only the release: no other run starts there meanwhile', async () => {
      const cache = await record({ namespace: 'team-cache', release: 'cache' });
      expect(cache.status).toBe(201);
      const id = cache.body.id;

      const engineRun = await post('/runs', {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-cache',
        manifests:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other }\ndata: { a: "1" }',
      });
      const otherRelease = await record({
        namespace: 'team-cache',
        release: 'queue',
      });
      for (const r of [engineRun, otherRelease]) {
        expect(r.status).toBe(409);
        expect(r.body.error.message).toBe(
          `Run ${id} (chart, running, started by user:default/mock) is already active on ns:dev/team-cache; wait for it to finish`,
        );
      }
      // Another namespace is free.
      const elsewhere = await record({
        namespace: 'team-queue',
        release: 'cache',
      });
      expect(elsewhere.status).toBe(201);
      expect(
        (
          await post(`/runs/${elsewhere.body.id}/finish`, {
            status: 'succeeded',
          })
        ).status,
      ).toBe(204);

      expect(
        (
          await post(`/runs/${id}/finish`, {
            status: 'succeeded',
            helmRevision: 1,
          })
        ).status,
      ).toBe(204);
      const after = await record({ namespace: 'team-cache', release: 'queue' });
      expect(after.status).toBe(201);
      await post(`/runs/${after.body.id}/finish`, { status: 'succeeded' });
    });

    it('are fenced by their lease: once another instance reconciled a silent action, its events and finish change nothing', async () => {
      const r = await record({ namespace: 'team-cache', release: 'cache' });
      expect(r.status).toBe(201);
      const id = r.body.id;
      expect(
        (
          await post(`/runs/${id}/events`, {
            events: [{ message: 'installing' }],
          })
        ).status,
      ).toBe(204);
      // The action goes silent for longer than the stale period; backend B reconciles the run.
      await knex('kubechart_runs')
        .where({ id })
        .update({ heartbeat_at: Date.now() - 5 * 60_000 });
      expect(await other.recoverStaleRuns()).toBe(1);
      const reconciled = (await get(`/runs/${id}`)).body;
      expect(reconciled.status).toBe('failed');
      expect(reconciled.failureReason).toMatch(
        /^heartbeat lost: the action acme:cache:create that recorded this run last reported at \S+Z, 30\ds before this check \(stale after 60s\); lease taken over by backend instance backend-b$/,
      );

      // The action wakes up: what it sends is refused, and the reconciled status stands.
      const late = await post(`/runs/${id}/events`, {
        events: [{ message: 'installed revision 3' }],
      });
      expect(late.status).toBe(409);
      expect(late.body.error.message).toContain(
        `Run ${id} is no longer executed by this backend instance: it was reconciled as failed by another instance`,
      );
      const finish = await post(`/runs/${id}/finish`, {
        status: 'succeeded',
        helmRevision: 3,
      });
      expect(finish.status).toBe(409);
      const after = (await get(`/runs/${id}`)).body;
      expect({
        status: after.status,
        reason: after.failureReason,
        helmRevision: after.helmRevision,
        transitions: after.transitions.map((t: any) => t.status),
      }).toEqual({
        status: 'failed',
        reason: reconciled.failureReason,
        helmRevision: undefined,
        transitions: ['pending', 'running', 'failed'],
      });
      const events = (await get(`/runs/${id}/events`)).body.items.map(
        (e: any) => e.message,
      );
      expect(events).toEqual([
        'installing',
        `Run failed: ${reconciled.failureReason}`,
      ]);
      // The action has evidently stopped: the refused finish released the namespace.
      const next = await record({ namespace: 'team-cache', release: 'cache' });
      expect(next.status).toBe(201);
      await post(`/runs/${next.body.id}/finish`, { status: 'succeeded' });
    });

    it('refuses to record a run in a namespace the caller does not own, or a tenant run, and records nothing', async () => {
      const before = (await get('/runs?limit=200')).body.items.length;
      const foreign = await record({
        namespace: 'team-other',
        release: 'cache',
      });
      expect(foreign.status).toBe(403);
      expect(foreign.body.error.message).toBe(
        'Namespace team-other on cluster dev is assigned to group:default/others; runs there need membership of that owner',
      );
      const unassigned = await record({ namespace: 'team-nobody' });
      expect(unassigned.status).toBe(403);
      const tenant = await post('/runs/record', {
        kind: 'tenant-delete',
        action: 'acme:tenant:drop',
        target: { cluster: 'dev', namespace: 'team-cache' },
      });
      expect(tenant.status).toBe(400);
      expect(tenant.body.error.message).toContain(
        'A tenant-delete run is executed by kubechart (POST /runs); it cannot be recorded',
      );
      expect((await get('/runs?limit=200')).body.items.length).toBe(before);
      // The namespace is not locked by a refused record.
      const mine = await record({
        namespace: 'team-cache',
        release: 'refused-check',
      });
      expect(mine.status).toBe(201);
      expect(
        (await post(`/runs/${mine.body.id}/finish`, { status: 'succeeded' }))
          .status,
      ).toBe(204);
    });

    it('refuses a finish whose manifest holds objects outside the run’s namespace, and records nothing', async () => {
      const r = await record({ namespace: 'team-cache', release: 'scoped' });
      const outside = [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: victim-config, namespace: team-other }\ndata: { note: x }\n',
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: mine }\n',
        'apiVersion: example.com/v1\nkind: Unserved\nmetadata: { name: odd }\n',
      ];
      for (const manifest of outside) {
        const refused = await post(`/runs/${r.body.id}/finish`, {
          status: 'succeeded',
          manifest,
        });
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toMatch(
          /^The manifest of recorded run .* holds 1 object\(s\) outside its namespace team-cache: (ConfigMap\/victim-config is in namespace team-other|ClusterRole\/mine is cluster-scoped|Unserved\/odd \(example.com\/v1\) is of a kind whose scope is unknown to the cluster)/,
        );
      }
      // Nothing recorded: the run is still the action's to finish.
      expect((await get(`/runs/${r.body.id}`)).body).toMatchObject({
        status: 'running',
      });
      expect((await get(`/runs/${r.body.id}`)).body.manifest).toBeUndefined();
      const inside = await post(`/runs/${r.body.id}/finish`, {
        status: 'succeeded',
        manifest:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: own }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: also, namespace: team-cache }\n',
      });
      expect(inside.status).toBe(204);
      expect((await get(`/runs/${r.body.id}`)).body).toMatchObject({
        status: 'succeeded',
      });
    });

    it('are no baseline for the approvers of a protected target: a recorded "applied" change does not make the one asked for look unchanged', async () => {
      const manifest =
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { mode: open }\n';
      // Nothing is recorded on a protected target now...
      const refused = await post('/runs/record', {
        kind: 'manifests',
        action: 'acme:settings:apply',
        target: { cluster: 'dev', namespace: 'team-prod' },
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        'Namespace team-prod on cluster dev is protected by approval rule production: changes there need approval (POST /runs), and a recorded run cannot be approved; nothing was recorded',
      );
      // ...but a run recorded before the approval rule protected the namespace is in its history.
      const runs = new DatabaseRunStore(knex);
      const recorded = await runs.createRun(
        {
          id: randomUUID(),
          kind: 'manifests',
          status: 'pending',
          actor: 'user:default/mock',
          action: 'acme:settings:apply',
          target: { cluster: 'dev', namespace: 'team-prod' },
          input: {},
        },
        [],
      );
      await runs.finishRun(recorded.id, 'succeeded', { manifest });
      const asked = await post('/runs', {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-prod',
        manifests: manifest,
      });
      expect(asked.status).toBe(202);
      const run = (await get(`/runs/${asked.body.id}`)).body;
      expect(run.status).toBe('awaiting-approval');
      // Reviewed as a change with nothing applied before it, not as "no change since the recorded run".
      expect(run.approval.previousRunId).toBeUndefined();
    });

    it('are not finished into history on a target an approval rule protects since they were recorded: refused as a record there is, the run failed and its namespace released', async () => {
      // Recorded (its lease claimed by the action) before the rule protected team-prod.
      const runs = new DatabaseRunStore(knex);
      const recorded = await runs.createRun(
        {
          id: randomUUID(),
          kind: 'manifests',
          status: 'pending',
          actor: 'user:default/mock',
          action: 'acme:settings:apply',
          recordedBy: 'user:default/mock',
          target: { cluster: 'dev', namespace: 'team-prod' },
          input: {},
        },
        ['ns:dev/team-prod'],
      );
      expect((await runs.claimRun(recorded.id, 'backend-a')).epoch).toBe(1);
      audit.length = 0;
      const refused = await post(`/runs/${recorded.id}/finish`, {
        status: 'succeeded',
        manifest:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { mode: open }\n',
      });
      const message =
        'Namespace team-prod on cluster dev is protected by approval rule production: changes there need approval (POST /runs), and a recorded run cannot be approved; nothing was recorded';
      expect({ status: refused.status, body: refused.body.error }).toEqual({
        status: 403,
        body: expect.objectContaining({ name: 'NotAllowedError', message }),
      });
      const after = (await get(`/runs/${recorded.id}`)).body;
      expect({
        status: after.status,
        failureReason: after.failureReason,
        manifest: after.manifest,
      }).toEqual({
        status: 'failed',
        failureReason: `Its finish (succeeded) was refused: ${message}`,
        manifest: undefined,
      });
      expect(audit.filter(e => e.eventId === 'run-finish')).toEqual([
        expect.objectContaining({
          status: 'failed',
          error: message,
          meta: expect.objectContaining({
            runId: recorded.id,
            status: 'succeeded',
            cluster: 'dev',
            namespace: 'team-prod',
            runStatus: 'failed',
            locksReleased: true,
          }),
        }),
      ]);
      // Nothing holds the namespace any more: an approved change can start there.
      expect(
        await knex('kubechart_locks').where({ run_id: recorded.id }),
      ).toEqual([]);
    });

    it('are in the audit trail as run-events: the run, how many, the step names and statuses, never the log text; refused and failed ones too', async () => {
      const r = await record({ namespace: 'team-events', release: 'audited' });
      expect(r.status).toBe(201);
      const id = r.body.id;
      audit.length = 0;
      const sent = await post(`/runs/${id}/events`, {
        events: [
          {
            message: 'pulling from https://deploy:hunter22@charts.example',
            step: 'pull',
            stepStatus: 'started',
          },
          { message: 'a log line only the history keeps' },
          { message: 'pulled', step: 'pull', stepStatus: 'succeeded' },
        ],
      });
      expect(sent.status).toBe(204);
      // Someone who is not the run's writer.
      const foreign = await request(server)
        .post(`/api/kubechart/runs/${id}/events`)
        .set('Authorization', mockCredentials.user.header('user:default/eve'))
        .send({
          events: [{ message: 'x', step: 'deploy', stepStatus: 'succeeded' }],
        });
      expect(foreign.status).toBe(403);
      // Once it finished, its lease is gone.
      expect(
        (await post(`/runs/${id}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
      const late = await post(`/runs/${id}/events`, {
        events: [{ message: 'late', step: 'verify', stepStatus: 'started' }],
      });
      expect(late.status).toBe(409);

      const recorded = audit.filter(e => e.eventId === 'run-events');
      expect(
        recorded.map(e => ({
          status: e.status,
          severity: e.severityLevel,
          meta: e.meta,
        })),
      ).toEqual([
        {
          status: 'succeeded',
          severity: 'medium',
          meta: {
            runId: id,
            count: 3,
            steps: [
              { step: 'pull', status: 'started' },
              { step: 'pull', status: 'succeeded' },
            ],
            stepCount: 2,
          },
        },
        {
          status: 'failed',
          severity: 'medium',
          meta: {
            runId: id,
            count: 1,
            steps: [{ step: 'deploy', status: 'succeeded' }],
            stepCount: 1,
            actor: 'user:default/eve',
            outcome: 'refused',
          },
        },
        {
          status: 'failed',
          severity: 'medium',
          meta: {
            runId: id,
            count: 1,
            steps: [{ step: 'verify', status: 'started' }],
            stepCount: 1,
          },
        },
      ]);
      expect(recorded[2].error).toContain(`Run ${id} is no longer executed`);
      const text = JSON.stringify(recorded);
      expect(text).not.toContain('log line');
      expect(text).not.toContain('hunter22');
    });

    it('are recorded as stored when another instance reconciled the run just after: one run-events event, succeeded, and the action told to stop', async () => {
      const r = await record({ namespace: 'team-late', release: 'late' });
      expect(r.status).toBe(201);
      const id = r.body.id;
      const renewLeases = DatabaseRunStore.prototype.renewLeases;
      // Backend B reconciles the silent run between the append and the heartbeat that follows it.
      const renew = jest
        .spyOn(DatabaseRunStore.prototype, 'renewLeases')
        .mockImplementationOnce(async function renewAfterB(
          this: DatabaseRunStore,
          leases,
        ) {
          await knex('kubechart_runs')
            .where({ id })
            .update({ heartbeat_at: Date.now() - 5 * 60_000 });
          await other.recoverStaleRuns();
          return renewLeases.call(this, leases);
        });
      audit.length = 0;
      const sent = await post(`/runs/${id}/events`, {
        events: [
          {
            message: 'installed revision 2',
            step: 'install',
            stepStatus: 'succeeded',
          },
        ],
      });
      renew.mockRestore();
      // The action learns its run is no longer its own, and that what it sent was kept.
      expect(sent.status).toBe(409);
      expect(sent.body.error.message).toMatch(
        new RegExp(
          `^Run ${id} is no longer executed by this backend instance: it was reconciled as failed by another instance \\(heartbeat lost: .*\\)\\. The 1 event sent was recorded before that was found; nothing more is accepted for this run$`,
        ),
      );
      const events = (await get(`/runs/${id}/events`)).body.items.map(
        (e: any) => e.message,
      );
      expect(events).toContain('installed revision 2');
      // One event for the post, and it says what happened: the events were stored.
      const recorded = audit.filter(e => e.eventId === 'run-events');
      expect(recorded.map(e => ({ status: e.status, meta: e.meta }))).toEqual([
        {
          status: 'succeeded',
          meta: {
            runId: id,
            count: 1,
            steps: [{ step: 'install', status: 'succeeded' }],
            stepCount: 1,
            leaseLost: expect.stringMatching(
              new RegExp(
                `^Run ${id} is no longer executed by this backend instance: it was reconciled as failed by another instance \\(heartbeat lost: `,
              ),
            ),
          },
        },
      ]);
      // The action has evidently stopped reporting: the namespace is free.
      const next = await record({ namespace: 'team-late' });
      expect(next.status).toBe(201);
      await post(`/runs/${next.body.id}/finish`, { status: 'succeeded' });
    });

    it('are recorded as stored when the heartbeat after them fails', async () => {
      const r = await record({ namespace: 'team-beat' });
      expect(r.status).toBe(201);
      const id = r.body.id;
      const renew = jest
        .spyOn(DatabaseRunStore.prototype, 'renewLeases')
        .mockRejectedValueOnce(new Error('connection terminated unexpectedly'));
      audit.length = 0;
      const sent = await post(`/runs/${id}/events`, {
        events: [{ message: 'installing' }],
      });
      renew.mockRestore();
      expect(sent.status).toBe(204);
      expect(
        (await get(`/runs/${id}/events`)).body.items.map((e: any) => e.message),
      ).toContain('installing');
      expect(
        audit
          .filter(e => e.eventId === 'run-events')
          .map(e => ({ status: e.status, meta: e.meta })),
      ).toEqual([
        {
          status: 'succeeded',
          meta: {
            runId: id,
            count: 1,
            steps: [],
            stepCount: 0,
            heartbeatFailed: 'connection terminated unexpectedly',
          },
        },
      ]);
      expect(
        (await post(`/runs/${id}/finish`, { status: 'succeeded' })).status,
      ).toBe(204);
    });

    it('fail a run they created but could not start, release its namespace and say so', async () => {
      const claim = jest
        .spyOn(DatabaseRunStore.prototype, 'claimRun')
        .mockRejectedValueOnce(new Error('connection terminated unexpectedly'));
      audit.length = 0;
      const r = await record({ namespace: 'team-claim', release: 'unclaimed' });
      claim.mockRestore();
      expect(r.status).toBe(500);
      const id = /^Recorded run (\S+) /.exec(r.body.error.message)?.[1];
      expect(r.body.error.message).toBe(
        `Recorded run ${id} was created but could not be started (Error: connection terminated unexpectedly); it was marked failed and its locks (namespace team-claim on cluster dev) were released. Nothing else was recorded; record the run again`,
      );
      expect((await get(`/runs/${id}`)).body).toMatchObject({
        status: 'failed',
        failureReason:
          'The backend could not start this recorded run after creating it: Error: connection terminated unexpectedly',
      });
      expect(
        audit
          .filter(e => e.eventId === 'run-record')
          .map(e => ({ status: e.status, meta: e.meta })),
      ).toEqual([
        {
          status: 'failed',
          meta: expect.objectContaining({
            namespace: 'team-claim',
            runId: id,
            runStatus: 'failed',
            locksReleased: true,
          }),
        },
      ]);
      // The namespace is free at once.
      const next = await record({ namespace: 'team-claim' });
      expect(next.status).toBe(201);
      await post(`/runs/${next.body.id}/finish`, { status: 'succeeded' });
    });

    it('say so when a run they could not start could not be failed either, and record which run holds the namespace', async () => {
      const claim = jest
        .spyOn(DatabaseRunStore.prototype, 'claimRun')
        .mockRejectedValueOnce(new Error('connection terminated unexpectedly'));
      const finish = jest
        .spyOn(DatabaseRunStore.prototype, 'finishRun')
        .mockRejectedValueOnce(new Error('connection refused'));
      audit.length = 0;
      const r = await record({ namespace: 'team-stuck' });
      claim.mockRestore();
      finish.mockRestore();
      expect(r.status).toBe(500);
      const id = /^Recorded run (\S+) /.exec(r.body.error.message)?.[1];
      expect(r.body.error.message).toBe(
        `Recorded run ${id} was created but could not be started (Error: connection terminated unexpectedly), nor marked failed (Error: connection refused); it stays pending and holds its locks (namespace team-stuck on cluster dev) until stale-run recovery fails it and its locks are taken over (kubechart.recovery.releaseLocksAfterSeconds: 600)`,
      );
      expect((await get(`/runs/${id}`)).body.status).toBe('pending');
      expect(
        audit
          .filter(e => e.eventId === 'run-record')
          .map(e => ({ status: e.status, meta: e.meta })),
      ).toEqual([
        {
          status: 'failed',
          meta: expect.objectContaining({
            runId: id,
            runStatus: 'pending',
            locksReleased: false,
          }),
        },
      ]);
    });

    it('refuses a second finish (the lease ended with the first)', async () => {
      const r = await record({ namespace: 'team-once' });
      expect(
        (
          await post(`/runs/${r.body.id}/finish`, {
            status: 'failed',
            failureReason: 'boom',
          })
        ).status,
      ).toBe(204);
      const again = await post(`/runs/${r.body.id}/finish`, {
        status: 'succeeded',
      });
      expect(again.status).toBe(409);
      expect(again.body.error.message).toContain('it already failed');
      expect((await get(`/runs/${r.body.id}`)).body).toMatchObject({
        status: 'failed',
        failureReason: 'boom',
      });
    });

    it('record who owned their target as they started, as runs started through POST /runs do (drift compares a run only while it still does)', async () => {
      const r = await record({ namespace: 'team-owned', release: 'owned' });
      expect(r.status).toBe(201);
      await post(`/runs/${r.body.id}/finish`, { status: 'succeeded' });
      expect(
        await knex('kubechart_runs')
          .where({ id: r.body.id })
          .first('target_owner'),
      ).toEqual({ target_owner: 'user:default/mock' });
    });
  },
);
