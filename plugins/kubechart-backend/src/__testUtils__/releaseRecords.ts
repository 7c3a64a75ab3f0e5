import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim, KubeSimUser } from '@internal/kube-sim';
import { CreateRunRequest } from '@kubechart/plugin-kubechart-common';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  V1Secret,
} from '@kubernetes/client-node';
import { gunzipSync, gzipSync } from 'node:zlib';
import { plainCaller } from '../engine/scope';
import { createTestEngine, startSim } from './setup';

/** Decodes a `helm.sh/release.v1` Secret's release: base64 (Secret data) of base64 of gzipped JSON. */
export const decodeRecord = (data: string) =>
  JSON.parse(
    gunzipSync(
      Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64'),
    ).toString('utf8'),
  );

/** Encodes a release record as helm stores it in its Secret's `release` (see {@link decodeRecord}). */
export const encodeRecord = (record: unknown) =>
  Buffer.from(
    gzipSync(Buffer.from(JSON.stringify(record))).toString('base64'),
  ).toString('base64');

/** The Secret helm keeps revision `revision` of `release` in. */
export const recordName = (release: string, revision: number) =>
  `sh.helm.release.v1.${release}.v${revision}`;

/** Where a release's records are: the namespace, read and written with `core`. */
export type RecordsAt = { core: CoreV1Api; namespace: string };

/** The Secret of revision `revision` of `release` and its decoded record. */
export async function readRecord(
  { core, namespace }: RecordsAt,
  release: string,
  revision: number,
): Promise<{ secret: V1Secret; record: any }> {
  const secret = await core.readNamespacedSecret({
    name: recordName(release, revision),
    namespace,
  });
  return { secret, record: decodeRecord(secret.data!.release) };
}

/** What `edit` makes of `record`: the object it returns, or else `record` as it changed it. */
const edited = (record: any, edit?: (record: any) => unknown) => {
  const returned = edit?.(record);
  return typeof returned === 'object' && returned !== null ? returned : record;
};

/**
 * Rewrites revision `revision` of `release` in place: `edit` changes the decoded record, or returns
 * the record to store instead.
 */
export async function rewriteRecord(
  at: RecordsAt,
  release: string,
  revision: number,
  edit: (record: any) => unknown,
) {
  const { secret, record } = await readRecord(at, release, revision);
  const next = edited(record, edit);
  await at.core.replaceNamespacedSecret({
    name: recordName(release, revision),
    namespace: at.namespace,
    body: { ...secret, data: { ...secret.data, release: encodeRecord(next) } },
  });
}

/**
 * Creates the Secret of revision `version` of `release`: a copy of revision `from`'s record stating
 * `version`, changed by `edit`, of the same Secret type, labelled `labels` (given the copied record's
 * labels, where a function).
 */
export async function forgeRecord(
  at: RecordsAt,
  options: {
    release: string;
    from: number;
    version: number;
    labels:
      | Record<string, string>
      | ((from: Record<string, string>) => Record<string, string>);
    edit?: (record: any) => unknown;
  },
) {
  const { release, from, version, labels, edit } = options;
  const { secret, record } = await readRecord(at, release, from);
  record.version = version;
  const next = edited(record, edit);
  await at.core.createNamespacedSecret({
    namespace: at.namespace,
    body: {
      metadata: {
        name: recordName(release, version),
        labels:
          typeof labels === 'function'
            ? labels(secret.metadata?.labels ?? {})
            : labels,
      },
      type: secret.type,
      data: { release: encodeRecord(next) },
    },
  });
}

/** The names of the Secrets in `namespace` that `labelSelector` selects, sorted. */
export const secretNames = async (
  { core, namespace }: RecordsAt,
  labelSelector: string,
) =>
  (await core.listNamespacedSecret({ namespace, labelSelector })).items
    .map(s => s.metadata!.name!)
    .sort();

/** The revisions (`version` labels) of helm's records of `release`, in order. */
export const recordRevisions = async (
  { core, namespace }: RecordsAt,
  release: string,
) =>
  (
    await core.listNamespacedSecret({
      namespace,
      labelSelector: `owner=helm,name=${release}`,
    })
  ).items
    .map(s => Number(s.metadata?.labels?.version))
    .sort((a, b) => a - b);

/** A run of chart `webapp` as release `name` of `namespace`, with image tag `tag`. */
export const webappChart = (
  namespace: string,
  name: string,
  tag: string,
): CreateRunRequest => ({
  kind: 'chart',
  cluster: 'dev',
  namespace,
  release: {
    name,
    chart: 'webapp',
    values: { replicas: 1, pdb: false, image: { tag } },
  },
});

/** A run rolling `release` of `namespace` back to `revision`. */
export const rollbackTo = (
  namespace: string,
  release: string,
  revision: number,
): CreateRunRequest => ({
  kind: 'rollback',
  cluster: 'dev',
  namespace,
  release,
  revision,
});

/** Installs `name` twice through `chart` (revisions 1 and 2), the starting point of a rollback. */
export async function twoRevisions(
  chart: (name: string, tag: string) => Promise<unknown>,
  name: string,
) {
  expect(await chart(name, '1.0.0')).toMatchObject({
    status: 'succeeded',
    helmRevision: 1,
  });
  expect(await chart(name, '1.1.0')).toMatchObject({
    status: 'succeeded',
    helmRevision: 2,
  });
}

/** The image of the first container of Deployment `name`. */
export const deploymentImage = async (
  apps: AppsV1Api,
  namespace: string,
  name: string,
) =>
  (await apps.readNamespacedDeployment({ name, namespace })).spec?.template.spec
    ?.containers[0].image;

/**
 * Lets `user` edit `namespace` (its Secrets included) with the built-in `edit` role, as a platform
 * lets a tenant's people.
 */
export async function grantEdit(
  admin: KubeConfig,
  namespace: string,
  user: KubeSimUser,
) {
  await admin
    .makeApiClient(RbacAuthorizationV1Api)
    .createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: `${user.name}-edit` },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'edit',
        },
        subjects: [
          {
            kind: 'User',
            name: user.name,
            apiGroup: 'rbac.authorization.k8s.io',
          },
        ],
      },
    });
}

/** `user`'s CoreV1 client on kube-sim. */
export function userCore(sim: KubeSim, user: KubeSimUser) {
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfigFor(user.token));
  return kc.makeApiClient(CoreV1Api);
}

/** The next `helm rollback` runs `around`, which is given the real one to call. */
export function onNextHelmRollback(
  around: (
    helmRollback: (o: Parameters<HelmCli['rollback']>[0]) => Promise<void>,
    o: Parameters<HelmCli['rollback']>[0],
  ) => Promise<void>,
) {
  const helmRollback = HelmCli.prototype.rollback;
  return jest
    .spyOn(HelmCli.prototype, 'rollback')
    .mockImplementationOnce(async function wrapped(this: HelmCli, o) {
      return around(options => helmRollback.call(this, options), o);
    });
}

/** Runs `act` when Secrets are next listed with `labelSelector`, before that list is answered. */
export function onNextSecretList(
  labelSelector: string,
  act: () => Promise<void>,
) {
  const list = CoreV1Api.prototype.listNamespacedSecret;
  const spy = jest
    .spyOn(CoreV1Api.prototype, 'listNamespacedSecret')
    .mockImplementation(async function listing(
      this: CoreV1Api,
      ...args: Parameters<CoreV1Api['listNamespacedSecret']>
    ) {
      if (args[0].labelSelector === labelSelector) {
        spy.mockRestore();
        await act();
      }
      return list.apply(this, args);
    });
  return spy;
}

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';

/** Submits `request` to the engine of `t` as Alice and returns the run once it has finished. */
export async function finishRun(
  t: Awaited<ReturnType<typeof createTestEngine>>,
  request: any,
) {
  const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
  await t.engine.waitFor(r.id);
  return (await t.store.getRun(r.id))!;
}

/**
 * An engine with `helmBin` against a kube-sim of its own for one `describe`, Alice's runs finished
 * in it, and `tenantUser` allowed to edit the tenant's namespace (its release records included).
 * With `tenant`, that tenant is made before the tests; without, each test makes its own with
 * `newTenant`, whose namespace is `namespace` from then on.
 */
export function releaseRecordHarness(
  helmBin: 'helm3' | 'helm4',
  options: { tenantUser: KubeSimUser; tenant?: string },
) {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;
  let tenantCore: CoreV1Api;
  let namespace = options.tenant ? `tenant-${options.tenant}` : '';

  const run = (request: any) => finishRun(t, request);
  const chart = (name: string, tag: string) =>
    run(webappChart(namespace, name, tag));
  /** Makes tenant `code`, its user allowed `edit` there: its namespace is the test's. */
  const newTenant = async (code: string) => {
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    if (tenant.status !== 'succeeded')
      throw new Error(`tenant failed: ${tenant.failureReason}`);
    namespace = `tenant-${code}`;
    await grantEdit(
      t.clusters.kubeConfig('dev'),
      namespace,
      options.tenantUser,
    );
  };
  /** The tenant user's records of the test's namespace. */
  const records = (): RecordsAt => ({ core: tenantCore, namespace });

  beforeAll(async () => {
    sim = await startSim({ users: [options.tenantUser] });
    t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      helm: helmBin,
    });
    tenantCore = userCore(sim, options.tenantUser);
    if (options.tenant) await newTenant(options.tenant);
  });
  afterAll(async () => {
    await sim?.stop();
  });

  return {
    get sim() {
      return sim;
    },
    get t() {
      return t;
    },
    /** The cluster admin's kubeconfig. */
    get admin() {
      return t.clusters.kubeConfig('dev');
    },
    /** The tenant user's client: edit rights on the namespace, nothing more. */
    get tenantCore() {
      return tenantCore;
    },
    get namespace() {
      return namespace;
    },
    run,
    chart,
    rollback: (release: string, revision: number) =>
      run(rollbackTo(namespace, release, revision)),
    twoRevisions: (name: string) => twoRevisions(chart, name),
    image: (name: string) =>
      deploymentImage(
        t.clusters.kubeConfig('dev').makeApiClient(AppsV1Api),
        namespace,
        name,
      ),
    networking: () =>
      t.clusters.kubeConfig('dev').makeApiClient(NetworkingV1Api),
    newTenant,
    records,
    /** The names of helm's records of `release`, sorted. */
    helmRecords: (release: string) =>
      secretNames(records(), `owner=helm,name=${release}`),
    rewriteRecord: (
      release: string,
      revision: number,
      edit: (record: any) => unknown,
    ) => rewriteRecord(records(), release, revision, edit),
  };
}
