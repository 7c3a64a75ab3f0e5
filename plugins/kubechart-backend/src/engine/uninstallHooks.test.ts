import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { BatchV1Api, CoreV1Api, V1JobSpec } from '@kubernetes/client-node';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  chartDirectory,
  createTestEngine,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const alice: RunCaller = {
  ownershipRefs: [ALICE],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};

/** A `helm.sh/release.v1` Secret's release: base64 (Secret data) of base64 of gzipped JSON. */
const decode = (data: string) =>
  JSON.parse(
    gunzipSync(
      Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64'),
    ).toString('utf8'),
  );
const encode = (record: unknown) =>
  Buffer.from(
    gzipSync(Buffer.from(JSON.stringify(record))).toString('base64'),
  ).toString('base64');

/**
 * A hook Job the chart policy passes; `suspend` keeps it from ever completing. Its
 * `backoffLimit` (2, not the default 6) stands for a field a client's typed models do not know.
 */
const hookJob = (
  name: string,
  annotations: Record<string, string>,
  suspend = '{{ .Values.suspend }}',
) =>
  [
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    `  name: ${name}`,
    '  annotations:',
    ...Object.entries(annotations).map(([k, v]) => `    "${k}": "${v}"`),
    'spec:',
    `  suspend: ${suspend}`,
    '  backoffLimit: 2',
    '  template:',
    '    spec:',
    '      restartPolicy: Never',
    '      automountServiceAccountToken: false',
    '      securityContext: { runAsNonRoot: true }',
    '      containers:',
    '        - name: run',
    '          image: registry.example.com/team/cleanup:1.0.0',
    '          securityContext:',
    '            privileged: false',
    '            allowPrivilegeEscalation: false',
    '            readOnlyRootFilesystem: true',
    '            capabilities: { drop: [ALL] }',
    '          resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: 100m, memory: 64Mi } }',
    '',
  ].join('\n');
const hookConfigMap = (name: string, annotations: Record<string, string>) =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    '  annotations:',
    ...Object.entries(annotations).map(([k, v]) => `    "${k}": "${v}"`),
    'data: { ran: "yes" }',
    '',
  ].join('\n');

/**
 * Chart `cleanup`: a ConfigMap `<release>-cfg`; pre-delete hooks, a ConfigMap `<release>-note`
 * (weight -1, the default delete policy) and a Job `<release>-pre` (deleted once it succeeded, or
 * once it failed); and a post-delete ConfigMap `<release>-post`. With `postJob`, also a post-delete
 * Job `<release>-postjob` (suspended by `postJob.suspend`, the default delete policy).
 */
async function writeCleanupChart(charts: string) {
  const chart = path.join(charts, 'cleanup');
  await fs.mkdir(path.join(chart, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(chart, 'Chart.yaml'),
    'apiVersion: v2\nname: cleanup\nversion: 0.1.0\n',
  );
  await fs.writeFile(path.join(chart, 'values.yaml'), 'suspend: false\n');
  const files: Record<string, string> = {
    'cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-cfg }\ndata: { a: b }\n',
    'note.yaml': hookConfigMap('{{ .Release.Name }}-note', {
      'helm.sh/hook': 'pre-delete',
      'helm.sh/hook-weight': '-1',
    }),
    'pre.yaml': hookJob('{{ .Release.Name }}-pre', {
      'helm.sh/hook': 'pre-delete',
      'helm.sh/hook-delete-policy': 'hook-succeeded,hook-failed',
    }),
    'post.yaml': hookConfigMap('{{ .Release.Name }}-post', {
      'helm.sh/hook': 'post-delete',
    }),
    'postjob.yaml': `{{- if .Values.postJob }}\n${hookJob(
      '{{ .Release.Name }}-postjob',
      { 'helm.sh/hook': 'post-delete' },
      '{{ .Values.postJob.suspend }}',
    )}{{- end }}\n`,
  };
  for (const [file, text] of Object.entries(files))
    await fs.writeFile(path.join(chart, 'templates', file), text);
}

/**
 * A release's delete hooks are run by the engine from the record it checked, as helm's uninstall
 * runs them: as the namespace's deployer, pre-delete before the objects are deleted and post-delete
 * after, by weight, with their delete policies.
 */
describe.each(['helm3', 'helm4'] as const)(
  "running a pruned release's delete hooks (%s)",
  helmBin => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let core: CoreV1Api;
    let batch: BatchV1Api;
    let helm: HelmCli;
    let charts: string;
    const suffix = helmBin.slice(-1);

    const run = async (request: any) => {
      const r = await t.engine.submit(request, ALICE, alice);
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    const outcome = (r: { status: string; failureReason?: string }) => ({
      status: r.status,
      reason: r.failureReason,
    });
    const succeeded = { status: 'succeeded', reason: undefined };
    const tenant = (code: string, releases: any[], pruneReleases = false) =>
      run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases,
        ...(pruneReleases ? { pruneReleases } : {}),
      });
    const web = { name: 'web', chart: 'webapp', values: { replicas: 1 } };
    const configMaps = async (namespace: string) =>
      (await core.listNamespacedConfigMap({ namespace })).items
        .map(c => c.metadata!.name!)
        .filter(n => n.startsWith('tidy'))
        .sort();
    const jobs = async (namespace: string) =>
      (await batch.listNamespacedJob({ namespace })).items.map(
        j => j.metadata!.name!,
      );
    const records = async (namespace: string, release: string) =>
      (
        await core.listNamespacedSecret({
          namespace,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items.map(s => s.metadata!.name!);

    beforeAll(async () => {
      sim = await startSim();
      charts = await fs.mkdtemp(path.join(os.tmpdir(), 'uninstall-hooks-'));
      await writeCleanupChart(charts);
      // A hook that never completes fails within seconds.
      const config = testConfig(sim, {
        wait: { timeoutSeconds: 4, pollIntervalMs: 200, failFastSeconds: 1 },
      });
      config.kubechart.helm.chartDirectories = [chartDirectory, charts];
      t = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        config,
        helm: helmBin,
      });
      helm = HelmCli.fromConfig(t.config);
      core = t.clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
      batch = t.clusters.kubeConfig('dev').makeApiClient(BatchV1Api);
    });
    afterAll(async () => {
      await sim?.stop();
      await fs.rm(charts, { recursive: true, force: true });
    });

    it('runs the pre-delete hooks by weight before the objects are deleted, the post-delete hooks after, and applies their delete policies', async () => {
      const code = `unha${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [web, { name: 'tidy', chart: 'cleanup' }])),
      ).toEqual(succeeded);
      expect(await configMaps(namespace)).toEqual(['tidy-cfg']);

      const pruned = await tenant(code, [web], true);

      expect(outcome(pruned)).toEqual(succeeded);
      expect(pruned.applied?.filter(c => /tidy/.test(c))).toEqual([
        `created ConfigMap/tidy-note in ${namespace}`,
        `created Job/tidy-pre in ${namespace}`,
        `deleted Job/tidy-pre in ${namespace}`,
        `deleted ConfigMap/tidy-cfg in ${namespace}`,
        `created ConfigMap/tidy-post in ${namespace}`,
        `deleted Secret/sh.helm.release.v1.tidy.v1 in ${namespace}`,
        `uninstalled release tidy in ${namespace}`,
      ]);
      // The hooks without a policy that deletes them stay, as helm leaves them.
      expect(await configMaps(namespace)).toEqual(['tidy-note', 'tidy-post']);
      expect(await jobs(namespace)).toEqual([]);
      expect(await records(namespace, 'tidy')).toEqual([]);
      expect(
        await helm.status({
          release: 'tidy',
          namespace,
          kubeconfig: t.clusters.kubeconfigYaml('dev'),
        }),
      ).toBeUndefined();
      const log = (await t.store.getEvents(pruned.id, { limit: 5000 })).map(
        e => e.message,
      );
      expect(log).toEqual(
        expect.arrayContaining([
          '[tidy] pre-delete hook ConfigMap/tidy-note: created',
          '[tidy] pre-delete hook Job/tidy-pre: succeeded',
          '[tidy] post-delete hook ConfigMap/tidy-post: succeeded',
          'release tidy: uninstalled (pruneReleases)',
        ]),
      );
    });

    it('fails the prune naming a pre-delete hook that does not complete, deletes it by its hook-failed policy, and keeps the release', async () => {
      const code = `unhb${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(
          await tenant(code, [
            web,
            { name: 'tidy', chart: 'cleanup', values: { suspend: true } },
          ]),
        ),
      ).toEqual(succeeded);

      const pruned = await tenant(code, [web], true);

      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release tidy in ${namespace} was not uninstalled: its pre-delete hook Job/tidy-pre did not complete: Job/tidy-pre was not done 4s after it was created`,
        ),
      });
      expect(await jobs(namespace)).toEqual([]);
      // Nothing of the release was deleted: its objects and record stay, for the next prune.
      expect(await configMaps(namespace)).toEqual(['tidy-cfg', 'tidy-note']);
      expect(await records(namespace, 'tidy')).toEqual([
        'sh.helm.release.v1.tidy.v1',
      ]);
      expect(
        (await t.store.getTenants(code)).find(x => x.cluster === 'dev')
          ?.releases,
      ).toEqual(expect.arrayContaining(['web', 'tidy']));
    });

    it('refuses to uninstall a release whose record states a delete hook otherwise than helm writes it, running and deleting nothing', async () => {
      const code = `unhc${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(await tenant(code, [web, { name: 'tidy', chart: 'cleanup' }])),
      ).toEqual(succeeded);
      // helm writes a hook's weight as a number: Go would not decode this record at all.
      const name = 'sh.helm.release.v1.tidy.v1';
      const secret = await core.readNamespacedSecret({ name, namespace });
      const record = decode(secret.data!.release);
      for (const h of record.hooks) h.weight = '1';
      secret.data!.release = encode(record);
      await core.replaceNamespacedSecret({ name, namespace, body: secret });

      const pruned = await tenant(code, [web], true);

      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release tidy in ${namespace} was not uninstalled: its release record ${name} has delete hooks that are not as helm writes them (`,
        ),
      });
      expect(pruned.failureReason).toContain(
        'Job/tidy-pre: its weight is not an integer',
      );
      expect(pruned.applied?.filter(c => /tidy/.test(c))).toEqual([]);
      expect(await configMaps(namespace)).toEqual(['tidy-cfg']);
      expect(await records(namespace, 'tidy')).toEqual([name]);
    });

    it('takes a hook Job deleted while it runs (as by its ttlSecondsAfterFinished) as done, as helm does, and uninstalls the release', async () => {
      const code = `unhd${suffix}`;
      const namespace = `tenant-${code}`;
      expect(
        outcome(
          await tenant(code, [
            web,
            { name: 'tidy', chart: 'cleanup', values: { suspend: true } },
          ]),
        ),
      ).toEqual(succeeded);

      const started = await t.engine.submit(
        {
          kind: 'tenant',
          cluster: 'dev',
          tenant: code,
          releases: [web],
          pruneReleases: true,
        },
        ALICE,
        alice,
      );
      // Kubernetes removes the hook Job between two looks of the engine.
      for (let removed = false; !removed; ) {
        await new Promise(r => setTimeout(r, 20));
        removed = await batch
          .deleteNamespacedJob({
            name: 'tidy-pre',
            namespace,
            propagationPolicy: 'Background',
          })
          .then(
            () => true,
            () => false,
          );
      }
      await t.engine.waitFor(started.id);
      const pruned = (await t.store.getRun(started.id))!;

      expect(outcome(pruned)).toEqual(succeeded);
      expect(await configMaps(namespace)).toEqual(['tidy-note', 'tidy-post']);
      expect(await records(namespace, 'tidy')).toEqual([]);
      expect(
        (await t.store.getEvents(pruned.id, { limit: 5000 })).map(
          e => e.message,
        ),
      ).toContain(
        '[tidy] pre-delete hook Job/tidy-pre: Job/tidy-pre is gone (deleted before it was seen done); taken as done, as helm takes a deleted hook',
      );
    });

    it('deletes the records when a post-delete hook fails, as helm does, fails the run naming the hook, and a next prune has nothing left to do', async () => {
      const code = `unhe${suffix}`;
      const namespace = `tenant-${code}`;
      const tidy = {
        name: 'tidy',
        chart: 'cleanup',
        values: { postJob: { suspend: true } },
      };
      expect(outcome(await tenant(code, [web, tidy]))).toEqual(succeeded);

      const pruned = await tenant(code, [web], true);

      expect(outcome(pruned)).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          `Release tidy in ${namespace} was uninstalled, but its post-delete hook Job/tidy-postjob did not complete: Job/tidy-postjob was not done 4s after it was created (kubechart.wait.timeoutSeconds); its objects and its release records were deleted (as helm deletes them when a post-delete hook fails)`,
        ),
      });
      expect(await configMaps(namespace)).toEqual(['tidy-note', 'tidy-post']);
      expect(await records(namespace, 'tidy')).toEqual([]);
      expect(
        await helm.status({
          release: 'tidy',
          namespace,
          kubeconfig: t.clusters.kubeconfigYaml('dev'),
        }),
      ).toBeUndefined();
      const again = await tenant(code, [web], true);
      expect(outcome(again)).toEqual(succeeded);
      expect(again.applied?.filter(c => /tidy/.test(c))).toEqual([]);
    });

    it("creates a hook's objects as its manifest states them, fields the client's typed models do not know included", async () => {
      const code = `unhf${suffix}`;
      const namespace = `tenant-${code}`;
      const tidy = {
        name: 'tidy',
        chart: 'cleanup',
        values: { postJob: { suspend: false } },
      };
      expect(outcome(await tenant(code, [web, tidy]))).toEqual(succeeded);
      // A client older than the cluster: its Job model lacks a field the cluster serves.
      const map = V1JobSpec.getAttributeTypeMap();
      const older = jest
        .spyOn(V1JobSpec, 'getAttributeTypeMap')
        .mockReturnValue(map.filter(a => a.baseName !== 'backoffLimit'));
      let pruned;
      try {
        pruned = await tenant(code, [web], true);
      } finally {
        older.mockRestore();
      }

      expect(outcome(pruned)).toEqual(succeeded);
      expect(
        (await batch.readNamespacedJob({ name: 'tidy-postjob', namespace }))
          .spec?.backoffLimit,
      ).toBe(2);
    });
  },
);
