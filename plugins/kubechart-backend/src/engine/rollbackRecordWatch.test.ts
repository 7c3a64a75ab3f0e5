import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig, V1Secret } from '@kubernetes/client-node';
import { gzipSync } from 'node:zlib';
import { startSim } from '../__testUtils__/setup';
import { KubeClient } from '../lib/KubeClient';
import { RevisionCreations, watchCreatedRevisions } from './rollbackRevision';

jest.setTimeout(120_000);

const namespace = 'tenant-records';
const RELEASE = 'web';
/** The size of each Secret a tenant user creates and deletes again: a quarter of the most one holds. */
const SIZE = 256 * 1024;
const LABELS = { owner: 'helm', name: RELEASE };

/** A `helm.sh/release.v1` Secret of revision `version` holding `manifest`, in helm's format. */
const record = (version: number, manifest: string): V1Secret => ({
  metadata: {
    name: `sh.helm.release.v1.${RELEASE}.v${version}`,
    labels: { ...LABELS, version: String(version), status: 'deployed' },
  },
  type: 'helm.sh/release.v1',
  data: {
    release: Buffer.from(
      gzipSync(
        Buffer.from(
          JSON.stringify({
            name: RELEASE,
            version,
            manifest,
            config: {},
            info: { status: 'pending-rollback' },
          }),
        ),
      ).toString('base64'),
    ).toString('base64'),
  },
});

/**
 * What is kept while helm rolls back does not grow with what the namespace's users do meanwhile: a
 * tenant user may create and delete Secrets labelled as the release's records over and over, each up
 * to 1 MiB. The first record created decides what helm applied (when it is the revision helm wrote),
 * a second one is someone else's; what follows is not kept.
 */
describe('the watch of the release records during a rollback', () => {
  let sim: KubeSim;
  let core: CoreV1Api;
  let client: KubeClient;
  let records: RevisionCreations | undefined;

  /** Creates and deletes `times` labelled Secrets of SIZE bytes, one after the other. */
  const churn = async (times: number, tag: string) => {
    for (let i = 0; i < times; i++) {
      const name = `churn-${tag}-${i}`;
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name, labels: LABELS },
          data: { blob: Buffer.alloc(SIZE, i % 256).toString('base64') },
        },
      });
      await core.deleteNamespacedSecret({ name, namespace });
    }
  };
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error) => e.message,
    );

  beforeAll(async () => {
    sim = await startSim();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(sim.kubeconfig);
    core = kubeConfig.makeApiClient(CoreV1Api);
    client = new KubeClient(kubeConfig);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // The release's revision 1, there before the rollback.
    await core.createNamespacedSecret({ namespace, body: record(1, 'one') });
  });
  afterEach(() => records?.close());
  afterAll(() => sim?.stop());

  it('keeps none of the Secrets created and deleted while helm runs, and refuses what helm then creates', async () => {
    records = await watchCreatedRevisions(client, namespace, RELEASE, 20_000);
    await churn(20, 'before');
    await core.createNamespacedSecret({ namespace, body: record(2, 'two') });

    const refused = await refusal(records.createdFirst(2));

    // The first record created is not helm's, and nothing after a second one is kept.
    const kept = records.retained();
    expect(kept.changes).toBeLessThanOrEqual(3);
    expect(kept.contentBytes).toBeGreaterThan(SIZE);
    expect(kept.contentBytes).toBeLessThan(2 * SIZE);
    expect(kept.watching).toBe(false);
    expect(refused).toBe(
      `the first release record of ${RELEASE} created while it ran is churn-before-0, not sh.helm.release.v1.${RELEASE}.v2, which helm wrote`,
    );
  });

  it("returns helm's record as first written when Secrets are created and deleted after it, keeping none of them", async () => {
    records = await watchCreatedRevisions(client, namespace, RELEASE, 20_000);
    await core.createNamespacedSecret({ namespace, body: record(3, 'three') });
    // Rewritten once created: only the first write counts.
    await core.replaceNamespacedSecret({
      name: `sh.helm.release.v1.${RELEASE}.v3`,
      namespace,
      body: record(3, 'rewritten'),
    });
    await churn(10, 'after');

    const created = await records.createdFirst(3);

    expect(created).toEqual({
      version: 3,
      status: 'pending-rollback',
      manifest: 'three',
      hooks: [],
      config: {},
      // What a rollback from the history row of this run returns to.
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      // Of what came after it, the name of the first created, which is gone again.
      later: [{ secret: 'churn-after-0', revision: undefined, gone: true }],
    });
    expect(records.retained().contentBytes).toBeLessThan(SIZE);
  });

  it("returns the first record created as helm wrote it, naming the records created after it (an upgrade's)", async () => {
    records = await watchCreatedRevisions(client, namespace, RELEASE, 20_000);
    await core.createNamespacedSecret({ namespace, body: record(5, 'five') });
    await core.replaceNamespacedSecret({
      name: `sh.helm.release.v1.${RELEASE}.v5`,
      namespace,
      body: record(5, 'rewritten'),
    });
    // Someone else's revisions after helm's: one deleted again, one there.
    await core.createNamespacedSecret({ namespace, body: record(6, 'six') });
    await core.deleteNamespacedSecret({
      name: `sh.helm.release.v1.${RELEASE}.v6`,
      namespace,
    });
    await core.createNamespacedSecret({ namespace, body: record(7, 'seven') });
    // The watch stops once it has seen the second record created.
    for (let i = 0; i < 100 && records.retained().watching; i++) {
      await new Promise(r => setTimeout(r, 50));
    }

    const written = await records.createdFirst(5);

    expect(written).toEqual({
      version: 5,
      status: 'pending-rollback',
      manifest: 'five',
      hooks: [],
      config: {},
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      later: [
        { secret: `sh.helm.release.v1.${RELEASE}.v6`, revision: 6, gone: true },
        {
          secret: `sh.helm.release.v1.${RELEASE}.v7`,
          revision: 7,
          gone: false,
        },
      ],
    });
    // Another revision than the first created is not taken as helm's.
    expect(await refusal(records.createdFirst(6))).toBe(
      `the first release record of ${RELEASE} created while it ran is sh.helm.release.v1.${RELEASE}.v5, not sh.helm.release.v1.${RELEASE}.v6, which helm wrote`,
    );
  });

  it('refuses a record it reaches only after more changes than it follows', async () => {
    records = await watchCreatedRevisions(
      client,
      namespace,
      RELEASE,
      20_000,
      5,
    );
    const name = `sh.helm.release.v1.${RELEASE}.v1`;
    for (let i = 0; i < 8; i++) {
      const one = await core.readNamespacedSecret({ name, namespace });
      await core.replaceNamespacedSecret({
        name,
        namespace,
        body: {
          ...one,
          metadata: { ...one.metadata, annotations: { touched: String(i) } },
        },
      });
    }
    await core.createNamespacedSecret({ namespace, body: record(4, 'four') });

    const refused = await refusal(records.createdFirst(4));

    expect(refused).toBe(
      `the release records of ${RELEASE} changed more than 5 times while it ran, more than are followed`,
    );
    expect(records.retained()).toEqual({
      changes: 5,
      contentBytes: 0,
      watching: false,
    });
  });
});
