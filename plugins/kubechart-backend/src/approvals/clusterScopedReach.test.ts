import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { RunCaller } from '../engine/scope';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const CRD_KIND = 'apiextensions.k8s.io/CustomResourceDefinition';
const PLATFORM = 'group:default/platform';

/** Alice, payments member, holding kubechart.runs.cluster-scoped (CRDs allowed on dev). */
const alice: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: true,
  isTenantAdmin: false,
};

const crd = (conversion?: Record<string, unknown>) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
          },
        },
      },
    ],
    ...(conversion ? { conversion } : {}),
  },
});

describe('approvals and cluster-scoped objects', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());

  /** The platform's CRD, whose Widgets a protected tenant namespace holds; `shop` is Alice's. */
  const setup = async (rules: Record<string, unknown>[]) => {
    const config = testConfig(sim, {
      approvals: { rules },
      clusters: {
        dev: {
          allowedClusterScopedKinds: [CRD_KIND],
          namespaces: { shop: { owner: PAYMENTS } },
        },
      },
    });
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config,
      requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
    });
    const kc = t.engine.client('dev').kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const crdRef = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    } as any;
    await objects.delete(crdRef).catch(() => undefined);
    await objects.create(crd() as any);
    for (const name of ['tenant-prod-w', 'shop'])
      await core
        .createNamespace({ body: { metadata: { name } } })
        .catch(() => undefined);
    await objects
      .create({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'payments-widget', namespace: 'tenant-prod-w' },
        spec: { size: 1 },
      } as any)
      .catch(() => undefined);
    const conversion = async () =>
      ((await objects.read(crdRef)) as any).spec?.conversion?.strategy ??
      'None';
    return { ...t, conversion };
  };

  // Alice's manifests run targets `shop` (not protected) and re-applies the CRD with a conversion
  // webhook served from `shop`: every read and write of the Widgets in tenant-prod-w would go
  // through her webhook.
  const hijack = {
    kind: 'manifests' as const,
    cluster: 'dev',
    namespace: 'shop',
    manifests: JSON.stringify(
      crd({
        strategy: 'Webhook',
        webhook: {
          conversionReviewVersions: ['v1'],
          clientConfig: {
            service: { namespace: 'shop', name: 'converter', path: '/convert' },
          },
        },
      }),
    ),
  };

  it('a run in an unprotected namespace that changes a CRD on a protected cluster waits for the approvers of the cluster', async () => {
    const { engine, store, conversion } = await setup([
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: ['owner', PLATFORM],
      },
    ]);
    const run = await engine.submit(hijack, ALICE, alice);
    const statusAtSubmit = run.status;
    if (run.status !== 'awaiting-approval') await engine.waitFor(run.id);
    const after = (await store.getRun(run.id))!;
    expect({
      statusAtSubmit,
      finalStatus: after.status,
      // The owner of `shop` (Alice's own team) is not whom the change reaches: not an approver.
      approvers: after.approval?.approvers,
      conversion: await conversion(),
    }).toEqual({
      statusAtSubmit: 'awaiting-approval',
      finalStatus: 'awaiting-approval',
      approvers: [PLATFORM],
      conversion: 'None',
    });
  });

  it('is refused when no rule of the cluster names an approver who can judge it (only `owner`)', async () => {
    const { engine, conversion } = await setup([
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: ['owner'],
      },
    ]);
    await expect(engine.submit(hijack, ALICE, alice)).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining('CustomResourceDefinition'),
    });
    expect(await conversion()).toBe('None');
  });

  it('a run of namespaced objects only, or on a cluster no rule covers, is not held', async () => {
    const { engine, store } = await setup([
      {
        name: 'production',
        namespaces: ['tenant-prod-*'],
        approvers: [PLATFORM],
      },
    ]);
    const run = await engine.submit(
      {
        kind: 'manifests',
        cluster: 'dev',
        namespace: 'shop',
        manifests: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'plain' },
          data: { a: '1' },
        }),
      },
      ALICE,
      alice,
    );
    expect(run.status).not.toBe('awaiting-approval');
    await engine.waitFor(run.id);
    expect((await store.getRun(run.id))!.status).toBe('succeeded');

    const other = await setup([
      {
        name: 'production',
        clusters: ['prod'],
        namespaces: ['tenant-prod-*'],
        approvers: [PLATFORM],
      },
    ]);
    const free = await other.engine.submit(hijack, ALICE, alice);
    expect(free.status).not.toBe('awaiting-approval');
  });
});
