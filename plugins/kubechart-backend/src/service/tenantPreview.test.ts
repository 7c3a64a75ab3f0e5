import { mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import request from 'supertest';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { simKubeConfig, startKubechartBackend } from '../__testUtils__/backend';
import {
  onlyAdminIsTenantsAdmin,
  userInfoWithGroups,
} from '../__testUtils__/tenantCallers';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const CAROL = 'user:default/carol';
const ADMIN = 'user:default/admin';
const ACME = 'group:default/acme-team';
const RIVAL = 'group:default/rival-team';
const GROUPS: Record<string, string[]> = {
  [ALICE]: [ACME],
  [BOB]: [],
  [CAROL]: [],
  [ADMIN]: [],
};

/**
 * A tenant run's preview (`POST /runs/preview`, what a scaffolder dry run shows) refuses what
 * `POST /runs` refuses for the same request and caller, with the same status and message: a preview
 * that renders a plan the run is then refused would say the run would act when it would not.
 */
describe("a tenant run's preview", () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  let core: CoreV1Api;
  const events: CapturedAuditEvent[] = [];
  const as = (who: string) => mockCredentials.user.header(who);
  const tenantRun = (code: string, over: Record<string, unknown> = {}) => ({
    kind: 'tenant',
    cluster: 'dev',
    tenant: code,
    releases: [],
    ...over,
  });
  const post = (path: string, who: string, body: object) =>
    request(server)
      .post(`/api/kubechart${path}`)
      .set('Authorization', as(who))
      .send(body);
  const allRuns = async () =>
    (
      await request(server)
        .get('/api/kubechart/runs?limit=200')
        .set('Authorization', as(ADMIN))
    ).body.items as any[];
  const settle = async () => {
    for (let i = 0; i < 300; i++) {
      if (
        !(await allRuns()).some(
          r => r.status === 'pending' || r.status === 'running',
        )
      )
        return;
      await new Promise(r => setTimeout(r, 100));
    }
  };
  const namespaceExists = (name: string) =>
    core.readNamespace({ name }).then(
      () => true,
      (e: any) => (e.code === 404 ? false : Promise.reject(e)),
    );
  /** The preview's answer and the submit's, for the same request and caller. */
  const both = async (who: string, body: Record<string, unknown>) => {
    const preview = await post('/runs/preview', who, body);
    const submit = await post('/runs', who, body);
    const answer = (r: request.Response) => ({
      status: r.status,
      message: r.body.error?.message,
    });
    return { preview: answer(preview), submit: answer(submit) };
  };

  beforeAll(async () => {
    sim = await startSim();
    const config = testConfig(sim, {
      health: { startOnBoot: false },
      tenant: {
        quota: { 'requests.cpu': '2', pods: '20' },
        maxQuota: { 'requests.cpu': '16' },
      },
      clusters: {
        dev: { namespaces: { 'tenant-reserved': { owner: RIVAL } } },
      },
    });
    config.kubechart.limits = {
      ...config.kubechart.limits,
      maxTenantsPerOwner: 1,
    } as any;
    core = simKubeConfig(sim).makeApiClient(CoreV1Api);
    const backend = await startKubechartBackend({
      config,
      features: [
        onlyAdminIsTenantsAdmin(ADMIN),
        userInfoWithGroups(GROUPS),
        capturingAuditor(events),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
    // acme-team's tenant, and carol's only tenant (her budget is one).
    for (const [who, body] of [
      [ALICE, tenantRun('taken', { owner: ACME })],
      [CAROL, tenantRun('carols')],
    ] as const) {
      const created = await post('/runs', who, body);
      if (created.status !== 202)
        throw new Error(
          `${who} could not create ${body.tenant}: ${created.text}`,
        );
    }
    await settle();
  });
  afterAll(async () => {
    if (server) await settle();
    await stop?.();
    await sim?.stop();
  });

  it("refuses another owner's tenant code with 409, as the run is", async () => {
    const answers = await both(BOB, tenantRun('taken'));
    expect(answers.submit.status).toBe(409);
    expect(answers.submit.message).toContain(
      `tenant taken exists and is owned by ${ACME}`,
    );
    expect(answers.preview).toEqual(answers.submit);
  });

  it('refuses a quota above kubechart.tenant.maxQuota with 403, as the run is', async () => {
    const answers = await both(
      ALICE,
      tenantRun('greedy', { quota: { hard: { 'requests.cpu': '100000' } } }),
    );
    expect(answers.submit.status).toBe(403);
    expect(answers.submit.message).toContain(
      'Tenant greedy asks for a quota of requests.cpu 100000, above the most the platform allows',
    );
    expect(answers.preview).toEqual(answers.submit);
    expect(await namespaceExists('tenant-greedy')).toBe(false);
  });

  it("refuses a tenant over its owner's budget with 429, as the run is", async () => {
    const answers = await both(CAROL, tenantRun('carols-second'));
    expect(answers.submit.status).toBe(429);
    expect(answers.submit.message).toContain(
      `${CAROL} owns 1 tenants; the limit is 1 per owner`,
    );
    expect(answers.preview).toEqual(answers.submit);
  });

  it('refuses an owner the caller does not act for, a namespace assigned to another owner and an unusable entityRef, as the run does', async () => {
    for (const [who, body, status] of [
      [BOB, tenantRun('bobs', { owner: RIVAL }), 403],
      [BOB, tenantRun('reserved'), 403],
      [BOB, tenantRun('odd-ref', { entityRef: 'user:default/bob' }), 400],
      [BOB, { kind: 'tenant-delete', cluster: 'dev', tenant: 'nothing' }, 404],
    ] as const) {
      const answers = await both(who, body);
      expect(answers.submit.status).toBe(status);
      expect(answers.preview).toEqual(answers.submit);
    }
  });

  it('records each refused preview in the audit trail as a failed run-preview, as the run is a failed run-create', async () => {
    for (const [who, body, status, reason] of [
      [BOB, tenantRun('taken'), 409, `owned by ${ACME}`],
      [BOB, tenantRun('bobs', { owner: RIVAL }), 403, RIVAL],
      [CAROL, tenantRun('carols-third'), 429, 'the limit is 1 per owner'],
      [
        BOB,
        { kind: 'tenant-delete', cluster: 'dev', tenant: 'nothing' },
        404,
        'nothing',
      ],
    ] as const) {
      events.length = 0;
      const preview = await post('/runs/preview', who, body);
      expect(preview.status).toBe(status);
      expect(preview.body.error.message).toContain(reason);
      expect(events).toEqual([
        expect.objectContaining({
          eventId: 'run-preview',
          status: 'failed',
          meta: expect.objectContaining({
            kind: body.kind,
            cluster: 'dev',
            requestedEntityRef: null,
            actor: who,
            outcome: 'refused',
          }),
          error: preview.body.error.message,
        }),
      ]);
    }
  });

  it("still previews what the run would do for its owner, and a tenants admin's change of another owner's tenant", async () => {
    const own = await post('/runs/preview', ALICE, tenantRun('taken'));
    expect(own.status).toBe(200);
    expect(own.body.target).toMatchObject({ namespace: 'tenant-taken' });
    const admin = await post('/runs/preview', ADMIN, tenantRun('taken'));
    expect(admin.status).toBe(200);
    const fresh = await post('/runs/preview', BOB, tenantRun('bobs-new'));
    expect(fresh.status).toBe(200);
  });
});
