import {
  conformanceCluster,
  eventually,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// There are no PodSecurity recordings: each expectation is what the built-in PodSecurity admission
// plugin of a v1.26 API server answers (k8s.io/pod-security-admission, no exemptions configured).
describe('conformance: Pod Security admission', () => {
  let cluster: TestCluster;
  const namespaces: string[] = [];
  const request = (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ) => rawRequest(cluster.kc, method, path, { body, contentType });

  /** A fresh namespace with these `pod-security.kubernetes.io/<key>` labels. */
  async function namespace(
    prefix: string,
    labels: Record<string, string> = {},
  ): Promise<string> {
    const name = uniqueName(prefix);
    const res = await request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: Object.fromEntries(
          Object.entries(labels).map(([k, v]) => [
            `pod-security.kubernetes.io/${k}`,
            v,
          ]),
        ),
      },
    });
    expect(res.status).toBe(201);
    namespaces.push(name);
    return name;
  }

  const pods = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
  const deployments = (ns: string) =>
    `/apis/apps/v1/namespaces/${ns}/deployments`;

  /** Privileged, on the host network, with a hostPath volume: three baseline violations. */
  const hostPod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: 'c',
          image: 'nginx:1.25',
          securityContext: { privileged: true },
        },
      ],
      volumes: [{ name: 'v', hostPath: { path: '/etc' } }],
    },
  });
  const HOST_POD_BASELINE =
    'host namespaces (hostNetwork=true), hostPath volumes (volume "v"), privileged (container "c" must not set securityContext.privileged=true)';

  /** What a bare `kubectl run`-like pod looks like: baseline allows it, restricted does not. */
  const plainPod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
  });
  const PLAIN_POD_RESTRICTED =
    'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
    'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
    'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
    'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';

  const restrictedPod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'c',
          image: 'nginx:1.25',
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
          },
        },
      ],
      volumes: [{ name: 'cache', emptyDir: {} }],
    },
  });

  const privilegedDeployment = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.25',
              securityContext: { privileged: true },
            },
          ],
        },
      },
    },
  });
  const DEPLOYMENT_WARNING =
    '299 - "would violate PodSecurity \\"baseline:latest\\": privileged (container \\"app\\" must not set securityContext.privileged=true)"';

  const forbiddenStatus = (name: string, message: string) => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `pods "${name}" is forbidden: ${message}`,
    reason: 'Forbidden',
    details: { name, kind: 'pods' },
    code: 403,
  });

  beforeAll(async () => {
    cluster = await conformanceCluster();
  });

  afterAll(async () => {
    for (const ns of namespaces)
      await request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    await cluster.stop();
  });

  it('refuses a pod that breaks the baseline level of an enforce=baseline namespace with 403 and every violation', async () => {
    const ns = await namespace('psa-baseline', { enforce: 'baseline' });
    const res = await request('POST', pods(ns), hostPod('host'));
    expect(res.status).toBe(403);
    expect(res.body).toEqual(
      forbiddenStatus(
        'host',
        `violates PodSecurity "baseline:latest": ${HOST_POD_BASELINE}`,
      ),
    );
    expect(res.warnings).toEqual([]);
    expect((await request('GET', `${pods(ns)}/host`)).status).toBe(404);
    // What baseline allows is created, without a warning (warn defaults to the enforce level).
    const plain = await request('POST', pods(ns), plainPod('plain'));
    expect(plain.status).toBe(201);
    expect(plain.warnings).toEqual([]);
  });

  it('admits the same pod in a namespace without labels and in an enforce=privileged one', async () => {
    const open: Array<Record<string, string>> = [{}, { enforce: 'privileged' }];
    for (const labels of open) {
      const ns = await namespace('psa-open', labels);
      const res = await request('POST', pods(ns), hostPod('host'));
      expect(res.status).toBe(201);
      expect(res.warnings).toEqual([]);
    }
  });

  it('refuses under restricted what baseline allows, with the restricted checks (restricted volume types instead of hostPath volumes)', async () => {
    const ns = await namespace('psa-restricted', { enforce: 'restricted' });
    const plain = await request('POST', pods(ns), plainPod('plain'));
    expect(plain.status).toBe(403);
    expect(plain.body).toEqual(
      forbiddenStatus(
        'plain',
        `violates PodSecurity "restricted:latest": ${PLAIN_POD_RESTRICTED}`,
      ),
    );
    const host = await request('POST', pods(ns), hostPod('host'));
    expect(host.body.message).toBe(
      'pods "host" is forbidden: violates PodSecurity "restricted:latest": ' +
        'host namespaces (hostNetwork=true), ' +
        'privileged (container "c" must not set securityContext.privileged=true), ' +
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
        'restricted volume types (volume "v" uses restricted volume type "hostPath"), ' +
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const ok = await request('POST', pods(ns), restrictedPod('ok'));
    expect(ok.status).toBe(201);
    expect(ok.warnings).toEqual([]);
  });

  it('names the enforce-version the namespace asks for', async () => {
    const ns = await namespace('psa-version', {
      enforce: 'baseline',
      'enforce-version': 'v1.25',
    });
    const res = await request('POST', pods(ns), hostPod('host'));
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      `pods "host" is forbidden: violates PodSecurity "baseline:v1.25": ${HOST_POD_BASELINE}`,
    );
  });

  it('creates a pod under warn only, with a Warning header', async () => {
    const ns = await namespace('psa-warn', { warn: 'restricted' });
    const res = await request('POST', pods(ns), plainPod('plain'));
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual([
      `299 - ${JSON.stringify(
        `would violate PodSecurity "restricted:latest": ${PLAIN_POD_RESTRICTED}`,
      )}`,
    ]);
  });

  it('creates a Deployment with a privileged template (201, Warning) but its pods are refused: FailedCreate', async () => {
    const ns = await namespace('psa-deploy', { enforce: 'baseline' });
    const res = await request(
      'POST',
      deployments(ns),
      privilegedDeployment('web'),
    );
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual([DEPLOYMENT_WARNING]);
    const failed = await eventually(async () => {
      const events = await request(
        'GET',
        `/api/v1/namespaces/${ns}/events?fieldSelector=reason%3DFailedCreate`,
      );
      return events.body.items.length ? events.body.items : undefined;
    });
    expect(failed[0]).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'ReplicaSet' },
      source: { component: 'replicaset-controller' },
    });
    expect(failed[0].message).toMatch(
      /^Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "app" must not set securityContext\.privileged=true\)$/,
    );
    expect((await request('GET', pods(ns))).body.items).toEqual([]);
    // The ReplicaSet says why, with the first refusal (ReplicaFailure), and so does the Deployment.
    const rs = (
      await request('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`)
    ).body.items[0];
    expect(
      rs.status.conditions.find((c: any) => c.type === 'ReplicaFailure'),
    ).toMatchObject({
      status: 'True',
      reason: 'FailedCreate',
      message: expect.stringMatching(
        /^pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: violates PodSecurity "baseline:latest": privileged/,
      ),
    });
    const deployment = await eventually(async () => {
      const d = (await request('GET', `${deployments(ns)}/web`)).body;
      return d.status?.conditions?.some((c: any) => c.type === 'ReplicaFailure')
        ? d
        : undefined;
    });
    expect(
      deployment.status.conditions.find(
        (c: any) => c.type === 'ReplicaFailure',
      ),
    ).toMatchObject({
      status: 'True',
      reason: 'FailedCreate',
      message: expect.stringContaining('violates PodSecurity'),
    });
    // Relaxing the namespace lets the controller's next try through.
    const relax = await request(
      'PATCH',
      `/api/v1/namespaces/${ns}`,
      {
        metadata: {
          labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      },
      'application/merge-patch+json',
    );
    expect(relax.status).toBe(200);
    expect(relax.warnings).toEqual([]);
    await eventually(async () => {
      const items = (await request('GET', pods(ns))).body.items;
      return items.length === 1 ? items : undefined;
    });
  });

  it('refuses the pods of a StatefulSet and a Job too, each controller with its own FailedCreate event', async () => {
    const ns = await namespace('psa-sts', { enforce: 'baseline' });
    const template = {
      metadata: { labels: { app: 'db' } },
      spec: {
        restartPolicy: 'Never',
        hostPID: true,
        containers: [{ name: 'db', image: 'postgres:16' }],
      },
    };
    const sts = await request(
      'POST',
      `/apis/apps/v1/namespaces/${ns}/statefulsets`,
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 1,
          selector: { matchLabels: { app: 'db' } },
          template: {
            ...template,
            spec: { ...template.spec, restartPolicy: 'Always' },
          },
        },
      },
    );
    expect(sts.status).toBe(201);
    expect(sts.warnings).toEqual([
      '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostPID=true)"',
    ]);
    const job = await request('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate' },
      spec: { template },
    });
    expect(job.status).toBe(201);
    const messages = await eventually(async () => {
      const events = await request(
        'GET',
        `/api/v1/namespaces/${ns}/events?fieldSelector=reason%3DFailedCreate`,
      );
      const byKind = Object.fromEntries(
        events.body.items.map((e: any) => [e.involvedObject.kind, e.message]),
      );
      return byKind.StatefulSet && byKind.Job ? byKind : undefined;
    });
    expect(messages.StatefulSet).toBe(
      'create Pod db-0 in StatefulSet db failed error: pods "db-0" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true)',
    );
    expect(messages.Job).toMatch(
      /^Error creating: pods "migrate-[a-z0-9]{5}" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostPID=true\)$/,
    );
  });

  it('checks server-side apply the same way: a pod is refused, a Deployment warned about', async () => {
    const ns = await namespace('psa-apply', { enforce: 'baseline' });
    const apply = (path: string, body: unknown) =>
      request(
        'PATCH',
        `${path}?fieldManager=psa-test`,
        JSON.stringify(body),
        'application/apply-patch+yaml',
      );
    const pod = await apply(`${pods(ns)}/host`, hostPod('host'));
    expect(pod.status).toBe(403);
    expect(pod.body).toEqual(
      forbiddenStatus(
        'host',
        `violates PodSecurity "baseline:latest": ${HOST_POD_BASELINE}`,
      ),
    );
    const deployment = await apply(
      `${deployments(ns)}/web`,
      privilegedDeployment('web'),
    );
    expect(deployment.status).toBe(201);
    expect(deployment.warnings).toEqual([DEPLOYMENT_WARNING]);
    // Every write of the template warns again, a no-op apply included.
    const again = await apply(
      `${deployments(ns)}/web`,
      privilegedDeployment('web'),
    );
    expect(again.status).toBe(200);
    expect(again.warnings).toEqual([DEPLOYMENT_WARNING]);
  });

  it('refuses a dry run (dryRun=All) as it would the write, and warns about a dry-run Deployment', async () => {
    const ns = await namespace('psa-dry', { enforce: 'baseline' });
    const pod = await request(
      'POST',
      `${pods(ns)}?dryRun=All`,
      hostPod('host'),
    );
    expect(pod.status).toBe(403);
    expect(pod.body).toEqual(
      forbiddenStatus(
        'host',
        `violates PodSecurity "baseline:latest": ${HOST_POD_BASELINE}`,
      ),
    );
    const deployment = await request(
      'POST',
      `${deployments(ns)}?dryRun=All`,
      privilegedDeployment('web'),
    );
    expect(deployment.status).toBe(201);
    expect(deployment.warnings).toEqual([DEPLOYMENT_WARNING]);
    expect((await request('GET', `${deployments(ns)}/web`)).status).toBe(404);
  });

  it('refuses a namespace whose Pod Security labels are not valid (422), on create and on update', async () => {
    const name = uniqueName('psa-invalid');
    const res = await request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { 'pod-security.kubernetes.io/enforce': 'strict' },
      },
    });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Namespace "${name}" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted`,
      reason: 'Invalid',
      details: {
        name,
        kind: 'Namespace',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message:
              'Invalid value: "strict": must be one of privileged, baseline, restricted',
            field: 'metadata.labels[pod-security.kubernetes.io/enforce]',
          },
        ],
      },
      code: 422,
    });
    const ns = await namespace('psa-invalid');
    const update = await request(
      'PATCH',
      `/api/v1/namespaces/${ns}`,
      {
        metadata: {
          labels: { 'pod-security.kubernetes.io/enforce-version': '1.25' },
        },
      },
      'application/merge-patch+json',
    );
    expect(update.status).toBe(422);
    expect(update.body.message).toBe(
      `Namespace "${ns}" is invalid: metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.25": must be "latest" or "v1.x"`,
    );
  });

  it('warns which existing pods break a stricter enforce level, then checks pod updates that change an image', async () => {
    const ns = await namespace('psa-relabel');
    expect((await request('POST', pods(ns), hostPod('host'))).status).toBe(201);
    expect((await request('POST', pods(ns), plainPod('plain'))).status).toBe(
      201,
    );
    const relabel = await request(
      'PATCH',
      `/api/v1/namespaces/${ns}`,
      {
        metadata: {
          labels: { 'pod-security.kubernetes.io/enforce': 'baseline' },
        },
      },
      'application/merge-patch+json',
    );
    expect(relabel.status).toBe(200);
    expect(relabel.warnings).toEqual([
      `299 - ${JSON.stringify(
        `existing pods in namespace "${ns}" violate the new PodSecurity enforce level "baseline:latest"`,
      )}`,
      '299 - "host: host namespaces, hostPath volumes, privileged"',
    ]);
    // A change PodSecurity does not look at (labels) goes through; a new image is checked.
    const labelled = await request(
      'PATCH',
      `${pods(ns)}/host`,
      { metadata: { labels: { touched: 'yes' } } },
      'application/merge-patch+json',
    );
    expect(labelled.status).toBe(200);
    const image = await request(
      'PATCH',
      `${pods(ns)}/host`,
      { spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(image.status).toBe(403);
    expect(image.body).toEqual(
      forbiddenStatus(
        'host',
        `violates PodSecurity "baseline:latest": ${HOST_POD_BASELINE}`,
      ),
    );
  });
});
