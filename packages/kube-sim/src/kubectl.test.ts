import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { eventually, simCluster, TestCluster } from './__testUtils__/cluster';

jest.setTimeout(60_000);

const run = promisify(execFile);

function kubectlBinary(): string {
  const local = resolve(__dirname, '../../../.tools/bin/kubectl');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  throw new Error(
    'kubectl not found: run scripts/install-helm.sh (or make bootstrap) first',
  );
}

describe('real kubectl against kube-sim', () => {
  let cluster: TestCluster;
  let dir: string;

  const kubectl = async (...args: string[]) =>
    (
      await run(kubectlBinary(), args, {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
        timeout: 30000,
      })
    ).stdout;

  beforeAll(async () => {
    cluster = await simCluster({
      tls: true,
      seed: 'demo',
      podReadyDelayMs: 50,
      crashLoopBackoffMs: 100,
    });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-kubectl-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.sim!.kubeconfig, {
      mode: 0o600,
    });
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('impersonates with --as and --as-group, and answers auth can-i', async () => {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({
      namespace: 'shop',
      body: { metadata: { name: 'deployer' } },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'shop',
      body: {
        metadata: { name: 'deployer-edit' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'edit',
        },
        subjects: [
          { kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' },
        ],
      },
    });
    const as = ['--as', 'system:serviceaccount:shop:deployer'];
    const canCreate = await kubectl(
      'auth',
      'can-i',
      'create',
      'deployments',
      '-n',
      'shop',
      ...as,
    );
    expect(canCreate.trim()).toBe('yes');
    const list = await kubectl('auth', 'can-i', '--list', '-n', 'shop', ...as);
    expect(list).toMatch(
      /deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]/,
    );
    expect(list).toContain('selfsubjectaccessreviews.authorization.k8s.io');
    const refused = await run(
      kubectlBinary(),
      ['get', 'pods', '-n', 'kube-system', ...as],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
      },
    ).then(
      () => '',
      e => String(e.stderr),
    );
    expect(refused).toContain(
      'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:shop:deployer" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    );
    expect(await kubectl('get', 'pods', '-n', 'shop', ...as)).toContain(
      'checkout-web-',
    );
    const asMaster = await kubectl(
      'get',
      'pods',
      '-n',
      'kube-system',
      ...as,
      '--as-group',
      'system:masters',
    );
    expect(asMaster).toContain('coredns-');
  });

  it('prints the columns of kubectl get (server-side tables)', async () => {
    const out = await eventually(async () => {
      const text = await kubectl('get', 'pods', '-n', 'shop', '-o', 'wide');
      return /CrashLoopBackOff/.test(text) ? text : undefined;
    });
    const [header, ...rows] = out.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    const checkout = rows.find(r => r.startsWith('checkout-web-'))!;
    expect(checkout).toMatch(/0\/1\s+CrashLoopBackOff\s+\d+/);
    expect(rows.find(r => r.startsWith('inventory-db-0'))).toMatch(
      /1\/1\s+Running\s+0/,
    );
    // The eight Deployment columns of a v1.26 server (metadata/05-list-deployments-as-Table.json).
    const deployments = await kubectl(
      'get',
      'deployments',
      '-n',
      'payments',
      '-o',
      'wide',
    );
    const [dHeader, dRow] = deployments.trim().split('\n');
    expect(dHeader.split(/\s{2,}/)).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect(dRow).toMatch(
      /^payments-api\s+\d\/2\s+\d\s+\d\s+\S+\s+\S+\s+ghcr\.io\/kubechart-demo\/payments-api:1\.8\.2\s+app=payments-api$/,
    );
    const nodes = await kubectl('get', 'nodes');
    expect(nodes).toMatch(/kube-sim-node-1\s+Ready\s+<none>\s+\S+\s+v1\.26\.1/);
  });

  it('applies, reads and deletes a manifest with client-side apply', async () => {
    const manifest = join(dir, 'deploy.yaml');
    writeFileSync(
      manifest,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: k1, namespace: default }',
        'spec:',
        '  replicas: 1',
        '  selector: { matchLabels: { app: k1 } }',
        '  template:',
        '    metadata: { labels: { app: k1 } }',
        '    spec: { containers: [{ name: app, image: "nginx:1.25" }] }',
      ].join('\n'),
    );
    expect(await kubectl('apply', '-f', manifest)).toContain(
      'deployment.apps/k1 created',
    );
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({
      name: 'k1',
      namespace: 'default',
    });
    expect(
      d.metadata?.annotations?.[
        'kubectl.kubernetes.io/last-applied-configuration'
      ],
    ).toContain('"k1"');
    expect(d.metadata?.managedFields?.map(m => m.manager)).toContain(
      'kubectl-client-side-apply',
    );
    await kubectl('rollout', 'status', 'deployment/k1', '--timeout=20s');
    expect(await kubectl('apply', '-f', manifest)).toContain(
      'deployment.apps/k1 unchanged',
    );
    expect(await kubectl('delete', '-f', manifest)).toContain(
      'deployment.apps "k1" deleted',
    );
  });

  it('kubectl set image and rollout status: the watcher prints the rollout states in the recorded order', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'ro' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'ro' } },
          template: {
            metadata: { labels: { app: 'ro' } },
            spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
          },
        },
      },
    });
    await kubectl('rollout', 'status', 'deployment/ro', '--timeout=20s');
    expect(
      await kubectl('set', 'image', 'deployment/ro', 'app=nginx:1.26'),
    ).toContain('deployment.apps/ro image updated');
    const out = await kubectl(
      'rollout',
      'status',
      'deployment/ro',
      '--timeout=30s',
    );
    // ../shared/reference/kube-api/rollout/08-rollout-watch-summary.json, as kubectl words each state.
    const order = [
      'Waiting for deployment spec update to be observed...',
      'Waiting for deployment "ro" rollout to finish: 0 out of 2 new replicas have been updated...',
      'Waiting for deployment "ro" rollout to finish: 1 out of 2 new replicas have been updated...',
      'Waiting for deployment "ro" rollout to finish: 1 old replicas are pending termination...',
      'deployment "ro" successfully rolled out',
    ];
    const lines = out.trim().split('\n');
    const positions = lines.map(l => order.indexOf(l));
    expect(positions).not.toContain(-1);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(lines[lines.length - 1]).toBe(
      'deployment "ro" successfully rolled out',
    );
    const rs = await apps.listNamespacedReplicaSet({
      namespace: 'default',
      labelSelector: 'app=ro',
    });
    expect(
      rs.items
        .map(
          r =>
            `${r.spec?.template?.spec?.containers[0].image} ${r.spec?.replicas}`,
        )
        .sort(),
    ).toEqual(['nginx:1.25 0', 'nginx:1.26 2']);
  });

  it('kubectl scale and kubectl set env: the fields they change are owned by the manager kubectl sends', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      fieldManager: 'helm',
      body: {
        metadata: { name: 'owned' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'owned' } },
          template: {
            metadata: { labels: { app: 'owned' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'nginx:1.25',
                  env: [{ name: 'MODE', value: 'a' }],
                },
              ],
            },
          },
        },
      },
    });
    // kubectl 1.33 patches the scale subresource without a fieldManager (the server takes the
    // user agent's first word) and `set env` with its --field-manager default.
    await kubectl('scale', 'deployment/owned', '--replicas=3');
    await kubectl('set', 'env', 'deployment/owned', 'MODE=b');
    const d = await apps.readNamespacedDeployment({
      name: 'owned',
      namespace: 'default',
    });
    const entries = (d.metadata?.managedFields ?? []).filter(
      m => !m.subresource || m.subresource === 'scale',
    );
    const owners = (path: string[]) =>
      entries
        .filter(
          m =>
            path.reduce<any>((node, key) => node?.[key], m.fieldsV1) !==
            undefined,
        )
        .map(m => `${m.manager} ${m.operation}`);
    expect(owners(['f:spec', 'f:replicas'])).toEqual(['kubectl Update']);
    // …through the scale subresource, recorded on the Deployment as a real server does.
    expect(
      entries
        .filter(m => m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
        .map(m => [m.manager, m.subresource, m.apiVersion]),
    ).toEqual([['kubectl', 'scale', 'apps/v1']]);
    const env = [
      'f:spec',
      'f:template',
      'f:spec',
      'f:containers',
      'k:{"name":"app"}',
      'f:env',
      'k:{"name":"MODE"}',
      'f:value',
    ];
    expect(owners(env)).toEqual(['kubectl-set Update']);
    // helm keeps what nobody else changed.
    expect(
      owners([
        'f:spec',
        'f:template',
        'f:spec',
        'f:containers',
        'k:{"name":"app"}',
        'f:image',
      ]),
    ).toEqual(['helm Update']);
  });

  it('streams table rows with kubectl get --watch', async () => {
    const watching = run(
      kubectlBinary(),
      ['get', 'configmaps', '-n', 'default', '--watch'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
        timeout: 3000,
      },
    ).catch(e => ({ stdout: String(e.stdout ?? '') }));
    await new Promise(r => setTimeout(r, 1000));
    await cluster.kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'watched-by-kubectl' }, data: { a: '1' } },
    });
    const { stdout } = await watching;
    const lines = stdout.trim().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['NAME', 'DATA', 'AGE']);
    expect(lines.some(l => /^kube-root-ca\.crt\s+1\s/.test(l))).toBe(true);
    expect(lines.some(l => /^watched-by-kubectl\s+1\s/.test(l))).toBe(true);
  });

  it('reads pod logs', async () => {
    const out = await kubectl(
      'logs',
      '-n',
      'payments',
      'deployment/payments-api',
    );
    expect(out).toContain('listening on :8080');
  });
});
