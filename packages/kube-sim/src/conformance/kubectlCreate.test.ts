import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PolicyV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import {
  conformanceCluster,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

jest.setTimeout(60_000);

const run = promisify(execFile);

function kubectlBinary(): string {
  const local = resolve(__dirname, '../../../../.tools/bin/kubectl');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  throw new Error(
    'kubectl not found: run scripts/install-helm.sh (or make bootstrap) first',
  );
}

// `kubectl create <kind>` sends its object as protobuf (application/vnd.kubernetes.protobuf). Runs against
// KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim with TLS (kubectl sends its token
// only over HTTPS).
describe('conformance: kubectl create sends protobuf bodies', () => {
  let cluster: TestCluster;
  let dir: string;
  let kubeconfig: string;
  let ns: string;
  let core: CoreV1Api;

  const kubectl = async (...args: string[]) =>
    (
      await run(kubectlBinary(), args, {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: kubeconfig,
        },
        timeout: 30000,
      })
    ).stdout;

  /** What kubectl would send, as JSON (the same Go object it encodes as protobuf). */
  const clientSide = async (...args: string[]) =>
    JSON.parse(await kubectl(...args, '--dry-run=client', '-o', 'json'));

  beforeAll(async () => {
    cluster = await conformanceCluster({ tls: true });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-kubectl-create-'));
    if (cluster.sim) {
      kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, cluster.sim.kubeconfig, { mode: 0o600 });
    } else {
      kubeconfig = process.env.KUBECONFIG!;
    }
    core = cluster.kc.makeApiClient(CoreV1Api);
    ns = uniqueName('conf-kubectl');
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a namespace and a Deployment with what kubectl sent', async () => {
    expect(await kubectl('create', 'namespace', ns)).toBe(
      `namespace/${ns} created\n`,
    );
    expect((await core.readNamespace({ name: ns })).status?.phase).toBe(
      'Active',
    );

    const args = [
      'create',
      'deployment',
      'web',
      '--image=nginx:1.26',
      '--image=busybox:1.36',
      '--port=8080',
      '--replicas=3',
      '-n',
      ns,
    ];
    const sent = await clientSide(...args);
    expect(await kubectl(...args)).toBe('deployment.apps/web created\n');
    const d = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(d.metadata?.labels).toEqual(sent.metadata.labels);
    expect(d.spec?.replicas).toBe(3);
    expect(d.spec?.selector).toEqual(sent.spec.selector);
    expect(d.spec?.template.metadata?.labels).toEqual({ app: 'web' });
    expect(
      d.spec?.template.spec?.containers.map(c => [
        c.name,
        c.image,
        c.ports?.map(p => [p.containerPort, p.protocol]),
      ]),
    ).toEqual([
      ['nginx', 'nginx:1.26', [[8080, 'TCP']]],
      ['busybox', 'busybox:1.36', undefined],
    ]);
    // Server defaults, as for a JSON body.
    expect(d.spec?.strategy?.type).toBe('RollingUpdate');
    expect(d.spec?.template.spec?.restartPolicy).toBe('Always');
    expect(d.metadata?.managedFields?.map(m => m.manager)).toContain(
      'kubectl-create',
    );
  });

  it('kubectl explain reads the schema from /openapi/v2 in protobuf', async () => {
    const out = await kubectl(
      'explain',
      'deployment.spec.strategy',
      '--output=plaintext-openapiv2',
    );
    expect(out).toContain('RESOURCE: strategy <Object>');
    expect(out).toMatch(/FIELDS:\n\s+rollingUpdate\t<Object>/);
    expect(out).toMatch(/\n\s+type\t<string>/);
  });

  it('keeps an explicit zero of an optional field (replicas 0 is not defaulted to 1)', async () => {
    await kubectl(
      'create',
      'deployment',
      'idle',
      '--image=nginx:1.26',
      '--replicas=0',
      '-n',
      ns,
    );
    const d = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'idle', namespace: ns });
    expect(d.spec?.replicas).toBe(0);
  });

  it('creates a Service, a ServiceAccount, a Job, a quota, an Ingress, a PodDisruptionBudget and RBAC objects', async () => {
    await kubectl(
      'create',
      'service',
      'clusterip',
      'front',
      '--tcp=80:8080',
      '-n',
      ns,
    );
    const svc = await core.readNamespacedService({
      name: 'front',
      namespace: ns,
    });
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.selector).toEqual({ app: 'front' });
    expect(svc.spec?.ports).toEqual([
      { name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 },
    ]);

    await kubectl('create', 'serviceaccount', 'robot', '-n', ns);
    expect(
      (
        await core.readNamespacedServiceAccount({
          name: 'robot',
          namespace: ns,
        })
      ).metadata?.name,
    ).toBe('robot');

    await kubectl('create', 'job', 'once', '--image=busybox:1.36', '-n', ns);
    const job = await cluster.kc
      .makeApiClient(BatchV1Api)
      .readNamespacedJob({ name: 'once', namespace: ns });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.template.spec?.containers[0].image).toBe('busybox:1.36');

    // A CronJob (protobuf body, like the rest): stored as kubectl's own rendering of it.
    const cronArgs = [
      'create',
      'cronjob',
      'nightly',
      '--image=busybox:1.36',
      '--schedule=0 3 * * *',
      '-n',
      ns,
    ];
    const cronRendered = await clientSide(...cronArgs);
    await kubectl(...cronArgs);
    const cron = await cluster.kc
      .makeApiClient(BatchV1Api)
      .readNamespacedCronJob({ name: 'nightly', namespace: ns });
    expect(cron.spec?.schedule).toBe('0 3 * * *');
    expect(cron.spec?.jobTemplate.metadata?.name).toBe(
      cronRendered.spec.jobTemplate.metadata.name,
    );
    expect(cron.spec?.jobTemplate.spec?.template.spec?.restartPolicy).toBe(
      cronRendered.spec.jobTemplate.spec.template.spec.restartPolicy,
    );
    expect(
      cron.spec?.jobTemplate.spec?.template.spec?.containers[0].image,
    ).toBe('busybox:1.36');

    await kubectl(
      'create',
      'quota',
      'small',
      '--hard=pods=2,requests.cpu=1',
      '-n',
      ns,
    );
    const quota = await core.readNamespacedResourceQuota({
      name: 'small',
      namespace: ns,
    });
    expect(quota.spec?.hard).toEqual({ pods: '2', 'requests.cpu': '1' });

    const ingressArgs = [
      'create',
      'ingress',
      'front',
      '--rule=shop.example.com/cart=front:80',
      '-n',
      ns,
    ];
    const sentIngress = await clientSide(...ingressArgs);
    await kubectl(...ingressArgs);
    const ingress = await cluster.kc
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: 'front', namespace: ns });
    expect(ingress.spec?.rules).toEqual(sentIngress.spec.rules);
    expect(ingress.spec?.rules?.[0].http?.paths[0].backend.service).toEqual({
      name: 'front',
      port: { number: 80 },
    });

    await kubectl(
      'create',
      'poddisruptionbudget',
      'front',
      '--selector=app=front',
      '--min-available=50%',
      '-n',
      ns,
    );
    const pdb = await cluster.kc
      .makeApiClient(PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ name: 'front', namespace: ns });
    expect(pdb.spec?.minAvailable).toBe('50%');
    expect(pdb.spec?.selector).toEqual({ matchLabels: { app: 'front' } });

    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await kubectl(
      'create',
      'role',
      'reader',
      '--verb=get,list',
      '--resource=pods',
      '-n',
      ns,
    );
    const role = await rbac.readNamespacedRole({
      name: 'reader',
      namespace: ns,
    });
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    ]);
    await kubectl(
      'create',
      'rolebinding',
      'reader',
      '--role=reader',
      '--serviceaccount',
      `${ns}:robot`,
      '-n',
      ns,
    );
    const binding = await rbac.readNamespacedRoleBinding({
      name: 'reader',
      namespace: ns,
    });
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'reader',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'robot', namespace: ns },
    ]);
  });
});
