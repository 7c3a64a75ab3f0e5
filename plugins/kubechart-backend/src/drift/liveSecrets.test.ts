import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { DriftService } from './DriftService';

jest.setTimeout(180_000);

/**
 * The live value of a changed field is shown as the assistant and a run's failure reason show
 * cluster text: a password someone put into a URL by hand (rotating it with `kubectl set env`) is
 * hidden from every reader of the run's drift, while the field and the rest of the URL are shown.
 */
const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const exec = promisify(execFile);
const kubectlBinary = resolve(__dirname, '../../../../.tools/bin/kubectl');
const LIVE = 'R0tatedLivePassw0rd-drift1';

describe.each(databases.eachSupportedId())(
  'secrets in the live values of drift records, on %p',
  databaseId => {
    let sim: KubeSim;
    let dir: string;
    const kubectl = (...args: string[]) =>
      exec(kubectlBinary, args, {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
        timeout: 30_000,
      });

    beforeAll(async () => {
      if (!existsSync(kubectlBinary)) throw new Error('kubectl not found');
      sim = await startSim();
      dir = mkdtempSync(join(tmpdir(), 'kubechart-drift-live-'));
      writeFileSync(join(dir, 'kubeconfig'), sim.kubeconfig, { mode: 0o600 });
    });
    afterAll(async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('hides the password of a URL changed by hand, and shows the rest', async () => {
      const t = await createTestEngine({ databases, databaseId, sim });
      const drift = await DatabaseDriftStore.create({
        database: mockServices.database.mock({ getClient: async () => t.knex }),
      });
      const service = new DriftService({
        runs: t.store,
        drift,
        clusters: t.clusters,
        client: c => t.engine.client(c),
        logger: mockServices.logger.mock(),
      });
      const run = async (request: any) => {
        const r = await t.engine.submit(request, 'user:default/alice');
        await t.engine.waitFor(r.id);
        const done = (await t.store.getRun(r.id))!;
        expect({ status: done.status, reason: done.failureReason }).toEqual({
          status: 'succeeded',
          reason: undefined,
        });
        return done;
      };
      await run({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'live1',
        releases: [],
      });
      const chart = await run({
        kind: 'chart',
        cluster: 'dev',
        namespace: 'tenant-live1',
        release: {
          name: 'web',
          chart: 'driftapp',
          values: { env: { DATABASE_URL: 'postgres://app@db:5432/app' } },
        },
      });
      await service.checkAll();
      await kubectl(
        '-n',
        'tenant-live1',
        'set',
        'env',
        'deployment/web',
        `DATABASE_URL=postgres://app:${LIVE}@db:5432/app`,
      );
      const records = await service.checkAll();
      const record = records.find(r => r.runId === chart.id)!;
      expect(record.status).toBe('drifted');
      const shown = JSON.stringify(record);
      expect(shown).toContain('DATABASE_URL');
      expect(shown).toContain('postgres://app:***@db:5432/app');
      expect(shown).not.toContain(LIVE);
      expect(JSON.stringify(await drift.get(chart.id))).not.toContain(LIVE);
    });
  },
);
