import fs from 'node:fs';
import path from 'node:path';
import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import {
  conformanceNamespace,
  eventually,
  TestNamespace,
} from '../__testUtils__/cluster';

jest.setTimeout(60_000);

// A pod as a real v1.26 server answered its create, with the volume its ServiceAccount admission added
// (../shared/reference/kube-api/pod-pending-real.json): the volume and mount kube-sim must add alike.
const recorded: V1Pod = JSON.parse(
  fs.readFileSync(
    path.resolve(
      __dirname,
      '../../../../../shared/reference/kube-api/pod-pending-real.json',
    ),
    'utf8',
  ),
);
const [recordedVolume] = recorded.spec!.volumes!;
const [recordedMount] = recorded.spec!.containers[0].volumeMounts!;
const MOUNT_PATH = recordedMount.mountPath;

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim. Only pod
// creation is involved, so no kubelet or scheduler is needed.
describe('conformance: the ServiceAccount token volume pods get on create', () => {
  let cluster: TestNamespace;
  let core: CoreV1Api;
  let ns: string;

  const pod = (name: string, spec: Record<string, unknown> = {}): V1Pod => ({
    metadata: { name },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.25' }],
      ...spec,
    },
  });
  const create = (body: V1Pod) =>
    core.createNamespacedPod({ namespace: ns, body });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-satoken');
    ns = cluster.ns;
    core = cluster.kc.makeApiClient(CoreV1Api);
    // The ServiceAccount controller creates `default` shortly after the namespace.
    await eventually(() =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
    );
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('adds a projected kube-api-access volume and mounts it read-only in every container', async () => {
    const created = await create(
      pod('token', {
        initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      }),
    );
    const volumes = created.spec!.volumes ?? [];
    expect(volumes).toHaveLength(1);
    expect(volumes[0].name).toMatch(
      /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
    expect(volumes[0].projected).toEqual(recordedVolume.projected);
    const mount = { ...recordedMount, name: volumes[0].name };
    expect(created.spec!.containers[0].volumeMounts).toEqual([mount]);
    expect(created.spec!.initContainers![0].volumeMounts).toEqual([mount]);
    expect(created.spec!.serviceAccountName).toBe(
      recorded.spec!.serviceAccountName,
    );

    // Each pod gets a volume name of its own.
    const other = await create(pod('token-2'));
    expect(other.spec!.volumes![0].name).not.toBe(volumes[0].name);
  });

  it('appends to volumes and mounts the pod already has, and leaves a container that mounts the path itself alone', async () => {
    const created = await create(
      pod('own-mount', {
        volumes: [{ name: 'cache', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            image: 'nginx:1.25',
            volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
          },
          {
            name: 'sidecar',
            image: 'nginx:1.25',
            volumeMounts: [{ name: 'cache', mountPath: MOUNT_PATH }],
          },
        ],
      }),
    );
    const [cache, token] = created.spec!.volumes!;
    expect(cache).toEqual({ name: 'cache', emptyDir: {} });
    expect(token.name).toMatch(/^kube-api-access-/);
    expect(created.spec!.containers[0].volumeMounts).toEqual([
      { name: 'cache', mountPath: '/cache' },
      { name: token.name, readOnly: true, mountPath: MOUNT_PATH },
    ]);
    expect(created.spec!.containers[1].volumeMounts).toEqual([
      { name: 'cache', mountPath: MOUNT_PATH },
    ]);
  });

  it('adds nothing when the pod sets automountServiceAccountToken: false', async () => {
    const created = await create(
      pod('no-token', { automountServiceAccountToken: false }),
    );
    expect(created.spec!.volumes).toBeUndefined();
    expect(created.spec!.containers[0].volumeMounts).toBeUndefined();
  });

  it("follows the ServiceAccount's automountServiceAccountToken unless the pod says otherwise", async () => {
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: {
        metadata: { name: 'quiet' },
        automountServiceAccountToken: false,
      },
    });
    const quiet = await create(pod('quiet', { serviceAccountName: 'quiet' }));
    expect(quiet.spec!.volumes).toBeUndefined();
    expect(quiet.spec!.containers[0].volumeMounts).toBeUndefined();

    const insists = await create(
      pod('insists', {
        serviceAccountName: 'quiet',
        automountServiceAccountToken: true,
      }),
    );
    expect(insists.spec!.volumes![0].name).toMatch(/^kube-api-access-/);
    expect(insists.spec!.containers[0].volumeMounts![0].mountPath).toBe(
      MOUNT_PATH,
    );
  });
});
