import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  CreateRunRequest,
  ReleaseSpec,
} from '@kubechart/plugin-kubechart-common';
import { parseManifests } from '@kubechart/plugin-kubechart-node';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';
import {
  approvedManifestOf,
  describeManifestDifference,
} from './approvedManifest';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const MANAGERS = 'group:default/release-managers';
const alice: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', MANAGERS],
  mayApprove: true,
};

/** The twoface chart renders `mode: benign` on a first install (and offline), `mode: evil` on an upgrade. */
const twoface = (v: number): ReleaseSpec => ({
  name: 'tf',
  chart: 'twoface',
  values: { v },
});
const web = (replicas: number): ReleaseSpec => ({
  name: 'web',
  chart: 'webapp',
  values: { replicas },
});
/** A ConfigMap and a pre-install/pre-upgrade hook Job that render alike on every install and upgrade. */
const hooked = (values: Record<string, unknown>): ReleaseSpec => ({
  name: 'hook',
  chart: 'statichook',
  values,
});
const installedAtInstall =
  /^Release tf was not installed: the chart rendered differently at install than in the approved plan \(ConfigMap tf-cfg differs\)/;

describe.each(['helm3', 'helm4'] as const)('an approved run with %s', helm => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim?.stop());

  async function setup(tenant: string) {
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      helm,
      // The catalog has alice in payments, as her sign-in token says.
      requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      config: testConfig(sim, {
        approvals: {
          rules: [
            {
              name: 'protected',
              namespaces: [`tenant-${tenant}`],
              approvers: [MANAGERS],
            },
          ],
        },
      }),
    });
    const kc = t.clusters.kubeConfig('dev');
    const approve = async (request: CreateRunRequest) => {
      const run = await t.engine.submit(request, ALICE, alice);
      expect(run.status).toBe('awaiting-approval');
      const plan = (await t.store.getRun(run.id))!;
      await t.engine.decide(run.id, bob, 'approve', 'ok');
      await t.engine.waitIdle();
      return { plan, done: (await t.store.getRun(run.id))! };
    };
    const liveConfigMap = (name: string) =>
      kc
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ namespace: `tenant-${tenant}`, name })
        .then(cm => cm.data);
    return { ...t, kc, approve, liveConfigMap };
  }

  it('refuses a chart run whose chart renders at install what the approved plan did not show', async () => {
    const { engine, approve, liveConfigMap } = await setup('twoface');
    const tenant = await approve({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'twoface',
      owner: PAYMENTS,
      releases: [],
    });
    expect(tenant.done.status).toBe('succeeded');
    const chart = (v: number): CreateRunRequest => ({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-twoface',
      release: twoface(v),
    });

    // A first install renders at install as the plan did.
    const first = await approve(chart(1));
    expect(first.plan.manifest).toContain('mode: benign');
    expect({
      status: first.done.status,
      reason: first.done.failureReason,
    }).toEqual({ status: 'succeeded', reason: undefined });
    expect(await liveConfigMap('tf-cfg')).toEqual({
      v: '1',
      mode: 'benign',
    });

    // An upgrade renders `mode: evil` at install; the approvers saw `mode: benign`.
    const second = await approve(chart(2));
    expect(second.plan.manifest).toContain('mode: benign');
    expect(second.plan.manifest).not.toContain('evil');
    expect({
      status: second.done.status,
      reason: second.done.failureReason,
    }).toEqual({
      status: 'failed',
      reason: expect.stringMatching(installedAtInstall),
    });
    // The run shows what helm was about to apply and was refused.
    expect(second.done.manifest).toContain('mode: evil');
    // The approved change was not carried out, and its approval says so.
    expect({
      approval: second.done.approval?.state,
      applied: second.done.applied,
    }).toEqual({ approval: 'refused', applied: [] });
    expect(await liveConfigMap('tf-cfg')).toEqual({
      v: '1',
      mode: 'benign',
    });
    // The approval was used up by the refused run: it starts nothing again.
    await expect(
      engine.executeApproved(second.plan.id, chart(2), ALICE, alice),
    ).rejects.toThrow(/is not approved/);
    expect(await liveConfigMap('tf-cfg')).toEqual({
      v: '1',
      mode: 'benign',
    });
  });

  it('installs approved tenant upgrades of ordinary charts, and refuses the release that renders otherwise at install', async () => {
    const { approve, liveConfigMap, kc } = await setup('pair');
    const tenantRun = (releases: ReleaseSpec[]): CreateRunRequest => ({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'pair',
      owner: PAYMENTS,
      releases,
    });
    const first = await approve(tenantRun([web(1), hooked({}), twoface(1)]));
    expect({
      status: first.done.status,
      reason: first.done.failureReason,
    }).toEqual({ status: 'succeeded', reason: undefined });

    // Upgrades of charts that render at install as they do offline (tenant labels, hooks).
    const upgrade = await approve(
      tenantRun([web(2), hooked({ privilegedHook: false }), twoface(1)]),
    );
    expect({
      status: upgrade.done.status,
      reason: upgrade.done.failureReason,
    }).toEqual({ status: 'succeeded', reason: undefined });
    const deployment = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: 'tenant-pair', name: 'web' });
    expect(deployment.spec?.replicas).toBe(2);
    expect(upgrade.done.applied).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/release web revision 2/),
        expect.stringMatching(/release hook revision 2/),
      ]),
    );

    const evil = await approve(
      tenantRun([web(2), hooked({ privilegedHook: false }), twoface(2)]),
    );
    expect(evil.plan.manifest).not.toContain('evil');
    expect({
      status: evil.done.status,
      reason: evil.done.failureReason,
    }).toEqual({
      status: 'failed',
      reason: expect.stringMatching(installedAtInstall),
    });
    expect(await liveConfigMap('tf-cfg')).toEqual({
      v: '1',
      mode: 'benign',
    });
  });
});

describe('the normalised rendering of an approved release', () => {
  const plan = parseManifests(
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: cfg }',
      'data: { url: "postgres://app:generated-at-install@db" }',
      '---',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: { name: creds }',
      'stringData: { password: first-random-value }',
    ].join('\n'),
  );
  const labels = { 'kubechart.io/tenant': 'pair' };

  it('is the same for what helm sends at install: other order, tenant labels, helm 4 file names, generated Secret data and credentials', () => {
    const sent = parseManifests(
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        '  name: creds',
        '  labels: { kubechart.io/tenant: pair }',
        '  annotations: { postrenderer.helm.sh/postrender-filename: templates/secret.yaml }',
        'stringData: { password: another-random-value }',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: cfg',
        '  labels: { kubechart.io/tenant: pair }',
        'data: { url: "postgres://app:Zr81-credential-0x@db" }',
      ].join('\n'),
    );
    const approved = approvedManifestOf(plan, labels);
    expect(
      describeManifestDifference(
        'web',
        approved,
        approvedManifestOf(sent, labels, ['Zr81-credential-0x']),
      ),
    ).toBeUndefined();
    // Without the credentials it was given, the ConfigMap differs.
    expect(
      describeManifestDifference(
        'web',
        approved,
        approvedManifestOf(sent, labels),
      ),
    ).toMatch(/^Release web was not installed: .* \(ConfigMap cfg differs\)/);
  });

  it('names an object added at install, and one of the plan that is missing', () => {
    const approved = approvedManifestOf(plan, {});
    const extra = parseManifests(
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: sneak }\n',
    );
    expect(
      describeManifestDifference(
        'web',
        approved,
        approvedManifestOf([...plan, ...extra], {}),
      ),
    ).toContain('(ServiceAccount sneak is not in the approved plan)');
    expect(
      describeManifestDifference(
        'web',
        approved,
        approvedManifestOf(plan.slice(0, 1), {}),
      ),
    ).toContain('(Secret creds of the approved plan is missing)');
  });
});
