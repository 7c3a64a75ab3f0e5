import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/** The ExternalSecret CRD of External Secrets (`external-secrets.io/v1`), as much of it as the test needs. */
const externalSecretCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'externalsecrets.external-secrets.io' },
  spec: {
    group: 'external-secrets.io',
    scope: 'Namespaced',
    names: {
      plural: 'externalsecrets',
      singular: 'externalsecret',
      kind: 'ExternalSecret',
      listKind: 'ExternalSecretList',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
              },
            },
          },
        },
      },
    ],
  },
};
/** What the operator's chart ships: its kinds added to `admin`, the role KubeChart's deployer holds. */
const externalSecretsAdmin = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: {
    name: 'external-secrets-edit',
    labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' },
  },
  rules: [
    {
      apiGroups: ['external-secrets.io'],
      resources: ['externalsecrets'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    },
  ],
};

const externalSecret = (name: string, storeKind: string) =>
  [
    'apiVersion: external-secrets.io/v1',
    'kind: ExternalSecret',
    `metadata: { name: ${name} }`,
    'spec:',
    `  secretStoreRef: { name: vault, kind: ${storeKind} }`,
    '  target: { name: db }',
    '  data: [{ secretKey: password, remoteRef: { key: team-b/db } }]',
  ].join('\n');

/*
 * Operators add their kinds to `admin`, so a tenant's deployer may create their custom resources:
 * an ExternalSecret naming a ClusterSecretStore would read, with the store's credentials, secrets of
 * other tenants. The chart policy refuses it before anything is applied, in every mode.
 */
describe('custom resources that reach other namespaces, in a manifests run against kube-sim', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let store: Awaited<ReturnType<typeof createTestEngine>>['store'];
  let custom: CustomObjectsApi;
  const ns = 'tenant-xns';

  const apply = async (manifests: string) => {
    const run = await engine.submit(
      { kind: 'manifests', cluster: 'dev', namespace: ns, manifests },
      'user:default/alice',
    );
    await engine.waitFor(run.id);
    return (await store.getRun(run.id))!;
  };
  const externalSecrets = async () =>
    (
      (await custom.listNamespacedCustomObject({
        group: 'external-secrets.io',
        version: 'v1',
        namespace: ns,
        plural: 'externalsecrets',
      })) as any
    ).items.map((i: any) => i.metadata.name);

  beforeAll(async () => {
    sim = await startSim({
      objects: [externalSecretCrd, externalSecretsAdmin] as any[],
    });
    // Warn mode: the rule blocks in every mode, as the RBAC rules do.
    const created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim, {
        policy: { mode: 'warn', trustedRegistries: ['registry.example.com'] },
      }),
    });
    ({ engine, store } = created);
    custom = created.clusters.kubeConfig('dev').makeApiClient(CustomObjectsApi);
    const tenant = await engine.submit(
      { kind: 'tenant', cluster: 'dev', tenant: 'xns', releases: [] },
      'user:default/alice',
    );
    await engine.waitFor(tenant.id);
    const done = (await store.getRun(tenant.id))!;
    if (done.status !== 'succeeded')
      throw new Error(`tenant ${done.status}: ${done.failureReason}`);
  });
  afterAll(() => sim?.stop());

  it('refuses an ExternalSecret reading through a ClusterSecretStore, naming the rule and the field; nothing is applied', async () => {
    const run = await apply(externalSecret('stolen', 'ClusterSecretStore'));
    expect(run.status).toBe('failed');
    // The mode in force is named: the run was refused under warn, by a rule that blocks in every mode.
    expect(run.failureReason).toContain(
      'Chart policy (warn) blocked the manifests; nothing was applied',
    );
    expect(run.failureReason).toContain(
      '[cross-namespace-secrets] ExternalSecret/stolen: spec.secretStoreRef names ClusterSecretStore vault: a store of the whole cluster, whose credentials reach other tenants\' secrets too; allow it with kubechart.policy.allowCrossNamespace "ClusterSecretStore.external-secrets.io/vault"',
    );
    expect(run.policyReport?.blocking).toBe(true);
    expect(run.policyReport?.results).toContainEqual(
      expect.objectContaining({
        ruleId: 'cross-namespace-secrets',
        severity: 'error',
        passed: false,
        object: expect.objectContaining({
          kind: 'ExternalSecret',
          name: 'stolen',
        }),
      }),
    );
    expect(await externalSecrets()).toEqual([]);
  });

  it('applies an ExternalSecret reading through a SecretStore of its own namespace', async () => {
    const run = await apply(externalSecret('own', 'SecretStore'));
    expect([run.status, run.failureReason]).toEqual(['succeeded', undefined]);
    expect(await externalSecrets()).toEqual(['own']);
  });
});
