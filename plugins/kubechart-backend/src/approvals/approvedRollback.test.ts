import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { CreateRunRequest, Run } from '@kubechart/plugin-kubechart-common';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import {
  CapturedAuditEvent,
  capturingAuditorService,
} from '../__testUtils__/capture';
import {
  grantEdit,
  rewriteRecord,
  rollbackTo,
  twoRevisions as installTwoRevisions,
  userCore,
  webappChart,
} from '../__testUtils__/releaseRecords';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';
import { createRunOutcomeAuditor } from '../service/runAudit';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const alice: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', PAYMENTS],
  mayApprove: true,
};
/** A user of the tenant's namespace with the built-in `edit` role there (its Secrets included). */
const EDITOR = { name: 'dev-erin', token: 'dev-erin-token' };

/**
 * An approved rollback returns to the revision the approvers saw. The revision is a Secret in the
 * release's namespace, which its `edit` users may rewrite at any time: after the approval, after the
 * plan is compared again when the run starts, before helm reads it.
 */
describe.each(databases.eachSupportedId())(
  'an approved rollback on %p',
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let apps: AppsV1Api;
    /** The editor's client: edit rights on the tenant's namespace, nothing more. */
    let editorCore: CoreV1Api;
    const tenant = 'prod-roll';
    const namespace = `tenant-${tenant}`;

    const approved = async (request: CreateRunRequest): Promise<Run> => {
      const run = await t.engine.submit(request, ALICE, alice);
      expect(run.status).toBe('awaiting-approval');
      await t.engine.decide(run.id, bob, 'approve', 'ok');
      await t.engine.waitIdle();
      return (await t.store.getRun(run.id))!;
    };
    const chart = (name: string, tag: string) =>
      approved(webappChart(namespace, name, tag));
    const rollback = (release: string, revision: number) =>
      rollbackTo(namespace, release, revision);
    /** Installs the chart twice (revisions 1 and 2), each approved. */
    const twoRevisions = (name: string) => installTwoRevisions(chart, name);
    const deployment = async (name: string) => {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      return {
        image: d.spec?.template.spec?.containers[0].image,
        replicas: d.spec?.replicas,
      };
    };
    /** Rewrites revision 1 of `release` as the editor: `manifest` and `config` change the record. */
    const rewriteRevision = (
      release: string,
      change: (record: Record<string, any>) => void,
    ) => rewriteRecord({ core: editorCore, namespace }, release, 1, change);
    /** Image web:6.6.6 with 7 replicas: still what the chart policy allows. */
    const toSixSixSix = (record: Record<string, any>) => {
      expect(record.manifest).toContain('/team/web:1.0.0\n');
      expect(record.manifest).toContain('replicas: 1\n');
      record.manifest = record.manifest
        .replace('/team/web:1.0.0\n', '/team/web:6.6.6\n')
        .replace('replicas: 1\n', 'replicas: 7\n');
      record.config = {
        ...record.config,
        replicas: 7,
        image: { tag: '6.6.6' },
      };
    };
    /** The run-finished audit event of a run, as the plugin emits it when the run ends. */
    const auditedEnd = async (run: Run) => {
      const events: CapturedAuditEvent[] = [];
      await createRunOutcomeAuditor(
        capturingAuditorService(events),
        mockServices.logger.mock(),
        t.store,
      )(run);
      return events.filter(e => e.eventId === 'run-finished');
    };

    beforeAll(async () => {
      sim = await startSim({ users: [EDITOR] });
      t = await createTestEngine({
        databases,
        databaseId,
        sim,
        requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
        config: testConfig(sim, {
          approvals: {
            rules: [
              {
                name: 'production',
                namespaces: ['tenant-prod-*'],
                approvers: ['owner'],
              },
            ],
          },
        }),
      });
      const admin = t.clusters.kubeConfig('dev');
      apps = admin.makeApiClient(AppsV1Api);
      const created = await approved({
        kind: 'tenant',
        cluster: 'dev',
        tenant,
        owner: PAYMENTS,
        releases: [],
      });
      if (created.status !== 'succeeded')
        throw new Error(`tenant failed: ${created.failureReason}`);
      // The tenant's people may edit their namespace (its Secrets included), as a platform lets them.
      await grantEdit(admin, namespace, EDITOR);
      editorCore = userCore(sim, EDITOR);
    });
    afterEach(() => jest.restoreAllMocks());
    afterAll(async () => {
      await sim?.stop();
    });

    it('returns to the revision the approvers saw', async () => {
      await twoRevisions('web');
      const run = await t.engine.submit(rollback('web', 1), ALICE, alice);
      const plan = (await t.store.getRun(run.id))!;
      await t.engine.decide(run.id, bob, 'approve', 'ok');
      await t.engine.waitIdle();
      const done = (await t.store.getRun(run.id))!;
      expect({
        status: done.status,
        reason: done.failureReason,
        helmRevision: done.helmRevision,
        approval: done.approval?.state,
      }).toEqual({
        status: 'succeeded',
        reason: undefined,
        helmRevision: 3,
        approval: 'executed',
      });
      expect(await deployment('web')).toEqual({
        image: 'registry.example.com/team/web:1.0.0',
        replicas: 1,
      });
      // What was applied is what was approved.
      expect(done.manifest).toContain('registry.example.com/team/web:1.0.0');
      expect(done.manifest).toContain('replicas: 1\n');
      expect(done.manifest).toBe(plan.manifest);
      expect(done.policyReport).toEqual(plan.policyReport);
      expect(await auditedEnd(done)).toEqual([
        expect.objectContaining({
          status: 'succeeded',
          meta: expect.objectContaining({
            runId: done.id,
            outcome: 'succeeded',
            approval: 'executed',
          }),
        }),
      ]);
    });

    it('rolls nothing back when the revision is rewritten after the plan was compared at start, and says so', async () => {
      await twoRevisions('api');
      const run = await t.engine.submit(rollback('api', 1), ALICE, alice);
      expect(run.status).toBe('awaiting-approval');
      const plan = (await t.store.getRun(run.id))!;
      expect(plan.manifest).toContain('registry.example.com/team/web:1.0.0');
      expect(plan.manifest).toContain('replicas: 1\n');
      // The plan is compared again as the approved run starts; the executor then asks helm for the
      // history first: the editor rewrites the revision in between.
      const history = HelmCli.prototype.history;
      const rewritten = jest
        .spyOn(HelmCli.prototype, 'history')
        .mockImplementationOnce(async function rewriting(this: HelmCli, o) {
          await rewriteRevision('api', toSixSixSix);
          return history.call(this, o);
        });

      await t.engine.decide(run.id, bob, 'approve', 'ok');
      await t.engine.waitIdle();
      const done = (await t.store.getRun(run.id))!;

      expect(rewritten).toHaveBeenCalled();
      expect({
        status: done.status,
        reason: done.failureReason,
        helmRevision: done.helmRevision,
      }).toEqual({
        status: 'failed',
        reason: expect.stringMatching(
          /^Revision 1 of api changed since it was approved; nothing was rolled back\b/,
        ),
        helmRevision: undefined,
      });
      // The cluster keeps revision 2, and helm wrote no revision of the rewritten record.
      expect(await deployment('api')).toEqual({
        image: 'registry.example.com/team/web:1.1.0',
        replicas: 1,
      });
      const records = await editorCore.listNamespacedSecret({
        namespace,
        labelSelector: 'owner=helm,name=api',
      });
      expect(
        records.items.map(s => s.metadata?.labels?.version).sort(),
      ).toEqual(['1', '2']);
      // The approval was not applied; the run shows the plan the approvers saw.
      expect(done.approval?.state).toBe('changed');
      expect(done.manifest).toBe(plan.manifest);
      expect(done.manifest).not.toContain('6.6.6');
      expect(done.applied).toEqual([]);
      expect(await auditedEnd(done)).toEqual([
        expect.objectContaining({
          status: 'failed',
          meta: expect.objectContaining({
            runId: done.id,
            outcome: 'failed',
            approval: 'changed',
          }),
          error: expect.stringMatching(
            /^Revision 1 of api changed since it was approved/,
          ),
        }),
      ]);
    });

    it('starts nothing when the values of the revision were rewritten after approval was requested', async () => {
      await twoRevisions('cfg');
      const run = await t.engine.submit(rollback('cfg', 1), ALICE, alice);
      // Only what the release record keeps for later upgrades changes, not the manifest shown.
      await rewriteRevision('cfg', record => {
        record.config = { ...record.config, image: { tag: '6.6.6' } };
      });
      await t.engine.decide(run.id, bob, 'approve', 'ok');
      await t.engine.waitIdle();
      const done = (await t.store.getRun(run.id))!;
      expect({
        status: done.status,
        approval: done.approval?.state,
        reason: done.failureReason,
      }).toEqual({
        status: 'failed',
        approval: 'changed',
        reason: expect.stringMatching(/^The plan changed after approval/),
      });
      expect(await deployment('cfg')).toEqual({
        image: 'registry.example.com/team/web:1.1.0',
        replicas: 1,
      });
    });

    it('requests no approval for a revision that cannot be read', async () => {
      await twoRevisions('gone');
      const pending = async () =>
        (await t.store.listRuns({ cluster: 'dev' }, { limit: 100 })).items
          .filter(r => r.status === 'awaiting-approval')
          .map(r => r.id);
      const before = await pending();
      const missing = t.engine.submit(rollback('gone', 9), ALICE, alice);
      await expect(missing).rejects.toThrow(ConflictError);
      await expect(missing).rejects.toThrow(
        /^No approval plan can be made for this run: revision 9 of release gone in tenant-prod-roll has no Helm release record/,
      );
      // A record the engine refuses to read (helm would not decode it either).
      await rewriteRevision('gone', record => {
        record.version = 0;
      });
      const unreadable = t.engine.submit(rollback('gone', 1), ALICE, alice);
      await expect(unreadable).rejects.toThrow(ConflictError);
      await expect(unreadable).rejects.toThrow(
        /^No approval plan can be made for this run: revision 1 of release gone in tenant-prod-roll cannot be read: /,
      );
      expect(await pending()).toEqual(before);
    });
  },
);
