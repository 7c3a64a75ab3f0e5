import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { simCluster, TestCluster } from './__testUtils__/cluster';
import { helmRunner } from './__testUtils__/helm';

jest.setTimeout(120_000);

// A chart whose Deployment says `spec.replica` (a typo of `replicas`). On a real v1.26 server
// helm 4's server-side apply gets 500 `failed to create typed patch object (…): .spec.replica:
// field not declared in schema` (../shared/reference/kube-api/fields/06-apply-unknown-fields-*.json),
// and helm 3's plain create gets 201 with the field dropped and a Warning (fields/01-…).
const chart = resolve(__dirname, '__fixtures__/typo-chart');

describe('helm against kube-sim with a misspelled field', () => {
  let cluster: TestCluster;
  let dir: string;

  beforeAll(async () => {
    cluster = await simCluster({ tls: true, podReadyDelayMs: 50 });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-typo-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.sim!.kubeconfig, {
      mode: 0o600,
    });
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('helm 4 fails the install with the server-side apply error and applies nothing', async () => {
    const helm = helmRunner('helm4', dir);
    const failure = await helm(
      'upgrade',
      '--install',
      'typo4',
      chart,
      '-n',
      'typo4',
      '--create-namespace',
    ).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(
      'Error: failed to create typed patch object (/typo4-web; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema',
    );
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await expect(
      apps.readNamespacedDeployment({ name: 'typo4-web', namespace: 'typo4' }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('helm 3 installs it, and the server drops the misspelled field', async () => {
    const helm = helmRunner('helm3', dir);
    await helm(
      'upgrade',
      '--install',
      'typo3',
      chart,
      '-n',
      'typo3',
      '--create-namespace',
    );
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({
      name: 'typo3-web',
      namespace: 'typo3',
    });
    expect(d.spec?.replicas).toBe(1);
    expect(d.spec).not.toHaveProperty('replica');
  });
});
