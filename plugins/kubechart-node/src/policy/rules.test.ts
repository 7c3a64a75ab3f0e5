import { PolicyEngine } from './PolicyEngine';
import { KubeObject } from './types';
import {
  LABELS,
  WORKLOAD_KINDS,
  goodContainer,
  goodDeployment,
  goodPodSpec,
  withContainer,
} from './__testUtils__/fixtures';

const engine = new PolicyEngine({
  trustedRegistries: ['registry.example.com'],
});
const failures = (objects: KubeObject[], ruleId: string) =>
  engine.check(objects).results.filter(r => r.ruleId === ruleId && !r.passed);
const applied = (objects: KubeObject[], ruleId: string) =>
  engine.check(objects).results.filter(r => r.ruleId === ruleId);

const deploy = (spec: any) => goodDeployment(spec);
const configMap = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg' },
  data,
});
const env = (entries: any[]) => deploy(withContainer(c => (c.env = entries)));

/** [rule, failing fixture, expected message, passing fixture]. Written from each rule's definition. */
const cases: Array<[string, KubeObject[], RegExp, KubeObject[]]> = [
  [
    'image-tag',
    deploy(
      withContainer(c => (c.image = 'registry.example.com/team/app:latest')),
    ),
    /uses the "latest" tag/,
    deploy(
      withContainer(
        c => (c.image = 'registry.example.com/team/app@sha256:0123abcd'),
      ),
    ),
  ],
  [
    'image-tag',
    deploy(withContainer(c => (c.image = 'registry.example.com/team/app'))),
    /has no tag/,
    deploy(goodPodSpec()),
  ],
  [
    'trusted-registry',
    deploy(withContainer(c => (c.image = 'quay.io/evil/miner:1.0'))),
    /untrusted registry "quay.io"/,
    deploy(goodPodSpec()),
  ],
  [
    'image-pull-policy',
    deploy(withContainer(c => (c.imagePullPolicy = 'IfNotPresent'))),
    /imagePullPolicy is IfNotPresent, not Always/,
    deploy(goodPodSpec()),
  ],
  [
    'run-as-non-root',
    deploy(withContainer(c => (c.securityContext.runAsNonRoot = false))),
    /runAsNonRoot is not true/,
    deploy(withContainer(c => delete c.securityContext.runAsNonRoot)),
  ],
  [
    'no-privilege-escalation',
    deploy(
      withContainer(c => delete c.securityContext.allowPrivilegeEscalation),
    ),
    /allowPrivilegeEscalation is not false/,
    deploy(goodPodSpec()),
  ],
  [
    'read-only-root-filesystem',
    deploy(
      withContainer(c => (c.securityContext.readOnlyRootFilesystem = false)),
    ),
    /readOnlyRootFilesystem is not true/,
    deploy(goodPodSpec()),
  ],
  [
    'no-privileged',
    deploy(withContainer(c => (c.securityContext.privileged = true))),
    /container "app": runs privileged/,
    deploy(withContainer(c => (c.securityContext.privileged = false))),
  ],
  [
    'automount-service-account-token',
    deploy({ ...goodPodSpec(), automountServiceAccountToken: undefined }),
    /token of service account "default" is mounted/,
    [
      ...deploy({
        ...goodPodSpec(),
        automountServiceAccountToken: undefined,
        serviceAccountName: 'web',
      }),
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'web' },
        automountServiceAccountToken: false,
      },
    ],
  ],
  [
    'automount-service-account-token',
    deploy({ ...goodPodSpec(), automountServiceAccountToken: true }),
    /automountServiceAccountToken is true/,
    deploy(goodPodSpec()),
  ],
  [
    'no-host-namespaces',
    deploy({ ...goodPodSpec(), hostPID: true, hostIPC: true }),
    /hostPID is true; hostIPC is true/,
    deploy({ ...goodPodSpec(), hostNetwork: false }),
  ],
  [
    'dangerous-capabilities',
    deploy(
      withContainer(
        c =>
          (c.securityContext.capabilities.add = [
            'NET_BIND_SERVICE',
            'SYS_ADMIN',
            'cap_net_admin',
          ]),
      ),
    ),
    /adds dangerous capabilities SYS_ADMIN, NET_ADMIN/,
    deploy(
      withContainer(
        c => (c.securityContext.capabilities.add = ['NET_BIND_SERVICE']),
      ),
    ),
  ],
  [
    'dangerous-capabilities',
    deploy(withContainer(c => (c.securityContext.capabilities.add = ['all']))),
    /adds dangerous capabilities ALL/,
    deploy(goodPodSpec()),
  ],
  [
    'insecure-capabilities',
    deploy(
      withContainer(
        c => (c.securityContext.capabilities = { drop: ['NET_RAW'] }),
      ),
    ),
    /does not drop ALL capabilities/,
    deploy(goodPodSpec()),
  ],
  [
    'insecure-capabilities',
    deploy(
      withContainer(
        c => (c.securityContext.capabilities.add = ['NET_RAW', 'CHOWN']),
      ),
    ),
    /adds capabilities NET_RAW, CHOWN/,
    deploy(
      withContainer(
        c => (c.securityContext.capabilities.add = ['NET_BIND_SERVICE']),
      ),
    ),
  ],
  [
    'host-path',
    deploy({
      ...goodPodSpec(),
      volumes: [{ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }],
    }),
    /volume "sock" mounts host path \/var\/run\/docker.sock/,
    deploy({ ...goodPodSpec(), volumes: [{ name: 'tmp', emptyDir: {} }] }),
  ],
  [
    'host-port',
    deploy(
      withContainer(c => (c.ports = [{ containerPort: 8080, hostPort: 80 }])),
    ),
    /binds host port 80/,
    deploy(goodPodSpec()),
  ],
  [
    'host-process',
    deploy({
      ...goodPodSpec(),
      securityContext: {
        runAsNonRoot: true,
        windowsOptions: { hostProcess: true },
      },
    }),
    /hostProcess is true/,
    deploy({
      ...goodPodSpec(),
      securityContext: {
        runAsNonRoot: true,
        windowsOptions: { hostProcess: false },
      },
    }),
  ],
  [
    'host-process',
    deploy(
      withContainer(
        c => (c.securityContext.windowsOptions = { hostProcess: true }),
      ),
    ),
    /container "app": windowsOptions.hostProcess is true/,
    deploy(goodPodSpec()),
  ],
  [
    'proc-mount',
    deploy(withContainer(c => (c.securityContext.procMount = 'Unmasked'))),
    /procMount is Unmasked/,
    deploy(withContainer(c => (c.securityContext.procMount = 'Default'))),
  ],
  [
    'resource-requests',
    deploy(withContainer(c => delete c.resources.requests.memory)),
    /missing requests: memory/,
    deploy(goodPodSpec()),
  ],
  [
    'resource-limits',
    deploy(withContainer(c => delete c.resources.limits.cpu)),
    /missing limits: cpu/,
    deploy(goodPodSpec()),
  ],
  [
    'probes',
    deploy(withContainer(c => delete c.readinessProbe)),
    /missing readinessProbe/,
    deploy(goodPodSpec()),
  ],
  [
    'replicas',
    [
      {
        ...deploy(goodPodSpec())[0],
        spec: { ...deploy(goodPodSpec())[0].spec, replicas: 1 },
      },
    ],
    /replicas is 1/,
    [
      {
        ...deploy(goodPodSpec())[0],
        spec: { ...deploy(goodPodSpec())[0].spec, replicas: 1 },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 5,
        },
      },
    ],
  ],
  [
    'pod-disruption-budget',
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        metadata: { name: 'web', namespace: 'other' },
      },
    ],
    /no PodDisruptionBudget in its namespace selects its pods/,
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: {
          maxUnavailable: 1,
          selector: {
            matchExpressions: [
              { key: 'app', operator: 'In', values: ['web', 'api'] },
            ],
          },
        },
      },
    ],
  ],
  [
    'pod-disruption-budget',
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: {
          maxUnavailable: 1,
          selector: {
            matchExpressions: [
              { key: 'app', operator: 'NotIn', values: ['web'] },
            ],
          },
        },
      },
    ],
    /no PodDisruptionBudget/,
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: { maxUnavailable: 1, selector: {} },
      },
    ],
  ],
  [
    'pdb-allows-disruption',
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: { maxUnavailable: 0, selector: { matchLabels: LABELS } },
      },
    ],
    /maxUnavailable is 0: no pod may ever be evicted/,
    deploy(goodPodSpec()),
  ],
  [
    'pdb-allows-disruption',
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: { minAvailable: 2, selector: { matchLabels: LABELS } },
      },
    ],
    /minAvailable 2 is not below the 2 replica\(s\) of Deployment\/web/,
    [
      deploy(goodPodSpec())[0],
      {
        ...deploy(goodPodSpec())[1],
        spec: { minAvailable: 1, selector: { matchLabels: LABELS } },
      },
    ],
  ],
  [
    'no-plain-secrets',
    env([
      { name: 'STRIPE_API_KEY', value: 'abc' },
      { name: 'dbPassword', value: 'x' },
    ]),
    /plain env value for STRIPE_API_KEY, dbPassword/,
    env([
      {
        name: 'DB_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
      },
      { name: 'TOKENIZER', value: 'bert' },
      { name: 'KEYBOARD_LAYOUT', value: 'us' },
    ]),
  ],
  [
    'no-plain-secrets',
    [configMap({ secret_token: 'abc', password: 'hunter2', color: 'blue' })],
    /"secret_token" looks like a secret; ConfigMap key "password"/,
    [
      configMap({
        monkey: 'banana',
        cache_key_prefix: 'v1:',
        primary_key: 'id',
        enable_password_login: 'true',
      }),
    ],
  ],
  [
    'no-secret-values',
    [
      configMap({
        'tls.key':
          '-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n',
      }),
    ],
    /ConfigMap key "tls.key" holds a PEM private key/,
    [
      configMap({
        'tls.crt':
          '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n',
      }),
    ],
  ],
  [
    'no-secret-values',
    env([
      { name: 'DATABASE_URL', value: 'postgres://app:s3cr3tPass@db:5432/app' },
    ]),
    /env DATABASE_URL holds a password in a URL/,
    env([
      {
        name: 'DATABASE_URL',
        value: 'postgres://app:$(DB_PASSWORD)@db:5432/app',
      },
      { name: 'HOME_URL', value: 'https://example.com/a:b' },
    ]),
  ],
  [
    'no-secret-values',
    deploy(
      withContainer(
        c =>
          (c.args = [
            '--verbose',
            '--auth=Bearer abcdefghijklmnopqrstuvwxyz012345',
          ]),
      ),
    ),
    /args\[1\] holds a bearer token/,
    deploy(withContainer(c => (c.args = ['--verbose', '--listen=:8080']))),
  ],
];

describe('built-in rules: a failing and a passing fixture each', () => {
  it.each(cases)('%s', (ruleId, failing, message, passing) => {
    const failed = failures(failing, ruleId);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map(r => r.message).join('\n')).toMatch(message);
    expect(failed[0].fix.length).toBeGreaterThan(10);
    expect(applied(passing, ruleId).length).toBeGreaterThan(0);
    expect(failures(passing, ruleId)).toEqual([]);
  });

  it('a fully hardened Deployment with its PodDisruptionBudget passes every rule', () => {
    const report = engine.check(goodDeployment());
    expect(report.results.filter(r => !r.passed)).toEqual([]);
    const ruleIds = new Set(report.results.map(r => r.ruleId));
    for (const id of [
      'dangerous-capabilities',
      'insecure-capabilities',
      'host-path',
      'host-port',
      'host-process',
      'proc-mount',
      'image-pull-policy',
      'automount-service-account-token',
    ]) {
      expect(ruleIds).toContain(id);
    }
  });

  it.each([
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['GitHub token', `ghp_${'a1B2'.repeat(9)}`],
    ['GitLab token', 'glpat-abcdefghij0123456789'],
    ['Slack token', 'xoxb-123456789012-abcdefghij'],
    [
      'JSON Web Token',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    ],
    [
      'password assignment',
      'Server=db;Database=app;User Id=app;Password=Winter2024!;',
    ],
  ])(
    'no-secret-values recognises a %s in a ConfigMap value',
    (_what, value) => {
      const failed = failures(
        [configMap({ settings: `x=1\n${value}\n` })],
        'no-secret-values',
      );
      expect(failed).toHaveLength(1);
      expect(failed[0].message).not.toContain(value);
    },
  );
});

describe('every pod-bearing kind is checked, with init and ephemeral containers', () => {
  const badSpec = () => ({
    ...goodPodSpec(),
    hostPID: true,
    volumes: [{ name: 'root', hostPath: { path: '/' } }],
    initContainers: [
      {
        ...goodContainer('migrate'),
        image: 'registry.example.com/team/migrate:latest',
      },
    ],
    containers: [
      withContainer(c => (c.securityContext.privileged = true)).containers[0],
    ],
    ephemeralContainers: [
      {
        ...goodContainer('debug'),
        securityContext: {
          ...goodContainer().securityContext,
          capabilities: { add: ['SYS_PTRACE'], drop: ['ALL'] },
        },
      },
    ],
  });

  it.each(Object.keys(WORKLOAD_KINDS))('%s', kind => {
    const bad = engine.check([WORKLOAD_KINDS[kind](badSpec())]);
    const msg = (id: string) =>
      bad.results
        .filter(r => r.ruleId === id && !r.passed)
        .map(r => r.message)
        .join('\n');
    expect(msg('no-privileged')).toContain('container "app": runs privileged');
    expect(msg('no-host-namespaces')).toBe('hostPID is true');
    expect(msg('host-path')).toContain('mounts host path /');
    expect(msg('image-tag')).toContain('container "migrate"');
    expect(msg('dangerous-capabilities')).toContain(
      'container "debug": adds dangerous capabilities SYS_PTRACE',
    );
    expect(bad.blocking).toBe(true);

    const good = engine.check([WORKLOAD_KINDS[kind](goodPodSpec())]);
    expect(
      good.results.filter(r => !r.passed && r.severity === 'error'),
    ).toEqual([]);
    expect(good.results.filter(r => r.ruleId === 'no-privileged')).toHaveLength(
      1,
    );
  });

  it('probes are not required of run-to-completion workloads', () => {
    const noProbes = withContainer(c => {
      delete c.livenessProbe;
      delete c.readinessProbe;
    });
    expect(applied([WORKLOAD_KINDS.Job(noProbes)], 'probes')).toEqual([]);
    expect(applied([WORKLOAD_KINDS.CronJob(noProbes)], 'probes')).toEqual([]);
    expect(failures([WORKLOAD_KINDS.Pod(noProbes)], 'probes')).toHaveLength(1);
  });

  it('objects that bear no pods are not judged by pod rules', () => {
    expect(applied([configMap({ a: 'b' })], 'no-privileged')).toEqual([]);
  });
});
