import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConflictError } from '@backstage/errors';
import { gzipSync } from 'node:zlib';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const ASSIGNED = 'shop';

/**
 * A release record whose chart carries 64 MiB of zeros (as helm stores a chart with large files of
 * zeros): about 64 KB gzipped, so its Secret is small, and 64 MiB once decompressed.
 */
function inflatingRecord(): string {
  const json = JSON.stringify({
    name: 'web',
    version: 1,
    namespace: ASSIGNED,
    info: { status: 'deployed' },
    chart: {
      metadata: { name: 'webapp', version: '0.1.0' },
      files: [{ name: 'zeros.bin', data: '@@' }],
    },
    config: {},
    manifest: '',
  });
  const [before, after] = json.split('@@');
  const gzipped = gzipSync(
    Buffer.concat([
      Buffer.from(before),
      Buffer.alloc(64 * 1024 * 1024, 'A'),
      Buffer.from(after),
    ]),
  );
  // helm's own base64; the API client base64-encodes it once more as Secret data.
  return gzipped.toString('base64');
}

describe('a chart run on a release whose stored record inflates past the limit', () => {
  let sim: KubeSim;
  let engine: RunEngine;
  let created: Awaited<ReturnType<typeof createTestEngine>>;
  let core: CoreV1Api;

  beforeAll(async () => {
    sim = await startSim();
    created = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim, {
        clusters: {
          dev: {
            namespaces: { [ASSIGNED]: { owner: 'user:default/alice' } },
          },
        },
      }),
    });
    ({ engine } = created);
    core = created.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ASSIGNED } } });
  });
  afterAll(() => sim?.stop());

  it('fails with a reason naming the release record, and helm installs nothing', async () => {
    await core.createNamespacedSecret({
      namespace: ASSIGNED,
      body: {
        metadata: {
          name: 'sh.helm.release.v1.web.v1',
          labels: {
            name: 'web',
            owner: 'helm',
            status: 'deployed',
            version: '1',
          },
        },
        type: 'helm.sh/release.v1',
        stringData: { release: inflatingRecord() },
      },
    });
    const submitted = await engine.submit(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ASSIGNED,
        release: { name: 'web', chart: 'webapp', values: {} },
      },
      'user:default/alice',
      alice,
    );
    await engine.waitFor(submitted.id);
    const run = (await created.store.getRun(submitted.id))!;
    expect({ status: run.status, reason: run.failureReason }).toEqual({
      status: 'failed',
      reason: expect.stringMatching(
        /^Helm release record sh\.helm\.release\.v1\.web\.v1 of release web in namespace shop is larger than 32 MiB once decompressed/,
      ),
    });
    // helm was never run: no second revision, and the release's workload is not there.
    const secrets = await core.listNamespacedSecret({
      namespace: ASSIGNED,
      labelSelector: 'owner=helm,name=web',
    });
    expect(secrets.items.map(s => s.metadata?.name)).toEqual([
      'sh.helm.release.v1.web.v1',
    ]);
  });

  it('refuses a protected run on it with 409 naming the record, not a server error, and records nothing', async () => {
    const { engine: protectedEngine, store } = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: testConfig(sim, {
        clusters: {
          dev: {
            namespaces: { [ASSIGNED]: { owner: 'user:default/alice' } },
          },
        },
        approvals: {
          rules: [
            {
              name: 'shop',
              namespaces: [ASSIGNED],
              approvers: ['group:default/sre'],
            },
          ],
        },
      }),
    });
    const submitted = protectedEngine.submit(
      {
        kind: 'chart',
        cluster: 'dev',
        namespace: ASSIGNED,
        release: { name: 'web', chart: 'webapp', values: {} },
      },
      'user:default/alice',
      alice,
    );
    await expect(submitted).rejects.toThrow(ConflictError);
    await expect(submitted).rejects.toThrow(
      /^No approval plan can be made for this run: Helm release record sh\.helm\.release\.v1\.web\.v1 of release web in namespace shop is larger than 32 MiB once decompressed/,
    );
    expect(
      (await store.listRuns({ cluster: 'dev' }, { limit: 10 })).items,
    ).toEqual([]);
  });
});
