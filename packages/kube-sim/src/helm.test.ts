import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { gunzipSync } from 'node:zlib';
import { eventually, simCluster, TestCluster } from './__testUtils__/cluster';
import { helmRunner } from './__testUtils__/helm';

jest.setTimeout(120_000);

const chart = resolve(__dirname, '__fixtures__/tiny-chart');

describe.each(['helm3', 'helm4'] as const)(
  'real %s against kube-sim',
  helmName => {
    let cluster: TestCluster;
    let dir: string;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    const namespace = `helm-${helmName}`;
    const release = `rel-${helmName}`;

    const helm = (...args: string[]) => helmRunner(helmName, dir)(...args);

    beforeAll(async () => {
      // helm (like kubectl) only sends a bearer token over TLS, so this is also the caData path.
      cluster = await simCluster({ tls: true, podReadyDelayMs: 50 });
      dir = mkdtempSync(join(tmpdir(), 'kube-sim-helm-'));
      writeFileSync(join(dir, 'kubeconfig'), cluster.sim!.kubeconfig, {
        mode: 0o600,
      });
      core = cluster.kc.makeApiClient(CoreV1Api);
      apps = cluster.kc.makeApiClient(AppsV1Api);
    });

    afterAll(async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('renders a chart with helm template', async () => {
      const out = await helm(
        'template',
        release,
        chart,
        '--namespace',
        namespace,
        '--set',
        'message=rendered',
      );
      expect(out).toContain('kind: Deployment');
      expect(out).toContain(`name: ${release}-cfg`);
      expect(out).toContain('message: "rendered"');
    });

    it('installs, upgrades, lists history, rolls back and uninstalls a release', async () => {
      await helm(
        'upgrade',
        '--install',
        release,
        chart,
        '-n',
        namespace,
        '--create-namespace',
        '--wait',
        '--timeout',
        '60s',
      );

      const d = await apps.readNamespacedDeployment({
        name: `${release}-tiny`,
        namespace,
      });
      expect(d.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      expect(d.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(
        release,
      );
      expect(d.status?.readyReplicas).toBe(1);

      // helm wrote its release as a protobuf Secret; clients read it back as JSON.
      const secrets = await core.listNamespacedSecret({
        namespace,
        labelSelector: `name=${release},owner=helm`,
      });
      expect(secrets.items).toHaveLength(1);
      const secret = secrets.items[0];
      expect(secret.type).toBe('helm.sh/release.v1');
      expect(secret.metadata?.labels).toMatchObject({
        status: 'deployed',
        version: '1',
        owner: 'helm',
      });
      const stored = Buffer.from(secret.data!.release, 'base64').toString(
        'utf8',
      );
      const releaseJson = JSON.parse(
        gunzipSync(Buffer.from(stored, 'base64')).toString('utf8'),
      );
      expect(releaseJson).toMatchObject({
        name: release,
        namespace,
        version: 1,
      });

      await helm(
        'upgrade',
        '--install',
        release,
        chart,
        '-n',
        namespace,
        '--set',
        'message=second',
        '--set',
        'replicaCount=2',
        '--wait',
        '--timeout',
        '60s',
      );
      const cm = await core.readNamespacedConfigMap({
        name: `${release}-cfg`,
        namespace,
      });
      expect(cm.data).toEqual({ message: 'second' });
      await eventually(
        async () =>
          (
            await apps.readNamespacedDeployment({
              name: `${release}-tiny`,
              namespace,
            })
          ).status?.readyReplicas === 2,
      );

      const history = JSON.parse(
        await helm('history', release, '-n', namespace, '-o', 'json'),
      );
      expect(history.map((h: any) => [h.revision, h.status])).toEqual([
        [1, 'superseded'],
        [2, 'deployed'],
      ]);

      await helm(
        'rollback',
        release,
        '1',
        '-n',
        namespace,
        '--wait',
        '--timeout',
        '60s',
      );
      const rolledBack = await core.readNamespacedConfigMap({
        name: `${release}-cfg`,
        namespace,
      });
      expect(rolledBack.data).toEqual({ message: 'hello' });
      const after = JSON.parse(
        await helm('history', release, '-n', namespace, '-o', 'json'),
      );
      expect(after.map((h: any) => h.status)).toEqual([
        'superseded',
        'superseded',
        'deployed',
      ]);
      const list = JSON.parse(
        await helm('list', '-n', namespace, '-o', 'json'),
      );
      expect(list).toEqual([
        expect.objectContaining({
          name: release,
          revision: '3',
          status: 'deployed',
        }),
      ]);

      await helm('uninstall', release, '-n', namespace);
      const left = await core.listNamespacedSecret({
        namespace,
        labelSelector: 'owner=helm',
      });
      expect(left.items).toHaveLength(0);
      const cms = await core.listNamespacedConfigMap({ namespace });
      expect(cms.items.map(i => i.metadata?.name)).toEqual([
        'kube-root-ca.crt',
      ]);
      await eventually(
        async () =>
          (await core.listNamespacedPod({ namespace })).items.length === 0,
      );
    });
  },
);
