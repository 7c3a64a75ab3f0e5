import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import {
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Entity } from '@backstage/catalog-model';
import {
  CreateRunRequest,
  TenantRunInput,
} from '@kubechart/plugin-kubechart-common';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import {
  ApprovalDecider,
  ApprovalNotifier,
  RunEngine,
} from '../engine/RunEngine';
import { RunStore } from '../database/RunStore';
import { RunCaller } from '../engine/scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
/** The requester is a member of the owning group too: still not allowed to approve. */
const alice: ApprovalDecider = {
  userEntityRef: ALICE,
  ownershipRefs: [ALICE, PAYMENTS],
  mayApprove: true,
};
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', PAYMENTS],
  mayApprove: true,
};
const carol: ApprovalDecider = {
  userEntityRef: 'user:default/carol',
  ownershipRefs: ['user:default/carol', 'group:default/other'],
  mayApprove: true,
};
const dave: ApprovalDecider = {
  userEntityRef: 'user:default/dave',
  ownershipRefs: ['user:default/dave', PAYMENTS],
  mayApprove: true,
};

/** Alice as a member of the payments group (she may deploy to its tenants). */
const paymentsMember: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

const configMap = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: { name: settings }',
  'data: { color: blue }',
].join('\n');

/** A tenant run on a protected tenant; `password` makes its input hold a secret value. */
const tenantRun = (
  tenant: string,
  values: Record<string, unknown> = {},
): TenantRunInput => ({
  kind: 'tenant',
  cluster: 'dev',
  tenant,
  owner: PAYMENTS,
  releases: [
    { name: 'web', chart: 'webapp', values: { replicas: 1, ...values } },
  ],
});

function recordingNotifier() {
  const sent: string[] = [];
  const notifier: ApprovalNotifier = {
    approvalRequested: async (run, approvers) => {
      sent.push(`requested ${run.id} → ${approvers.join(',')}`);
    },
    decisionTaken: async (run, d) => {
      sent.push(`${d.decision} ${run.id} by ${d.by}: ${d.comment}`);
    },
  };
  return { sent, notifier };
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

describe.each(databases.eachSupportedId())(
  'approval gates on %p',
  databaseId => {
    let sim: KubeSim;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(() => sim.stop());

    const config = (
      rule: Record<string, unknown> = {},
      chartDirectories?: string[],
      extra: Record<string, unknown> = {},
    ) => {
      const c = testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'production',
              namespaces: ['tenant-prod-*'],
              approvers: ['owner'],
              ...rule,
            },
          ],
        },
        ...extra,
      });
      if (chartDirectories)
        c.kubechart.helm.chartDirectories = chartDirectories;
      return c;
    };

    async function setup(
      rule?: Record<string, unknown>,
      chartDirectories?: string[],
      extra?: Record<string, unknown>,
    ) {
      const { sent, notifier } = recordingNotifier();
      const t = await createTestEngine({
        databases,
        databaseId,
        sim,
        config: config(rule, chartDirectories, extra),
        notifier,
        // The catalog has alice in payments, as her sign-in token says.
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      });
      const kc = t.clusters.kubeConfig('dev');
      core = kc.makeApiClient(CoreV1Api);
      apps = kc.makeApiClient(AppsV1Api);
      return { ...t, sent, notifier };
    }

    const namespaceExists = (name: string) =>
      core.readNamespace({ name }).then(
        () => true,
        () => false,
      );

    it('records a run on a protected target as awaiting approval with its plan, applies nothing and notifies the approvers', async () => {
      const { engine, store, sent } = await setup();
      const run = await engine.submit(
        tenantRun('prod-a', { database: { password: 'hunter2-Secret' } }),
        ALICE,
        paymentsMember,
      );
      expect(run.status).toBe('awaiting-approval');
      await engine.waitIdle();
      const stored = (await store.getRun(run.id))!;
      expect(stored.status).toBe('awaiting-approval');
      expect(stored.approval).toMatchObject({
        rule: 'production',
        state: 'awaiting',
        required: 1,
        approvers: [PAYMENTS],
        resubmit: true, // the password is not kept: the requester submits it again after approval
        decisions: [],
      });
      expect(stored.approval!.planHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      // The plan approvers review: rendered manifests and the policy report, secrets removed.
      expect(stored.manifest).toContain('kind: Deployment');
      expect(stored.policyReport?.passed).toBe(true);
      expect(JSON.stringify(stored)).not.toContain('hunter2-Secret');
      expect(await namespaceExists('tenant-prod-a')).toBe(false);
      expect(sent).toEqual([`requested ${run.id} → ${PAYMENTS}`]);
      // An unprotected target runs at once.
      const free = await engine.submit(
        tenantRun('dev-a'),
        ALICE,
        paymentsMember,
      );
      expect(free.status).toBe('pending');
      await engine.waitFor(free.id);
      expect((await store.getRun(free.id))!.status).toBe('succeeded');
    });

    it('refuses self-approval, non-approvers and callers without the permission; the run keeps waiting', async () => {
      const { engine, store } = await setup();
      const run = await engine.submit(
        tenantRun('prod-b'),
        ALICE,
        paymentsMember,
      );
      await expect(
        engine.decide(run.id, alice, 'approve', 'looks fine'),
      ).rejects.toThrow(NotAllowedError);
      await expect(
        engine.decide(run.id, alice, 'approve', 'looks fine'),
      ).rejects.toThrow('you requested this run');
      await expect(
        engine.decide(run.id, carol, 'approve', 'ok'),
      ).rejects.toThrow(`only ${PAYMENTS} may approve`);
      await expect(
        engine.decide(run.id, { ...bob, mayApprove: false }, 'approve', 'ok'),
      ).rejects.toThrow('kubechart.runs.approve');
      await expect(
        engine.decide(run.id, bob, 'approve', '   '),
      ).rejects.toThrow('comment is required');
      const stored = (await store.getRun(run.id))!;
      expect(stored.status).toBe('awaiting-approval');
      expect(stored.approval!.decisions).toEqual([]);
      expect(await engine.mayDecide(stored, alice)).toEqual({
        mayDecide: false,
        reason: 'you requested this run; another approver must decide',
      });
      expect(await engine.mayDecide(stored, bob)).toEqual({ mayDecide: true });
    });

    it('keeps an input whose values only mention secret words (settings, no secret values), as given', async () => {
      const { engine, store } = await setup();
      const settings = {
        extraArgs: [
          '--authentication-token-webhook=true',
          '--secret-name',
          'my-tls',
        ],
        config: 'auth.token.ttl=3600\nautomountServiceAccountToken: false\n',
      };
      const run = await engine.submit(
        tenantRun('prod-k', settings),
        ALICE,
        paymentsMember,
      );
      const stored = (await store.getRun(run.id))!;
      expect(stored.approval!.resubmit).toBe(false);
      // Recorded as given: approvers see the settings and how they change.
      const input = JSON.stringify(stored.input);
      expect(input).toContain(JSON.stringify(settings.extraArgs));
      expect(input).toContain(JSON.stringify(settings.config));
    });

    it('applies exactly the approved plan when an owner approves (input kept: no secret values)', async () => {
      const { engine, store, sent } = await setup();
      const run = await engine.submit(
        tenantRun('prod-c', { replicas: 2 }),
        ALICE,
        paymentsMember,
      );
      expect((await store.getRun(run.id))!.approval!.resubmit).toBe(false);
      const decided = await engine.decide(
        run.id,
        bob,
        'approve',
        'change ticket CHG-42',
      );
      expect(decided.id).toBe(run.id);
      await waitFor('the run to end', async () => {
        const r = await store.getRun(run.id);
        return r && (r.status === 'succeeded' || r.status === 'failed')
          ? r
          : undefined;
      });
      await engine.waitIdle();
      const done = (await store.getRun(run.id))!;
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(done.approval).toMatchObject({
        state: 'executed',
        decisions: [
          {
            by: 'user:default/bob',
            decision: 'approve',
            comment: 'change ticket CHG-42',
          },
        ],
      });
      expect(done.transitions.map(t => t.status)).toEqual([
        'awaiting-approval',
        'approved',
        'pending',
        'running',
        'succeeded',
      ]);
      const deployment = await apps.readNamespacedDeployment({
        namespace: 'tenant-prod-c',
        name: 'web',
      });
      expect(deployment.spec?.replicas).toBe(2);
      expect(sent).toContain(
        `approve ${run.id} by user:default/bob: change ticket CHG-42`,
      );
      // The next change to the target is reviewed against the run that applied.
      const next = await engine.submit(
        tenantRun('prod-c', { replicas: 3 }),
        ALICE,
        {
          ownershipRefs: [ALICE, PAYMENTS],
          mayApplyClusterScoped: false,
          isTenantAdmin: false,
        },
      );
      expect((await store.getRun(next.id))!.approval!.previousRunId).toBe(
        run.id,
      );
    });

    it('refuses a request beyond kubechart.limits.openApprovalsPerUser with 429 and records nothing', async () => {
      const { engine, store } = await setup(undefined, undefined, {
        limits: {
          runsPerUserPerMinute: 100,
          runsPerUserAtOnce: 100,
          maxTenants: 20,
          openApprovalsPerUser: 1,
        },
      });
      await engine.submit(tenantRun('prod-o1'), ALICE, paymentsMember);
      const refused = await engine
        .submit(tenantRun('prod-o2'), ALICE, paymentsMember)
        .catch(e => e);
      expect(refused).toMatchObject({
        statusCode: 429,
        message: expect.stringContaining(
          `${ALICE} has 1 approval requests open; at most 1 may be open at once per user`,
        ),
      });
      expect(
        (await store.listRuns({ cluster: 'dev' }, { limit: 10 })).items.map(
          r => r.target.namespace,
        ),
      ).toEqual(['tenant-prod-o1']);
    });

    it('needs the configured number of distinct approvers', async () => {
      const { engine, store } = await setup({ required: 2 });
      const run = await engine.submit(
        tenantRun('prod-d'),
        ALICE,
        paymentsMember,
      );
      await engine.decide(run.id, bob, 'approve', 'first');
      expect((await store.getRun(run.id))!.status).toBe('awaiting-approval');
      await expect(
        engine.decide(run.id, bob, 'approve', 'again'),
      ).rejects.toThrow('already decided');
      await engine.decide(run.id, dave, 'approve', 'second');
      await waitFor('the run to succeed', async () =>
        (await store.getRun(run.id))!.status === 'succeeded' ? true : undefined,
      );
      await engine.waitIdle();
    });

    it('with secret values, waits for the requester to submit the input again, and refuses a different plan', async () => {
      const { engine, store } = await setup();
      const secretRun = tenantRun('prod-e', {
        database: { password: 'approved-Pa55' },
      });
      const run = await engine.submit(secretRun, ALICE, paymentsMember);
      const approved = await engine.decide(run.id, bob, 'approve', 'ok');
      expect(approved.status).toBe('approved');
      await expect(
        engine.executeApproved(run.id, secretRun, 'user:default/mallory'),
      ).rejects.toThrow(NotAllowedError);
      // Another password is another plan: refused, nothing applied, the run ends with the reason.
      const other = tenantRun('prod-e', {
        database: { password: 'other-Pa55' },
      });
      await expect(
        engine.executeApproved(run.id, other, ALICE, paymentsMember),
      ).rejects.toThrow(ConflictError);
      const changed = (await store.getRun(run.id))!;
      expect(changed.status).toBe('failed');
      expect(changed.approval!.state).toBe('changed');
      expect(changed.failureReason).toMatch(
        /plan changed after approval .*nothing was applied/,
      );
      expect(await namespaceExists('tenant-prod-e')).toBe(false);
      await expect(
        engine.executeApproved(run.id, secretRun, ALICE, paymentsMember),
      ).rejects.toThrow(ConflictError);

      // The same input once more, approved, runs.
      const again = await engine.submit(secretRun, ALICE, paymentsMember);
      await engine.decide(again.id, bob, 'approve', 'ok');
      const started = await engine.executeApproved(
        again.id,
        secretRun,
        ALICE,
        paymentsMember,
      );
      expect(started.status).toBe('pending');
      await engine.waitFor(again.id);
      const done = (await store.getRun(again.id))!;
      expect(done.status).toBe('succeeded');
      expect(JSON.stringify(done)).not.toContain('approved-Pa55');
    });

    it("checks a tenant run's entity again when the requester submits its approved input", async () => {
      const { engine, store } = await setup();
      // The catalog as alice sees it: pay-site is not in it when she asks, then appears owned by another team.
      let entityOwner: string | undefined;
      const caller: RunCaller = {
        ...paymentsMember,
        readEntity: async ref =>
          ref === 'system:default/pay-site' && entityOwner
            ? {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'System',
                metadata: { name: 'pay-site', namespace: 'default' },
                spec: { owner: entityOwner },
              }
            : undefined,
        // Absent, not hidden from her: the catalog (as the plugin sees it) agrees.
        entityExists: async ref =>
          ref === 'system:default/pay-site' && Boolean(entityOwner),
      };
      const request = {
        ...tenantRun('prod-k', { database: { password: 'entity-Pa55' } }),
        entityRef: 'System:default/Pay-Site',
      };
      const run = await engine.submit(request, ALICE, caller);
      expect(run.entityRef).toBe('system:default/pay-site');
      await engine.decide(run.id, bob, 'approve', 'ok');
      entityOwner = 'group:default/other';
      await expect(
        engine.executeApproved(run.id, request, ALICE, caller),
      ).rejects.toThrow(
        'Tenant prod-k may not name system:default/pay-site: that entity is owned by group:default/other',
      );
      expect((await store.getRun(run.id))!.approval!.state).toBe('approved');
      expect(await namespaceExists('tenant-prod-k')).toBe(false);
      // Once it is the tenant owner's, the approved plan (with the entityRef as stored) runs.
      entityOwner = PAYMENTS;
      const started = await engine.executeApproved(
        run.id,
        request,
        ALICE,
        caller,
      );
      expect(started.status).toBe('pending');
      await engine.waitFor(run.id);
      expect((await store.getRun(run.id))!).toMatchObject({
        status: 'succeeded',
        entityRef: 'system:default/pay-site',
      });
    });

    it('does not apply a plan whose chart renders differently after approval', async () => {
      const charts = await fs.mkdtemp(
        path.join(os.tmpdir(), 'kubechart-approval-charts-'),
      );
      await fs.cp(
        path.join(chartDirectory, 'webapp'),
        path.join(charts, 'webapp'),
        { recursive: true },
      );
      try {
        const { engine, store } = await setup({}, [charts]);
        const request = tenantRun('prod-f', {
          database: { password: 'x-Secret-1' },
        });
        const run = await engine.submit(request, ALICE, paymentsMember);
        await engine.decide(run.id, bob, 'approve', 'ok');
        // The chart in the chart directory changes between approval and execution.
        const deployment = path.join(
          charts,
          'webapp',
          'templates',
          'deployment.yaml',
        );
        await fs.writeFile(
          deployment,
          (
            await fs.readFile(deployment, 'utf8')
          ).replace('containerPort: 8080', 'containerPort: 9090'),
        );
        await expect(
          engine.executeApproved(run.id, request, ALICE, paymentsMember),
        ).rejects.toThrow(
          'the rendered manifests differ from the approved ones',
        );
        expect((await store.getRun(run.id))!.status).toBe('failed');
        expect(await namespaceExists('tenant-prod-f')).toBe(false);
      } finally {
        await fs.rm(charts, { recursive: true, force: true });
      }
    });

    it('ends a rejected run with the reason and comment, and an expired one at its expiry', async () => {
      const { engine, store, sent } = await setup({
        expiresAfter: { seconds: 3 },
      });
      const rejected = await engine.submit(
        tenantRun('prod-g'),
        ALICE,
        paymentsMember,
      );
      await engine.decide(rejected.id, bob, 'reject', 'not during the freeze');
      const r = (await store.getRun(rejected.id))!;
      expect({
        status: r.status,
        reason: r.failureReason,
        state: r.approval!.state,
      }).toEqual({
        status: 'failed',
        reason: 'Rejected by user:default/bob: not during the freeze',
        state: 'rejected',
      });
      expect(sent).toContain(
        `reject ${rejected.id} by user:default/bob: not during the freeze`,
      );
      await expect(
        engine.decide(rejected.id, dave, 'approve', 'too late'),
      ).rejects.toThrow(ConflictError);
      // A rejected request was never applied: the next request's plan is not reviewed against it.
      const next = await engine.submit(
        tenantRun('prod-g'),
        ALICE,
        paymentsMember,
      );
      expect(
        (await store.getRun(next.id))!.approval!.previousRunId,
      ).toBeUndefined();

      const expiring = await engine.submit(
        tenantRun('prod-h'),
        ALICE,
        paymentsMember,
      );
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
      // past the later of the two requests' expiry, however long the steps above took
      const expiresAt = Date.parse(
        (await store.getRun(expiring.id))!.approval!.expiresAt,
      );
      await new Promise(res =>
        setTimeout(res, Math.max(0, expiresAt - Date.now()) + 100),
      );
      expect(await engine.tendApprovals()).toEqual({ expired: 2, started: 0 });
      const e = (await store.getRun(expiring.id))!;
      expect(e.status).toBe('failed');
      expect(e.approval!.state).toBe('expired');
      expect(e.failureReason).toMatch(
        /^The approval request expired at .* with 0 of 1 approvals; nothing was applied$/,
      );
      await expect(
        engine.decide(expiring.id, bob, 'approve', 'late'),
      ).rejects.toThrow(ConflictError);
      expect(await namespaceExists('tenant-prod-g')).toBe(false);
      expect(await namespaceExists('tenant-prod-h')).toBe(false);
    });

    it('keeps a request across a backend restart: another engine on the same database approves and runs it', async () => {
      const first = await setup();
      const run = await first.engine.submit(
        tenantRun('prod-i'),
        ALICE,
        paymentsMember,
      );
      // The first backend is gone; a new one starts on the same database.
      const { sent, notifier } = recordingNotifier();
      const second = await createTestEngine({
        databases,
        databaseId,
        sim,
        config: config(),
        notifier,
        knex: first.knex,
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      });
      await second.engine.decide(run.id, bob, 'approve', 'after the restart');
      await waitFor('the run to succeed', async () =>
        (await second.store.getRun(run.id))!.status === 'succeeded'
          ? true
          : undefined,
      );
      await second.engine.waitIdle();
      expect(sent).toEqual([
        `approve ${run.id} by user:default/bob: after the restart`,
      ]);
    });

    it('starts an approved run later when its target was locked at approval', async () => {
      const { engine, store } = await setup();
      const run = await engine.submit(
        tenantRun('prod-j'),
        ALICE,
        paymentsMember,
      );
      // Another run holds the tenant's lock: an unprotected rule would run at once, so take the lock directly.
      await store.createRun(
        {
          id: 'holder',
          kind: 'tenant',
          status: 'pending',
          actor: ALICE,
          target: { cluster: 'dev', namespace: 'tenant-prod-j' },
          tenant: 'prod-j',
          input: {},
        },
        ['ns:dev/tenant-prod-j'],
      );
      const decided = await engine.decide(run.id, bob, 'approve', 'ok');
      expect(decided.status).toBe('approved');
      await store.finishRun('holder', 'failed', {
        failureReason: 'test holder',
      });
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 1 });
      await engine.waitFor(run.id);
      expect((await store.getRun(run.id))!.status).toBe('succeeded');
    });

    it("counts an approved tenant against its owner's budget when it starts, not only when it was requested", async () => {
      const { engine, store } = await setup(undefined, undefined, {
        limits: {
          runsPerUserPerMinute: 100,
          maxTenants: 20,
          maxTenantsPerOwner: 1,
        },
      });
      // Both requests fit the budget when asked for: neither tenant exists yet.
      const first = await engine.submit(
        tenantRun('prod-k1'),
        ALICE,
        paymentsMember,
      );
      const second = await engine.submit(
        tenantRun('prod-k2'),
        ALICE,
        paymentsMember,
      );
      expect(first.status).toBe('awaiting-approval');
      expect(second.status).toBe('awaiting-approval');
      expect(
        (await engine.decide(first.id, bob, 'approve', 'ok')).status,
      ).not.toBe('approved');
      await engine.waitFor(first.id);
      expect((await store.getRun(first.id))!.status).toBe('succeeded');
      // The second is approved, but starting it would give payments a second tenant.
      expect(
        (await engine.decide(second.id, bob, 'approve', 'ok')).status,
      ).toBe('approved');
      expect(await engine.tendApprovals()).toEqual({ expired: 0, started: 0 });
      expect((await store.getRun(second.id))!.approval!.state).toBe('approved');
      expect(await namespaceExists('tenant-prod-k2')).toBe(false);
      expect(await store.countActiveTenants({ owner: PAYMENTS })).toBe(1);
    });

    it('refuses a protected run nobody could approve', async () => {
      const { engine } = await setup({ approvers: ['owner'] });
      const ownerless = { ...tenantRun('prod-k'), owner: undefined };
      // The tenant would be owned by its requester, who cannot approve their own run.
      await expect(engine.submit(ownerless, ALICE)).rejects.toThrow(
        /no approver can be resolved/,
      );
    });

    /** Creates a tenant owned by payments through its approval (bob approves). */
    async function approvedTenant(
      engine: RunEngine,
      store: RunStore,
      code: string,
    ) {
      const run = await engine.submit(tenantRun(code), ALICE, paymentsMember);
      expect(run.status).toBe('awaiting-approval');
      await engine.decide(run.id, bob, 'approve', 'new tenant');
      const done = await waitFor('the tenant run to end', async () => {
        const r = await store.getRun(run.id);
        return r && (r.status === 'succeeded' || r.status === 'failed')
          ? r
          : undefined;
      });
      await engine.waitIdle();
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
    }

    it('holds chart, manifests and rollback runs into the namespace of a protected tenant for its owner', async () => {
      const { engine, store } = await setup({
        namespaces: [],
        tenants: ['pay'],
      });
      await approvedTenant(engine, store, 'pay');
      const requests: CreateRunRequest[] = [
        {
          kind: 'manifests',
          cluster: 'dev',
          namespace: 'tenant-pay',
          manifests: configMap,
        },
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-pay',
          release: { name: 'api', chart: 'webapp' },
        },
        {
          kind: 'rollback',
          cluster: 'dev',
          namespace: 'tenant-pay',
          release: 'web',
          revision: 1,
        },
      ];
      for (const request of requests) {
        const run = await engine.submit(request, ALICE, paymentsMember);
        expect({ kind: request.kind, status: run.status }).toEqual({
          kind: request.kind,
          status: 'awaiting-approval',
        });
        expect((await store.getRun(run.id))!.approval).toMatchObject({
          rule: 'production',
          state: 'awaiting',
          approvers: [PAYMENTS],
        });
      }
      await engine.waitIdle();
      await expect(
        core.readNamespacedConfigMap({
          namespace: 'tenant-pay',
          name: 'settings',
        }),
      ).rejects.toThrow();
    });

    it('checks the entity of a rollback, names the target owner (not the entity owner) as approver and shows the revision it returns to', async () => {
      const { engine, store } = await setup();
      await approvedTenant(engine, store, 'prod-r');
      const PALS = 'group:default/pals';
      const palsThing: Entity = {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'pals-thing', namespace: 'default' },
        spec: { owner: PALS, type: 'service', lifecycle: 'production' },
      };
      // Alice belongs to payments (who own the tenant) and to pals, who would wave anything through.
      const caller: RunCaller = {
        ...paymentsMember,
        ownershipRefs: [ALICE, PAYMENTS, PALS],
        readEntity: async ref =>
          ref === 'component:default/pals-thing' ? palsThing : undefined,
      };
      const rollback = {
        kind: 'rollback' as const,
        cluster: 'dev',
        namespace: 'tenant-prod-r',
        release: 'web',
        revision: 1,
      };
      const forPals = engine.submit(
        { ...rollback, entityRef: 'component:default/pals-thing' },
        ALICE,
        caller,
      );
      await expect(forPals).rejects.toThrow(NotAllowedError);
      await expect(forPals).rejects.toThrow(
        'A run for component:default/pals-thing may deploy only where that entity may deploy',
      );
      // Without an entity, the owner of the tenant whose namespace it is decides.
      const run = await engine.submit(rollback, ALICE, caller);
      expect(run.status).toBe('awaiting-approval');
      const stored = (await store.getRun(run.id))!;
      expect(stored.approval!.approvers).toEqual([PAYMENTS]);
      // The approvers review the revision the rollback returns to and the policy's verdict on it.
      expect(stored.manifest).toContain('kind: Deployment');
      expect(stored.policyReport).toMatchObject({
        passed: true,
        blocking: false,
      });
      await expect(
        engine.decide(
          run.id,
          { ...carol, ownershipRefs: [carol.userEntityRef, PALS] },
          'approve',
          'ok',
        ),
      ).rejects.toThrow(`only ${PAYMENTS} may approve`);
    });

    it('starts a kept run only with the cluster-scoped kinds the configuration allows when it starts', async () => {
      const crdKind = 'apiextensions.k8s.io/CustomResourceDefinition';
      const allowing = (kinds: string[]) => ({
        clusters: { dev: { allowedClusterScopedKinds: kinds } },
      });
      const { engine, store, knex } = await setup(
        undefined,
        undefined,
        allowing([crdKind]),
      );
      const tenant = await engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'prod-narrow',
          owner: PAYMENTS,
          releases: [],
        },
        ALICE,
        paymentsMember,
      );
      await engine.decide(tenant.id, bob, 'approve', 'ok');
      await engine.waitIdle();
      expect((await store.getRun(tenant.id))!.status).toBe('succeeded');
      // A chart whose crds/ holds a CustomResourceDefinition, which the cluster allows now.
      const run = await engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'tenant-prod-narrow',
          release: { name: 'widgets', chart: 'withcrd' },
        },
        ALICE,
        { ...paymentsMember, mayApplyClusterScoped: true },
      );
      expect(run.status).toBe('awaiting-approval');
      expect((await store.getRun(run.id))!.approval).toMatchObject({
        resubmit: false,
      });
      // While it waits, the platform stops allowing them there (the backend restarts with it).
      const restarted = await createTestEngine({
        databases,
        databaseId,
        sim,
        knex,
        config: config(undefined, undefined, allowing([])),
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      });
      const decided = await restarted.engine.decide(
        run.id,
        bob,
        'approve',
        'ok',
      );
      await restarted.engine.waitIdle();
      const after = (await restarted.store.getRun(run.id))!;
      expect({
        status: decided.status,
        state: after.approval!.state,
        reason: after.failureReason,
      }).toEqual({
        status: 'failed',
        state: 'changed',
        reason: `kubechart.clusters.dev.allowedClusterScopedKinds no longer allows ${crdKind}, which the approved plan of this run applies; nothing was applied. Submit the run again for a new approval.`,
      });
      const releases = await core.listNamespacedSecret({
        namespace: 'tenant-prod-narrow',
        labelSelector: 'owner=helm',
      });
      expect(releases.items).toEqual([]);
    });

    it('starts a kept run with only the groups its requester held when asking, of those the catalog has now', async () => {
      const assigned = (owner: string) => ({
        clusters: { dev: { namespaces: { 'team-held': { owner } } } },
      });
      const rule = {
        namespaces: ['team-held'],
        approvers: ['group:default/other'],
      };
      const { engine, knex } = await setup(rule, undefined, assigned(ALICE));
      await core.createNamespace({ body: { metadata: { name: 'team-held' } } });
      // The namespace's deployer, as the platform set it up (helm reads the release as it).
      await core.createNamespacedServiceAccount({
        namespace: 'team-held',
        body: { metadata: { name: 'kubechart-deployer' } },
      });
      await engine
        .client('dev')
        .kubeConfig.makeApiClient(RbacAuthorizationV1Api)
        .createNamespacedRoleBinding({
          namespace: 'team-held',
          body: {
            metadata: { name: 'kubechart-deployer' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'admin',
            },
            subjects: [
              {
                kind: 'ServiceAccount',
                name: 'kubechart-deployer',
                namespace: 'team-held',
              },
            ],
          },
        });
      // Alice's sign-in token names no group: the namespace is assigned to her.
      const run = await engine.submit(
        {
          kind: 'chart',
          cluster: 'dev',
          namespace: 'team-held',
          release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
        },
        ALICE,
        {
          ownershipRefs: [ALICE],
          mayApplyClusterScoped: false,
          isTenantAdmin: false,
        },
      );
      expect(run.status).toBe('awaiting-approval');
      // While it waits, the namespace is assigned to payments (the backend restarts with it), which
      // the catalog has alice in: a group she did not claim when asking.
      const restarted = await createTestEngine({
        databases,
        databaseId,
        sim,
        knex,
        config: config(rule, undefined, assigned(PAYMENTS)),
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      });
      await restarted.engine.decide(run.id, carol, 'approve', 'ok');
      await restarted.engine.waitIdle();
      const after = (await restarted.store.getRun(run.id))!;
      expect({
        status: after.status,
        state: after.approval!.state,
        reason: after.failureReason,
      }).toEqual({
        status: 'failed',
        state: 'changed',
        reason: `${ALICE}, who requested this run, may no longer make it: Namespace team-held on cluster dev is not one you may deploy to; runs there need membership of its owner; nothing was applied. Submit the run again for a new approval.`,
      });
      const releases = await core.listNamespacedSecret({
        namespace: 'team-held',
        labelSelector: 'owner=helm',
      });
      expect(releases.items).toEqual([]);
    });

    it("previews a protected run with the caller's scope, and never starts one unapproved because its preview refused it", async () => {
      const clusterRoleKind = 'rbac.authorization.k8s.io/ClusterRole';
      const { engine, store } = await setup(
        { namespaces: ['team-prod'] },
        undefined,
        {
          clusters: {
            dev: {
              allowedClusterScopedKinds: [clusterRoleKind],
              namespaces: { 'team-prod': { owner: PAYMENTS } },
            },
          },
        },
      );
      await core.createNamespace({ body: { metadata: { name: 'team-prod' } } });
      const clusterRole = [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: { name: team-prod-reader }',
        'rules: []',
      ].join('\n');
      const request: CreateRunRequest = {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'team-prod',
        manifests: `${configMap}\n---\n${clusterRole}`,
      };
      const permitted = await engine.submit(request, ALICE, {
        ...paymentsMember,
        mayApplyClusterScoped: true,
      });
      expect(permitted.status).toBe('awaiting-approval');
      const stored = (await store.getRun(permitted.id))!;
      expect({
        blocking: stored.policyReport?.blocking,
        approvers: stored.approval?.approvers,
      }).toEqual({ blocking: false, approvers: [PAYMENTS] });
      // Without kubechart.runs.cluster-scoped the preview refuses the ClusterRole: the run still waits, nothing runs.
      const refused = await engine.submit(request, ALICE, paymentsMember);
      expect(refused.status).toBe('awaiting-approval');
      expect((await store.getRun(refused.id))!.policyReport?.blocking).toBe(
        true,
      );
      await engine.waitIdle();
      const rbac = engine
        .client('dev')
        .kubeConfig.makeApiClient(RbacAuthorizationV1Api);
      await expect(
        rbac.readClusterRole({ name: 'team-prod-reader' }),
      ).rejects.toThrow();
      await expect(
        core.readNamespacedConfigMap({
          namespace: 'team-prod',
          name: 'settings',
        }),
      ).rejects.toThrow();
    });
  },
);
