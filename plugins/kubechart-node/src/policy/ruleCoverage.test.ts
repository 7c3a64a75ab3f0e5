import { PolicyEngine } from './PolicyEngine';
import { KubeObject, PolicyScope } from './types';
import {
  LABELS,
  WORKLOAD_KINDS,
  goodPodSpec,
  withContainer,
} from './__testUtils__/fixtures';

/*
 * Every rule the engine lists has a failing and a passing fixture of this file, written from the
 * rule's definition. A rule that judges pods has its pair in every pod-bearing kind it judges, and
 * the kinds it leaves alone are shown to be left alone. A new rule without fixtures fails the first
 * test by name.
 */

const engine = new PolicyEngine({
  trustedRegistries: ['registry.example.com'],
});
const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
};
const KINDS = Object.keys(WORKLOAD_KINDS);
/** Checked as a run is: with the hosts of the cluster's Ingresses and routes (here none). */
const options = { scope, ingressHostsInUse: { hosts: [] } };
const results = (objects: KubeObject[], ruleId: string, by = engine) =>
  by.check(objects, options).results.filter(r => r.ruleId === ruleId);
const failures = (objects: KubeObject[], ruleId: string, by = engine) =>
  results(objects, ruleId, by).filter(r => !r.passed);

type Pair = {
  failing: KubeObject[];
  passing: KubeObject[];
  message: RegExp;
  /** The engine judging the passing fixture, for a rule that passes only what config allows. */
  passingBy?: PolicyEngine;
};
/** A namespaced custom resource of an operator. */
const custom = (apiVersion: string, kind: string, spec: any): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: 'x' },
  spec,
});

/** A rule on pod specs: the failing and passing spec in each kind it judges (default: all). */
type PodFixture = {
  kinds?: string[];
  pair(kind: string): Pair;
};

const wrap = (kind: string, spec: any) => [WORKLOAD_KINDS[kind](spec)];
/** The good pod spec with `fail` (and, for the passing fixture, `pass`) applied, in `kind`. */
const podCase =
  (
    fail: (spec: any) => void,
    message: RegExp,
    pass: (spec: any) => void = () => {},
  ) =>
  (kind: string): Pair => {
    const failing = goodPodSpec();
    fail(failing);
    const passing = goodPodSpec();
    pass(passing);
    return {
      failing: wrap(kind, failing),
      passing: wrap(kind, passing),
      message,
    };
  };
const container = (fn: (c: any) => void) => (spec: any) => {
  withContainer(fn, spec);
};
const pdbFor = (name: string): KubeObject => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name },
  spec: { maxUnavailable: 1, selector: { matchLabels: LABELS } },
});
const configMap = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings' },
  data,
});
const RBAC = 'rbac.authorization.k8s.io/v1';
const role = (kind: string, rules: any[]): KubeObject => ({
  apiVersion: RBAC,
  kind,
  metadata: { name: 'reader' },
  rules,
});
const binding = (kind: string, roleRef: any, subjects: any[]): KubeObject => ({
  apiVersion: RBAC,
  kind,
  metadata: { name: 'grant' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
  subjects,
});
const app = { kind: 'ServiceAccount', name: 'app', namespace: 'team-a' };
const RUN_TO_COMPLETION = [
  'Job',
  'CronJob',
  'ScheduledWorkflow (custom resource with a jobTemplate)',
];

const podFixtures: Record<string, PodFixture> = {
  'image-tag': {
    pair: podCase(
      container(c => (c.image = 'registry.example.com/team/app:latest')),
      /uses the "latest" tag/,
      container(c => (c.image = 'registry.example.com/team/app@sha256:00ff')),
    ),
  },
  'trusted-registry': {
    pair: podCase(
      container(c => (c.image = 'docker.io/someone/app:1.0')),
      /untrusted registry "docker.io"/,
    ),
  },
  'image-pull-policy': {
    pair: podCase(
      container(c => (c.imagePullPolicy = 'Never')),
      /imagePullPolicy is Never, not Always/,
    ),
  },
  'run-as-non-root': {
    pair: podCase(
      spec => {
        spec.securityContext = {};
        delete spec.containers[0].securityContext.runAsNonRoot;
      },
      /runAsNonRoot is not true/,
      // Set on the pod only: the containers inherit it.
      spec => delete spec.containers[0].securityContext.runAsNonRoot,
    ),
  },
  'no-privilege-escalation': {
    pair: podCase(
      container(c => (c.securityContext.allowPrivilegeEscalation = true)),
      /allowPrivilegeEscalation is not false/,
    ),
  },
  'read-only-root-filesystem': {
    pair: podCase(
      container(c => delete c.securityContext.readOnlyRootFilesystem),
      /readOnlyRootFilesystem is not true/,
    ),
  },
  'no-privileged': {
    pair: podCase(
      spec =>
        (spec.initContainers = [
          {
            ...spec.containers[0],
            name: 'setup',
            securityContext: {
              ...spec.containers[0].securityContext,
              privileged: true,
            },
          },
        ]),
      /container "setup": runs privileged/,
      container(c => (c.securityContext.privileged = false)),
    ),
  },
  'automount-service-account-token': {
    pair: podCase(
      spec => delete spec.automountServiceAccountToken,
      /token of service account "default" is mounted/,
    ),
  },
  'no-host-namespaces': {
    pair: podCase(
      spec => (spec.hostNetwork = true),
      /hostNetwork is true/,
      spec => (spec.hostIPC = false),
    ),
  },
  'dangerous-capabilities': {
    pair: podCase(
      container(c => (c.securityContext.capabilities.add = ['NET_ADMIN'])),
      /adds dangerous capabilities NET_ADMIN/,
      container(
        c => (c.securityContext.capabilities.add = ['NET_BIND_SERVICE']),
      ),
    ),
  },
  'insecure-capabilities': {
    pair: podCase(
      container(c => (c.securityContext.capabilities = {})),
      /does not drop ALL capabilities/,
    ),
  },
  'host-path': {
    pair: podCase(
      spec =>
        (spec.volumes = [{ name: 'logs', hostPath: { path: '/var/log' } }]),
      /volume "logs" mounts host path \/var\/log/,
      spec => (spec.volumes = [{ name: 'logs', emptyDir: {} }]),
    ),
  },
  'volume-types': {
    pair: podCase(
      spec =>
        (spec.volumes = [
          { name: 'shared', nfs: { server: 'nfs.internal', path: '/' } },
        ]),
      /volume "shared" is of type nfs, which is not allowed/,
      spec =>
        (spec.volumes = [
          { name: 'shared', persistentVolumeClaim: { claimName: 'data' } },
        ]),
    ),
  },
  'host-port': {
    pair: podCase(
      container(c => (c.ports = [{ containerPort: 9090, hostPort: 9090 }])),
      /binds host port 9090/,
    ),
  },
  'host-process': {
    pair: podCase(
      container(
        c => (c.securityContext.windowsOptions = { hostProcess: true }),
      ),
      /hostProcess is true/,
    ),
  },
  'proc-mount': {
    pair: podCase(
      container(c => (c.securityContext.procMount = 'Unmasked')),
      /procMount is Unmasked/,
    ),
  },
  'resource-requests': {
    pair: podCase(
      container(c => delete c.resources.requests),
      /missing requests: cpu, memory/,
    ),
  },
  'resource-limits': {
    pair: podCase(
      container(c => delete c.resources.limits.memory),
      /missing limits: memory/,
    ),
  },
  probes: {
    kinds: KINDS.filter(k => !RUN_TO_COMPLETION.includes(k)),
    pair: podCase(
      container(c => delete c.livenessProbe),
      /missing livenessProbe/,
    ),
  },
  replicas: {
    kinds: ['Deployment'],
    pair: kind => {
      const one = WORKLOAD_KINDS[kind](goodPodSpec());
      one.spec.replicas = 1;
      return {
        failing: [one],
        passing: [WORKLOAD_KINDS[kind](goodPodSpec())],
        message: /replicas is 1/,
      };
    },
  },
  'pod-disruption-budget': {
    kinds: ['Deployment', 'StatefulSet'],
    pair: kind => ({
      failing: [WORKLOAD_KINDS[kind](goodPodSpec())],
      passing: [WORKLOAD_KINDS[kind](goodPodSpec()), pdbFor('w')],
      message: /no PodDisruptionBudget in its namespace selects its pods/,
    }),
  },
  'no-plain-secrets': {
    pair: podCase(
      container(c => (c.env = [{ name: 'API_TOKEN', value: 'abc123' }])),
      /plain env value for API_TOKEN/,
      container(
        c =>
          (c.env = [
            {
              name: 'API_TOKEN',
              valueFrom: { secretKeyRef: { name: 'api', key: 'token' } },
            },
          ]),
      ),
    ),
  },
  'no-secret-values': {
    pair: podCase(
      container(
        c =>
          (c.command = [
            'sh',
            '-c',
            'curl -H "Authorization: Bearer 0123456789abcdefghijABCDEFGHIJ" http://api',
          ]),
      ),
      /command\[2\] holds a bearer token/,
      container(c => (c.command = ['sh', '-c', 'curl http://api/healthz'])),
    ),
  },
};

/** Rules on objects other than pod specs (and the pod rules that also read ConfigMaps). */
const objectFixtures: Record<string, Pair[]> = {
  'valid-object': [
    {
      failing: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }],
      passing: [configMap({ color: 'blue' })],
      message: /metadata\.name/,
    },
  ],
  'run-scope': [
    {
      failing: [
        {
          ...configMap({ a: 'b' }),
          metadata: { name: 'x', namespace: 'kube-system' },
        },
      ],
      passing: [
        {
          ...configMap({ a: 'b' }),
          metadata: { name: 'x', namespace: 'team-a' },
        },
      ],
      message: /kube-system/,
    },
  ],
  'pdb-allows-disruption': [
    {
      failing: [
        {
          ...pdbFor('w'),
          spec: { minAvailable: '100%', selector: { matchLabels: LABELS } },
        },
      ],
      passing: [pdbFor('w')],
      message: /minAvailable is 100%: no pod may ever be evicted/,
    },
  ],
  'service-type': [
    {
      failing: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { type: 'NodePort', ports: [{ port: 80 }] },
        },
      ],
      passing: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { ports: [{ port: 80 }] },
        },
      ],
      message: /type NodePort is not allowed/,
    },
  ],
  'service-external-ips': [
    {
      failing: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { ports: [{ port: 443 }], externalIPs: ['10.96.0.1'] },
        },
      ],
      passing: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { ports: [{ port: 443 }], externalIPs: [] },
        },
      ],
      message:
        /spec\.externalIPs names "10\.96\.0\.1": every node sends connections/,
    },
  ],
  'service-endpoints': [
    {
      failing: [
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'web-1' },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.244.1.7'] }],
        },
      ],
      passing: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
        },
      ],
      message:
        /an EndpointSlice is Kubernetes' to write from a Service's selector/,
    },
  ],
  'ingress-annotations': [
    {
      failing: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name: 'web',
            annotations: {
              'nginx.ingress.kubernetes.io/configuration-snippet':
                'proxy_pass http://web.tenant-b.svc;',
            },
          },
          spec: { rules: [{ host: 'web.example.com' }] },
        },
      ],
      passing: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name: 'web',
            annotations: {
              'nginx.ingress.kubernetes.io/proxy-body-size': '8m',
              'cert-manager.io/issuer': 'web',
            },
          },
          spec: { rules: [{ host: 'web.example.com' }] },
        },
      ],
      message:
        /annotation nginx\.ingress\.kubernetes\.io\/configuration-snippet writes nginx configuration/,
    },
  ],
  'ingress-host': [
    {
      failing: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'web' },
          spec: { defaultBackend: { service: { name: 'web', port: 80 } } },
        },
      ],
      passing: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'web' },
          spec: {
            rules: [
              {
                host: 'web.example.com',
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: 'web', port: 80 } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
      message: /spec\.defaultBackend catches every request/,
    },
    {
      failing: [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'web' },
          spec: { hostnames: ['*.example.com'] },
        },
      ],
      passing: [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'web' },
          spec: { hostnames: ['web.example.com'] },
        },
      ],
      message: /host "\*\.example\.com" \(spec\.hostnames\[0\]\) is a wildcard/,
    },
  ],
  'no-plain-secrets': [
    {
      failing: [configMap({ db_password: 'hunter2' })],
      // Names match as whole words: a key that only contains one is no secret.
      passing: [configMap({ keyboard_layout: 'us', monkey_count: '3' })],
      message: /ConfigMap key "db_password" looks like a secret/,
    },
  ],
  'no-secret-values': [
    {
      failing: [
        configMap({
          id_ed25519:
            '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n',
        }),
      ],
      passing: [
        configMap({ 'id_ed25519.pub': 'ssh-ed25519 AAAAC3Nz team@example' }),
      ],
      message: /ConfigMap key "id_ed25519" holds a PEM private key/,
    },
  ],
  'rbac-cluster-admin': [
    {
      failing: [
        binding('RoleBinding', { kind: 'ClusterRole', name: 'cluster-admin' }, [
          app,
        ]),
      ],
      passing: [
        binding('RoleBinding', { kind: 'ClusterRole', name: 'view' }, [app]),
      ],
      message: /binds ClusterRole cluster-admin/,
    },
    {
      failing: [
        role('Role', [
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
            verbs: ['delete'],
          },
        ]),
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [app]),
      ],
      passing: [
        role('Role', [
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
            verbs: ['get', 'list'],
          },
        ]),
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [app]),
      ],
      message:
        /binds Role reader, whose rule 1 grants delete on networkpolicies; its subjects could remove what KubeChart keeps/,
    },
    {
      failing: [
        role('Role', [
          {
            apiGroups: [''],
            resources: ['serviceaccounts/token'],
            verbs: ['create'],
          },
        ]),
      ],
      passing: [
        role('Role', [
          {
            apiGroups: [''],
            resources: ['serviceaccounts'],
            verbs: ['get'],
          },
        ]),
      ],
      message:
        /rule 1 grants create on serviceaccounts\/token: whoever a binding of it names could act as the ServiceAccount KubeChart deploys with/,
    },
  ],
  'rbac-unknown-role': [
    {
      failing: [
        binding(
          'RoleBinding',
          { kind: 'ClusterRole', name: 'platform-reader' },
          [app],
        ),
      ],
      passing: [
        role('Role', [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
        ]),
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [app]),
      ],
      message:
        /binds ClusterRole platform-reader, which the manifests do not define: what it grants cannot be checked/,
    },
  ],
  'rbac-broad-subjects': [
    {
      failing: [
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [
          { kind: 'Group', name: 'system:authenticated' },
        ]),
      ],
      passing: [
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [app]),
      ],
      message: /to Group system:authenticated/,
    },
    {
      failing: [
        binding('RoleBinding', { kind: 'ClusterRole', name: 'edit' }, [
          { kind: 'Group', name: 'system:serviceaccounts:team-a' },
        ]),
      ],
      passing: [
        binding('RoleBinding', { kind: 'ClusterRole', name: 'view' }, [
          { kind: 'Group', name: 'system:serviceaccounts:team-a' },
        ]),
      ],
      message:
        /to Group system:serviceaccounts:team-a \(every ServiceAccount of namespace team-a\): ClusterRole edit does not only read/,
    },
  ],
  'rbac-wildcard': [
    {
      failing: [
        role('Role', [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] },
        ]),
      ],
      passing: [
        role('Role', [
          {
            apiGroups: ['apps'],
            resources: ['deployments'],
            verbs: ['get', 'list'],
          },
        ]),
      ],
      message: /every verb \(\*\)/,
    },
  ],
  'rbac-escalation': [
    {
      failing: [
        role('Role', [
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['rolebindings'],
            verbs: ['create', 'bind'],
          },
        ]),
      ],
      passing: [
        role('Role', [
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['rolebindings'],
            verbs: ['get'],
          },
        ]),
      ],
      message: /grants bind on/,
    },
  ],
  'rbac-cluster-secrets': [
    {
      failing: [
        role('ClusterRole', [
          { apiGroups: [''], resources: ['secrets'], verbs: ['watch'] },
        ]),
      ],
      passing: [
        role('ClusterRole', [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['watch'] },
        ]),
      ],
      message: /grants watch on secrets in every namespace/,
    },
  ],
  'rbac-aggregation': [
    {
      failing: [
        {
          ...role('ClusterRole', [
            { apiGroups: [''], resources: ['configmaps'], verbs: ['update'] },
          ]),
          metadata: {
            name: 'reader',
            labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
          },
        },
      ],
      passing: [
        {
          ...role('ClusterRole', [
            { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
          ]),
          metadata: {
            name: 'reader',
            labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
          },
        },
      ],
      message:
        /adds its rules to ClusterRole view .* rule 1 grants update on configmaps, more than get, list and watch/,
    },
  ],
  'rbac-pod-exec': [
    {
      failing: [
        role('Role', [
          { apiGroups: [''], resources: ['pods/attach'], verbs: ['create'] },
        ]),
      ],
      passing: [
        role('Role', [
          { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        ]),
      ],
      message: /grants create on pods\/attach/,
    },
  ],
  // Operators' custom resources (crossNamespace.test.ts has every form of each).
  'cross-namespace-secrets': [
    {
      failing: [
        custom('external-secrets.io/v1', 'ExternalSecret', {
          secretStoreRef: { name: 'vault-all', kind: 'ClusterSecretStore' },
        }),
      ],
      passing: [
        custom('external-secrets.io/v1', 'ExternalSecret', {
          secretStoreRef: { name: 'own', kind: 'SecretStore' },
        }),
      ],
      message: /spec\.secretStoreRef names ClusterSecretStore vault-all/,
    },
  ],
  'cross-namespace-monitoring': [
    {
      failing: [
        custom('monitoring.coreos.com/v1', 'ServiceMonitor', {
          selector: {},
          namespaceSelector: { any: true },
          endpoints: [{ port: 'metrics' }],
        }),
      ],
      passing: [
        custom('monitoring.coreos.com/v1', 'ServiceMonitor', {
          selector: {},
          endpoints: [{ port: 'metrics' }],
        }),
      ],
      message: /spec\.namespaceSelector\.any is true/,
    },
  ],
  'cross-namespace-certificates': [
    {
      failing: [
        custom('cert-manager.io/v1', 'Certificate', {
          secretName: 'tls',
          issuerRef: { name: 'ca', kind: 'ClusterIssuer' },
        }),
      ],
      passing: [
        custom('cert-manager.io/v1', 'Certificate', {
          secretName: 'tls',
          issuerRef: { name: 'ca', kind: 'Issuer' },
        }),
      ],
      message: /spec\.issuerRef names ClusterIssuer ca/,
    },
  ],
  'cross-namespace-gitops': [
    {
      failing: [
        custom('helm.toolkit.fluxcd.io/v2', 'HelmRelease', {
          serviceAccountName: 'app',
          targetNamespace: 'team-b',
        }),
      ],
      passing: [
        custom('helm.toolkit.fluxcd.io/v2', 'HelmRelease', {
          serviceAccountName: 'app',
          targetNamespace: 'team-a',
        }),
      ],
      message: /spec\.targetNamespace names namespace team-b, not team-a/,
    },
  ],
  'cross-namespace-policy-exceptions': [
    {
      failing: [
        custom('kyverno.io/v2', 'PolicyException', {
          exceptions: [{ policyName: 'p', ruleNames: ['r'] }],
        }),
      ],
      // Passes only where the platform allows them (Kyverno reads exceptions from its namespace only).
      passing: [
        custom('kyverno.io/v2', 'PolicyException', {
          exceptions: [{ policyName: 'p', ruleNames: ['r'] }],
        }),
      ],
      passingBy: new PolicyEngine({
        allowCrossNamespace: ['kyverno-policy-exceptions'],
      }),
      message: /a Kyverno PolicyException exempts the resources it matches/,
    },
  ],
};

/** What a fixture pair shows about a rule; {@link pairHolds} is what it must show. */
const judgePair = (ruleId: string, { failing, passing, passingBy }: Pair) => {
  const failed = failures(failing, ruleId);
  return {
    failingMessages: failed.map(r => r.message).join('\n'),
    everyFailureHasAFix: failed.every(r => r.fix.length > 10),
    // The passing fixture is judged by the rule (valid-object reports failures only: a valid
    // object is shown judged by the other rules reaching it), and passes.
    passingJudged:
      (ruleId === 'valid-object'
        ? engine.check(passing, options).results.filter(r => r.passed)
        : results(passing, ruleId, passingBy)
      ).length > 0,
    passingFailures: failures(passing, ruleId, passingBy).map(r => r.message),
  };
};
const pairHolds = ({ message }: Pair) => ({
  failingMessages: expect.stringMatching(message),
  everyFailureHasAFix: true,
  passingJudged: true,
  passingFailures: [],
});

describe('every rule the engine lists has fixtures of its own', () => {
  const ruleIds = engine.listRules().map(r => r.id);

  it('no rule is without a failing and a passing fixture', () => {
    expect(ruleIds.length).toBeGreaterThanOrEqual(30);
    expect(
      ruleIds.filter(id => !podFixtures[id] && !objectFixtures[id]),
    ).toEqual([]);
    // And no fixture names a rule the engine does not have.
    expect(
      [...Object.keys(podFixtures), ...Object.keys(objectFixtures)].filter(
        id => !ruleIds.includes(id),
      ),
    ).toEqual([]);
  });

  describe.each(Object.keys(podFixtures))('%s', ruleId => {
    const fixture = podFixtures[ruleId];
    const judged = fixture.kinds ?? KINDS;
    it.each(judged)('fails and passes in a %s', kind => {
      const pair = fixture.pair(kind);
      expect(judgePair(ruleId, pair)).toEqual(pairHolds(pair));
    });
    const others = KINDS.filter(k => !judged.includes(k));
    if (others.length) {
      it.each(others)('leaves a %s alone', kind => {
        expect(results(wrap(kind, goodPodSpec()), ruleId)).toEqual([]);
        expect(
          results(
            fixture.pair(judged[0]).failing.map(o =>
              WORKLOAD_KINDS[kind](
                // the failing fixture's pod spec, in a kind the rule does not judge
                (o.spec?.template?.spec ?? o.spec) as any,
              ),
            ),
            ruleId,
          ),
        ).toEqual([]);
      });
    }
  });

  describe.each(Object.keys(objectFixtures))('%s', ruleId => {
    it.each(objectFixtures[ruleId].map((p, i) => [i + 1, p] as const))(
      'object fixture %d fails and passes',
      (_i, pair) => expect(judgePair(ruleId, pair)).toEqual(pairHolds(pair)),
    );
  });
});
