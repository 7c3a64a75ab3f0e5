import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createTestEngine,
  helmBinary,
  startSim,
  testConfig,
} from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';

describe('a helm 3 older than 3.13', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim?.stop());

  it('is refused before anything is applied: it cannot dry run against the server, as the hook check needs', async () => {
    // helm 3.18 that says it is 3.12.3: every other command is the real helm's.
    const dir = mkdtempSync(path.join(tmpdir(), 'old-helm-'));
    const binary = path.join(dir, 'helm');
    writeFileSync(
      binary,
      [
        '#!/bin/sh',
        'if [ "$1" = "version" ]; then echo v3.12.3; exit 0; fi',
        `exec '${helmBinary('helm3')}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(binary, 0o755);
    const config = testConfig(sim);
    const t = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      config: {
        ...config,
        kubechart: {
          ...config.kubechart,
          helm: { ...config.kubechart.helm, binary },
        },
      },
    });
    const tenant = await t.engine.submit(
      {
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'oldhelm',
        releases: [{ name: 'web', chart: 'webapp' }],
      },
      ALICE,
      plainCaller(ALICE),
    );
    await t.engine.waitFor(tenant.id);
    const run = (await t.store.getRun(tenant.id))!;
    expect(run.status).toBe('failed');
    expect(run.failureReason).toContain(
      'helm v3.12.3 cannot render release web against the cluster (--dry-run=server needs helm 3.13 or later)',
    );
    const releases = await t.clusters
      .kubeConfig('dev')
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({
        namespace: 'tenant-oldhelm',
        labelSelector: 'owner=helm',
      });
    expect(releases.items).toEqual([]);
  });
});
