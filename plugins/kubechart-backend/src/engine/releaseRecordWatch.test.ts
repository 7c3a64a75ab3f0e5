import { KubeSim } from '@internal/kube-sim';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api, KubeConfig, V1Secret } from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { helmBinary, startSim } from '../__testUtils__/setup';
import { readCurrentHelmReleases } from '../lib/helmRelease';
import { KubeClient } from '../lib/KubeClient';
import { RunFailure } from './errors';
import {
  ReleaseRecordWatch,
  ReleaseRecordWatchFailure,
  watchReleaseRecords,
} from './releaseRecordWatch';

jest.setTimeout(120_000);

const namespace = 'tenant-records';
/** A user of the cluster with no rights at all. */
const NOBODY = { name: 'nobody', token: 'nobody-token' };
const recordName = (release: string, version: number) =>
  `sh.helm.release.v1.${release}.v${version}`;

/** A `helm.sh/release.v1` Secret of revision `version` of `release`, in helm's format. */
const record = (
  release: string,
  version: number,
  status = 'deployed',
): V1Secret => ({
  metadata: {
    name: recordName(release, version),
    labels: { owner: 'helm', name: release, version: String(version), status },
  },
  type: 'helm.sh/release.v1',
  data: {
    release: Buffer.from(
      gzipSync(
        Buffer.from(
          JSON.stringify({
            name: release,
            version,
            manifest: '',
            config: {},
            info: { status },
          }),
        ),
      ).toString('base64'),
    ).toString('base64'),
  },
});

/**
 * The records helm acts on are Secrets the namespace's users may write. The engine watches them from
 * its check on, and asks at a gate (an upgrade's post-render, or before and after a rollback) whether
 * any changed in a way helm does not change them; what it cannot tell is refused.
 */
describe('the watch of the release records from their check', () => {
  let sim: KubeSim;
  let core: CoreV1Api;
  let client: KubeClient;
  let watch: ReleaseRecordWatch | undefined;

  /** Release `release` with revisions 1..`last`, the last one deployed; its records as checked. */
  const checkedRelease = async (release: string, last = 1) => {
    for (let v = 1; v <= last; v++) {
      await core.createNamespacedSecret({
        namespace,
        body: record(release, v, v === last ? 'deployed' : 'superseded'),
      });
    }
    return readCurrentHelmReleases(client, namespace, release);
  };
  const markers = async (release: string) =>
    (
      await core.listNamespacedSecret({
        namespace,
        labelSelector: `name=${release},owner=kubechart`,
      })
    ).items.map(s => ({ name: s.metadata!.name, labels: s.metadata!.labels }));
  /** The error `p` rejects with; undefined when it resolves. */
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error) => e,
    );
  const update = async (name: string, annotation: string) => {
    const secret = await core.readNamespacedSecret({ name, namespace });
    await core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...secret,
        metadata: { ...secret.metadata, annotations: { touched: annotation } },
      },
    });
  };

  beforeAll(async () => {
    sim = await startSim({ users: [NOBODY] });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(sim.kubeconfig);
    core = kubeConfig.makeApiClient(CoreV1Api);
    client = new KubeClient(kubeConfig);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterEach(() => {
    watch?.close();
    watch = undefined;
    sim.faults.clear();
  });
  afterAll(() => sim?.stop());

  it('refuses at the gate when the watch ended before it', async () => {
    const checked = await checkedRelease('ended');
    watch = await watchReleaseRecords(client, namespace, 'ended', checked);
    // The cluster compacts its watch cache: every open watch ends with 410 Gone.
    sim.faults.expireWatches();

    const refused = await refusal(watch.changedSince());

    expect(refused).toBeInstanceOf(RunFailure);
    expect(refused?.message).toMatch(
      /^the watch of its release records failed: /,
    );
    expect(await markers('ended')).toEqual([]);
  });

  it('refuses when the watch does not show its marker in time, and deletes the marker', async () => {
    const checked = await checkedRelease('held');
    watch = await watchReleaseRecords(client, namespace, 'held', checked, {
      waitMs: 50,
    });
    sim.faults.hangWatches({ resource: 'secrets', namespace });

    const refused = await refusal(watch.changedSince());

    expect(refused).toBeInstanceOf(RunFailure);
    expect(refused?.message).toMatch(
      /^the watch of its release records did not show the marker Secret kubechart-records-[0-9a-f]{16} within 0\.05s$/,
    );
    expect(await markers('held')).toEqual([]);
  });

  it('refuses to start for an identity that may not watch Secrets, saying so', async () => {
    const checked = await checkedRelease('denied');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(sim.kubeconfigFor(NOBODY.token));

    const failure = await refusal(
      watchReleaseRecords(
        new KubeClient(kubeConfig),
        namespace,
        'denied',
        checked,
      ),
    );

    expect(failure).toBeInstanceOf(ReleaseRecordWatchFailure);
    expect((failure as ReleaseRecordWatchFailure).forbidden).toBe(true);
  });

  it('tells of a marker it could not delete, which is left labelled as no release record', async () => {
    const checked = await checkedRelease('kept');
    const told: string[] = [];
    watch = await watchReleaseRecords(client, namespace, 'kept', checked, {
      onMarkerLeft: m => told.push(m),
    });
    sim.faults.failVerb({ verb: 'delete', resource: 'secrets', namespace });

    expect(await watch.changedSince()).toBeUndefined();

    sim.faults.clear();
    const left = await markers('kept');
    expect(left).toEqual([
      {
        name: expect.stringMatching(/^kubechart-records-[0-9a-f]{16}$/),
        labels: { name: 'kept', owner: 'kubechart' },
      },
    ]);
    expect(told).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the marker Secret ${left[0].name} in ${namespace} \\(labelled name=kept,owner=kubechart, which helm does not read\\) could not be deleted and is left behind; delete it: `,
        ),
      ),
    ]);
    // helm, and the engine's check, never read it as a record.
    expect(
      (await readCurrentHelmReleases(client, namespace, 'kept')).current.map(
        r => r.secret,
      ),
    ).toEqual([recordName('kept', 1)]);
  });

  it('allows what helm writes in a rollback: its pruning of old records before its record, anything after it', async () => {
    const checked = await checkedRelease('pruned', 3);
    watch = await watchReleaseRecords(client, namespace, 'pruned', checked, {
      pruning: { current: checked.current.map(r => r.secret) },
    });
    await core.deleteNamespacedSecret({
      name: recordName('pruned', 1),
      namespace,
    });
    // Before helm runs, pruning is all that may have happened.
    expect(await watch.changedSince()).toBeUndefined();
    await core.createNamespacedSecret({
      namespace,
      body: record('pruned', 4, 'pending-rollback'),
    });
    // helm supersedes what was deployed and marks its record deployed; anything after its record
    // was written comes after helm read what it acts on.
    await update(recordName('pruned', 3), 'superseded');
    await update(recordName('pruned', 4), 'deployed');
    await core.deleteNamespacedSecret({
      name: recordName('pruned', 2),
      namespace,
    });

    expect(await watch.changedSince(recordName('pruned', 4))).toBeUndefined();
  });

  it.each([
    [
      'a current record deleted',
      async (release: string) => {
        await core.deleteNamespacedSecret({
          name: recordName(release, 2),
          namespace,
        });
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 3, 'pending-rollback'),
        });
      },
      3,
      { secret: recordName('cur', 2), was: 'deleted' },
      'cur',
    ],
    [
      'an old record rewritten',
      async (release: string) => {
        await update(recordName(release, 1), 'rewritten');
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 3, 'pending-rollback'),
        });
      },
      3,
      { secret: recordName('old', 1), was: 'changed' },
      'old',
    ],
    [
      "a record created before helm's",
      async (release: string) => {
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 3),
        });
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 4, 'pending-rollback'),
        });
      },
      4,
      { secret: recordName('first', 3), was: 'created' },
      'first',
    ],
    [
      "a record of helm's name created, deleted and created again",
      async (release: string) => {
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 3),
        });
        await core.deleteNamespacedSecret({
          name: recordName(release, 3),
          namespace,
        });
        await core.createNamespacedSecret({
          namespace,
          body: record(release, 3, 'pending-rollback'),
        });
      },
      3,
      { secret: recordName('twice', 3), was: 'created' },
      'twice',
    ],
  ])(
    'refuses %s before helm wrote its record of a rollback',
    async (_, act, helmRevision, change, release) => {
      const checked = await checkedRelease(release, 2);
      watch = await watchReleaseRecords(client, namespace, release, checked, {
        pruning: { current: checked.current.map(r => r.secret) },
      });
      await act(release);

      expect(
        await watch.changedSince(recordName(release, helmRevision)),
      ).toEqual(change);
    },
  );

  it('refuses any record created before helm runs, and deletions when helm prunes nothing', async () => {
    const checked = await checkedRelease('early', 2);
    watch = await watchReleaseRecords(client, namespace, 'early', checked);
    await core.deleteNamespacedSecret({
      name: recordName('early', 1),
      namespace,
    });
    expect(await watch.changedSince()).toEqual({
      secret: recordName('early', 1),
      was: 'deleted',
    });

    const rollback = await checkedRelease('earlier', 2);
    watch.close();
    watch = await watchReleaseRecords(client, namespace, 'earlier', rollback, {
      pruning: { current: rollback.current.map(r => r.secret) },
    });
    await core.createNamespacedSecret({
      namespace,
      body: record('earlier', 3),
    });
    expect(await watch.changedSince()).toEqual({
      secret: recordName('earlier', 3),
      was: 'created',
    });
  });
});

/**
 * What real helm writes while it rolls back a release with a long history: it prunes the oldest
 * records (at most 10 are kept) before it writes its own, then supersedes the deployed one. None of it
 * is a change of the records.
 */
describe.each(['helm3', 'helm4'] as const)(
  'the watch of the records while %s rolls back a release with a long history',
  helmBin => {
    let sim: KubeSim;
    let client: KubeClient;
    let chart: string;
    const helm = new HelmCli({ binary: helmBinary(helmBin) });
    const ns = `history-${helmBin}`;

    beforeAll(async () => {
      sim = await startSim();
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromString(sim.kubeconfig);
      client = new KubeClient(kubeConfig);
      await kubeConfig
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: ns } } });
      chart = await fs.mkdtemp(path.join(os.tmpdir(), 'history-chart-'));
      await fs.mkdir(path.join(chart, 'templates'));
      await fs.writeFile(
        path.join(chart, 'Chart.yaml'),
        'apiVersion: v2\nname: history\nversion: 0.1.0\n',
      );
      await fs.writeFile(
        path.join(chart, 'templates', 'cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }} }\ndata: { n: {{ .Values.n | quote }} }\n',
      );
    });
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(chart, { recursive: true, force: true });
    });

    it('sees none of them as a change', async () => {
      const target = {
        release: 'long',
        namespace: ns,
        kubeconfig: sim.kubeconfig,
      };
      for (let n = 1; n <= 10; n++) {
        await helm.upgradeInstall({ ...target, chart, values: { n } });
      }
      const checked = await readCurrentHelmReleases(client, ns, 'long');
      expect(checked.uids).toHaveLength(10);
      const watch = await watchReleaseRecords(client, ns, 'long', checked, {
        pruning: { current: checked.current.map(r => r.secret) },
      });
      try {
        expect(await watch.changedSince()).toBeUndefined();

        await helm.rollback({ ...target, revision: 5 });

        const after = await readCurrentHelmReleases(client, ns, 'long');
        // helm pruned revision 1 before it wrote revision 11.
        expect(after.uids).toHaveLength(10);
        expect(after.current.map(r => r.secret)).toEqual([
          recordName('long', 11),
        ]);
        expect(
          await watch.changedSince(recordName('long', 11)),
        ).toBeUndefined();
      } finally {
        watch.close();
      }
    });
  },
);
