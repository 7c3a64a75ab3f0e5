import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import {
  CapturedAuditEvent,
  capturingAuditor,
  capturingLogger,
} from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';
import { deniesOnly } from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const MALLORY = 'user:default/mallory';
const BOB = 'user:default/bob';
const EVE = 'user:default/eve';
/** `kubechart.limits.refusedAttemptsAuditedPerMinute` here. */
const RECORDED_PER_MINUTE = 8;

/** Everyone may do everything but mallory and eve, who may do nothing. */
const denyMallory = deniesOnly(MALLORY, EVE);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('attempts the permission framework refuses', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const audit: CapturedAuditEvent[] = [];
  const as = (who: string) => mockCredentials.user.header(who);

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: (() => {
        const config = testConfig(sim, { health: { startOnBoot: false } });
        config.kubechart.limits = {
          ...config.kubechart.limits,
          refusedAttemptsAuditedPerMinute: RECORDED_PER_MINUTE,
        } as any;
        return config;
      })(),
      knex: await databases.init('SQLITE_3'),
      features: [denyMallory, capturingAuditor(audit)],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it('are in the audit trail, with who tried what, and change nothing', async () => {
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', as(ALICE))
      .send({ kind: 'tenant', cluster: 'dev', tenant: 'kept', releases: [] });
    expect(created.status).toBe(202);
    const runId = created.body.id;
    audit.length = 0;

    const attempts = [
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(MALLORY))
        .send({
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'taken',
          releases: [],
        }),
      request(server)
        .post(`/api/kubechart/runs/${runId}/approve`)
        .set('Authorization', as(MALLORY))
        .send({ comment: 'mine now' }),
      request(server)
        .post(`/api/kubechart/runs/${runId}/reject`)
        .set('Authorization', as(MALLORY))
        .send({}),
      request(server)
        .post(`/api/kubechart/runs/${runId}/execute`)
        .set('Authorization', as(MALLORY))
        .send({ kind: 'tenant', cluster: 'dev', tenant: 'kept', releases: [] }),
      request(server)
        .post(`/api/kubechart/runs/${runId}/reapply`)
        .set('Authorization', as(MALLORY))
        .send({}),
      request(server)
        .post(`/api/kubechart/runs/${runId}/finish`)
        .set('Authorization', as(MALLORY))
        .send({ status: 'succeeded' }),
      request(server)
        .post('/api/kubechart/runs/record')
        .set('Authorization', as(MALLORY))
        .send({
          kind: 'custom',
          action: 'acme:deploy',
          target: { cluster: 'dev', namespace: 'tenant-kept' },
        }),
    ];
    const statuses = [];
    for (const attempt of attempts) statuses.push((await attempt).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(
      audit.map(e => [e.eventId, e.status, e.meta.actor ?? e.meta.decider]),
    ).toEqual([
      ['run-create', 'failed', MALLORY],
      ['run-approve', 'failed', MALLORY],
      ['run-reject', 'failed', MALLORY],
      ['run-execute-approved', 'failed', MALLORY],
      ['run-reapply', 'failed', MALLORY],
      ['run-finish', 'failed', MALLORY],
      ['run-record', 'failed', MALLORY],
    ]);
    for (const event of audit) {
      expect(event.error).toMatch(/^Not allowed: kubechart\./);
      expect(event.meta.outcome).toBe('refused');
    }
    expect(audit[1].meta).toMatchObject({ runId, comment: 'mine now' });
    const tenants = await request(server)
      .get('/api/kubechart/tenants')
      .set('Authorization', as(ALICE));
    expect(tenants.body.items.map((t: any) => t.code)).toEqual(['kept']);
  });

  it("include finishing another user's recorded run", async () => {
    const record = () =>
      request(server)
        .post('/api/kubechart/runs/record')
        .set('Authorization', as(ALICE))
        .send({
          kind: 'custom',
          action: 'acme:deploy',
          target: { cluster: 'dev', namespace: 'tenant-kept' },
        });
    // once the tenant run of the test before has released the namespace
    let recorded = await record();
    for (let i = 0; i < 100 && recorded.status === 409; i++) {
      await new Promise(r => setTimeout(r, 100));
      recorded = await record();
    }
    expect(recorded.status).toBe(201);
    audit.length = 0;
    const finished = await request(server)
      .post(`/api/kubechart/runs/${recorded.body.id}/finish`)
      .set('Authorization', as(BOB))
      .send({ status: 'failed' });
    expect(finished.status).toBe(403);
    expect(audit).toEqual([
      expect.objectContaining({
        eventId: 'run-finish',
        status: 'failed',
        meta: expect.objectContaining({
          runId: recorded.body.id,
          actor: BOB,
          outcome: 'refused',
        }),
        error: expect.stringContaining('may add events to or finish it'),
      }),
    ]);
  });

  it('include adding events to or finishing a run kubechart executed', async () => {
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', as(ALICE))
      .send({ kind: 'tenant', cluster: 'dev', tenant: 'ran', releases: [] });
    expect(created.status).toBe(202);
    const runId = created.body.id;
    audit.length = 0;
    // bob reads the run but is not its actor: refused as a writer, whatever the run is
    const events = await request(server)
      .post(`/api/kubechart/runs/${runId}/events`)
      .set('Authorization', as(BOB))
      .send({ events: [{ message: 'mine now' }] });
    const finished = await request(server)
      .post(`/api/kubechart/runs/${runId}/finish`)
      .set('Authorization', as(BOB))
      .send({ status: 'failed' });
    expect([events.status, finished.status]).toEqual([403, 403]);
    expect(events.body.error.message).not.toMatch(/executed/);
    // its actor learns why: the run is not a recorded one
    const own = await request(server)
      .post(`/api/kubechart/runs/${runId}/finish`)
      .set('Authorization', as(ALICE))
      .send({ status: 'failed' });
    expect(own.status).toBe(409);
    expect(
      audit.map(e => [e.eventId, e.status, e.meta.actor, e.meta.outcome]),
    ).toEqual([
      ['run-events', 'failed', BOB, 'refused'],
      ['run-finish', 'failed', BOB, 'refused'],
      ['run-finish', 'failed', ALICE, 'refused'],
    ]);
    expect(audit.map(e => e.meta.runId)).toEqual([runId, runId, runId]);
    expect(audit[0].error).toContain('may add events to or finish it');
    expect(audit[2].error).toContain(
      `Run ${runId} is executed by kubechart; only recorded runs accept events`,
    );
  });

  it('records at most kubechart.limits.refusedAttemptsAuditedPerMinute of one caller a minute, and counts the rest in the next one recorded', async () => {
    audit.length = 0;
    const attempt = () =>
      request(server)
        .post(
          '/api/kubechart/runs/00000000-0000-4000-8000-000000000000/approve',
        )
        .set('Authorization', as(EVE))
        .send({ comment: 'again' });
    for (let i = 0; i < RECORDED_PER_MINUTE + 3; i++)
      expect((await attempt()).status).toBe(403);
    expect(audit).toHaveLength(RECORDED_PER_MINUTE);
    expect(audit.every(e => e.meta.actor === EVE)).toBe(true);
    // Another caller is not held back by eve's.
    expect(
      (
        await request(server)
          .post('/api/kubechart/runs')
          .set('Authorization', as(MALLORY))
          .send({ kind: 'tenant', cluster: 'dev', tenant: 'x', releases: [] })
      ).status,
    ).toBe(403);
    expect(audit.at(-1)!.meta.actor).toBe(MALLORY);
    // A minute later the first refusal recorded says how many were not.
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect((await attempt()).status).toBe(403);
    } finally {
      clock.mockRestore();
    }
    expect(audit.at(-1)!.meta).toMatchObject({
      actor: EVE,
      outcome: 'refused',
      refusedNotRecorded: 3,
    });
  });

  it('refuses run requests of a caller whose requests kept being refused, before they reach the audit trail', async () => {
    audit.length = 0;
    const CAROL = 'user:default/carol';
    // Allowed to ask, but asking for what cannot be (an unknown cluster): each is audited, then refused.
    const ask = (body: object = {}) =>
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', as(CAROL))
        .send({
          kind: 'tenant',
          cluster: 'nowhere',
          tenant: 'spam',
          releases: [],
          ...body,
        });
    for (let i = 0; i < RECORDED_PER_MINUTE; i++)
      expect((await ask()).status).toBe(400);
    expect(audit.filter(e => e.eventId === 'run-create')).toHaveLength(
      RECORDED_PER_MINUTE,
    );
    // From then on this minute: 429 before the engine is asked, recorded as refusals are (up to
    // the same limit a minute, then counted), so the trail does not grow with every request.
    for (let i = 0; i < 2 * RECORDED_PER_MINUTE; i++) {
      const refused = await ask({ cluster: 'dev' });
      expect(refused.status).toBe(429);
      expect(refused.body.error.message).toContain(
        `${CAROL} had ${RECORDED_PER_MINUTE} run requests refused in the last minute`,
      );
    }
    expect(
      audit.filter(e => e.eventId === 'run-create').length,
    ).toBeLessThanOrEqual(2 * RECORDED_PER_MINUTE);
    // Those asked for a real cluster were not even looked at: no tenant.
    const tenant = await request(server)
      .get('/api/kubechart/tenants/spam')
      .set('Authorization', as(ALICE));
    expect(tenant.status).toBe(404);
    // A minute later carol may ask again.
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect((await ask()).status).toBe(400);
    } finally {
      clock.mockRestore();
    }
  });

  it('counts refused re-applies with the run requests, and refuses them too once there were too many', async () => {
    const DAVE = 'user:default/dave';
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', as(DAVE))
      .send({ kind: 'tenant', cluster: 'dev', tenant: 'dave', releases: [] });
    expect(created.status).toBe(202);
    audit.length = 0;
    // A release the run did not install: refused after its event is created.
    const reapply = () =>
      request(server)
        .post(`/api/kubechart/runs/${created.body.id}/reapply`)
        .set('Authorization', as(DAVE))
        .send({ release: 'not-there' });
    for (let i = 0; i < RECORDED_PER_MINUTE; i++)
      expect((await reapply()).status).toBe(400);
    const refused = await reapply();
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toContain(
      `${DAVE} had ${RECORDED_PER_MINUTE} run requests refused in the last minute`,
    );
    // So are its other run requests that minute.
    expect(
      (
        await request(server)
          .post('/api/kubechart/runs')
          .set('Authorization', as(DAVE))
          .send({
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'dave2',
            releases: [],
          })
      ).status,
    ).toBe(429);
    expect(
      audit.filter(e => e.eventId === 'run-reapply' && e.status !== 'failed'),
    ).toEqual([]);
  });

  it('leaves a record of the refusals it did not record when the backend stops, if none came after them', async () => {
    const events: CapturedAuditEvent[] = [];
    const other = await startKubechartBackend({
      config: (() => {
        const config = testConfig(sim, { health: { startOnBoot: false } });
        config.kubechart.limits = {
          ...config.kubechart.limits,
          refusedAttemptsAuditedPerMinute: 2,
        } as any;
        return config;
      })(),
      knex: await databases.init('SQLITE_3'),
      features: [denyMallory, capturingAuditor(events)],
    });
    for (let i = 0; i < 5; i++)
      expect(
        (
          await request(other.server)
            .post('/api/kubechart/runs')
            .set('Authorization', as(EVE))
            .send({ kind: 'tenant', cluster: 'dev', tenant: 'x', releases: [] })
        ).status,
      ).toBe(403);
    expect(events).toHaveLength(2);
    await other.stop();
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({
      eventId: 'refusals-not-recorded',
      status: 'failed',
      meta: { actor: EVE, outcome: 'refused', refusedNotRecorded: 3 },
    });
    expect(events[2].error).toMatch(
      /^3 refused attempts of user:default\/eve since .* were not recorded one by one \(kubechart.limits.refusedAttemptsAuditedPerMinute: 2\)$/,
    );
  });

  it('logs a warning once a minute when a caller is refused more often than the audit trail records', async () => {
    const events: CapturedAuditEvent[] = [];
    const logs: string[] = [];
    const other = await startKubechartBackend({
      config: (() => {
        const config = testConfig(sim, { health: { startOnBoot: false } });
        config.kubechart.limits = {
          ...config.kubechart.limits,
          refusedAttemptsAuditedPerMinute: 2,
        } as any;
        return config;
      })(),
      knex: await databases.init('SQLITE_3'),
      features: [denyMallory, capturingAuditor(events), capturingLogger(logs)],
    });
    try {
      for (let i = 0; i < 5; i++)
        expect(
          (
            await request(other.server)
              .post('/api/kubechart/runs')
              .set('Authorization', as(EVE))
              .send({
                kind: 'tenant',
                cluster: 'dev',
                tenant: 'x',
                releases: [],
              })
          ).status,
        ).toBe(403);
    } finally {
      await other.stop();
    }
    expect(
      logs.filter(line => line.includes(`${EVE} was refused more than`)),
    ).toEqual([
      expect.stringMatching(
        /^warn user:default\/eve was refused more than 2 times in a minute \(kubechart\.limits\.refusedAttemptsAuditedPerMinute\)/,
      ),
    ]);
  });
});
