import { ConfigReader } from '@backstage/config';
import {
  PolicyEngine,
  formatPolicyFailures,
  parseManifests,
} from './PolicyEngine';
import { parseImage } from './rules';
import { PolicyRule } from './types';
import { goodDeployment } from './__testUtils__/fixtures';

const good = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: t }
spec:
  replicas: 2
  template:
    metadata: { labels: { app: web } }
    spec:
      automountServiceAccountToken: false
      securityContext: { runAsNonRoot: true }
      containers:
        - name: web
          image: registry.example.com/team/web:1.2.3
          imagePullPolicy: Always
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { cpu: 1, memory: 128Mi } }
          livenessProbe: { httpGet: { path: /, port: 80 } }
          readinessProbe: { httpGet: { path: /, port: 80 } }
          env:
            - name: DB_PASSWORD
              valueFrom: { secretKeyRef: { name: db, key: password } }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: t }
spec: { minAvailable: 1, selector: { matchLabels: { app: web } } }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ port: 80 }] }
`;

/** Breaks rules that follow the policy mode (the service rules block in every mode). */
const badWorkloads = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: bad }
spec:
  replicas: 1
  template:
    spec:
      hostNetwork: true
      containers:
        - name: app
          image: nginx:latest
          securityContext: { privileged: true }
          env:
            - { name: API_TOKEN, value: abc123 }
        - name: side
          image: quay.io/x/y
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { db_password: hunter2, color: blue }
`;
const bad = `${badWorkloads}---
apiVersion: v1
kind: Service
metadata: { name: lb }
spec: { type: LoadBalancer }
`;

describe('PolicyEngine', () => {
  const engine = new PolicyEngine({
    trustedRegistries: ['registry.example.com'],
  });

  it('passes a well-formed workload on every rule', () => {
    const report = engine.checkYaml(good);
    expect(report.passed).toBe(true);
    expect(report.blocking).toBe(false);
    expect(report.results.filter(r => !r.passed)).toEqual([]);
    // every built-in rule applied to the Deployment
    const ids = new Set(
      report.results
        .filter(r => r.object.kind === 'Deployment')
        .map(r => r.ruleId),
    );
    expect(ids.size).toBeGreaterThanOrEqual(12);
    expect(report.summary.objects).toBe(3);
  });

  it('reports each violation with rule id, severity, object and fix', () => {
    const report = engine.checkYaml(bad);
    expect(report.passed).toBe(false);
    expect(report.blocking).toBe(true);
    const failed = (id: string) =>
      report.results.filter(r => r.ruleId === id && !r.passed);
    expect(failed('image-tag')[0].message).toMatch(
      /nginx:latest.*latest.*|quay.io\/x\/y.*no tag/s,
    );
    expect(failed('image-tag')[0].message).toContain('quay.io/x/y" has no tag');
    expect(failed('trusted-registry')[0].message).toContain(
      'untrusted registry "docker.io"',
    );
    expect(failed('run-as-non-root')).toHaveLength(1);
    expect(failed('no-privilege-escalation')).toHaveLength(1);
    expect(failed('no-privileged')[0].message).toContain('container "app"');
    expect(failed('no-host-namespaces')[0].message).toBe('hostNetwork is true');
    expect(failed('resource-requests')).toHaveLength(1);
    expect(failed('probes')).toHaveLength(1);
    expect(failed('replicas')[0].message).toBe('replicas is 1');
    expect(failed('pod-disruption-budget')).toHaveLength(1);
    expect(
      failed('no-plain-secrets')
        .map(r => r.object.kind)
        .sort(),
    ).toEqual(['ConfigMap', 'Deployment']);
    expect(
      failed('no-plain-secrets').find(r => r.object.kind === 'ConfigMap')!
        .message,
    ).not.toContain('color');
    expect(failed('service-type')[0]).toMatchObject({
      severity: 'error',
      object: { kind: 'Service', name: 'lb' },
      message: 'type LoadBalancer is not allowed',
    });
    expect(failed('service-type')[0].fix).toMatch(/ClusterIP/);
    expect(formatPolicyFailures(report)).toContain(
      '[no-privileged] Deployment/bad',
    );
  });

  it('refuses an ExternalName Service by default: through the shared ingress controller it would route to another namespace', () => {
    // `web.tenant-b` resolves through the cluster's DNS search path to another tenant's Service,
    // which admits the ingress controller's namespace: an Ingress in this tenant would publish it.
    const externalName = `apiVersion: v1
kind: Service
metadata: { name: other-web }
spec: { type: ExternalName, externalName: web.tenant-b }
`;
    const report = new PolicyEngine().checkYaml(externalName);
    expect(report.blocking).toBe(true);
    expect(
      report.results.find(r => r.ruleId === 'service-type' && !r.passed),
    ).toMatchObject({ message: 'type ExternalName is not allowed' });
    // A platform team that needs it allows it on purpose.
    const allowed = new PolicyEngine({
      allowedServiceTypes: ['ClusterIP', 'ExternalName'],
    }).checkYaml(externalName);
    expect(
      allowed.results.some(r => r.ruleId === 'service-type' && !r.passed),
    ).toBe(false);
  });

  it('takes severities and mode from config-like options', () => {
    const warnOnly = new PolicyEngine({ mode: 'warn' }).checkYaml(badWorkloads);
    expect(warnOnly.passed).toBe(false);
    expect(warnOnly.blocking).toBe(false);

    const relaxed = new PolicyEngine({
      severities: {
        'image-tag': 'warning',
        'no-privileged': 'off',
        'run-as-non-root': 'info',
        'no-privilege-escalation': 'off',
        'no-host-namespaces': 'off',
        'no-plain-secrets': 'warning',
      },
    }).checkYaml(badWorkloads);
    expect(relaxed.results.some(r => r.ruleId === 'no-privileged')).toBe(false);
    expect(relaxed.passed).toBe(true);
    expect(relaxed.summary.warnings).toBeGreaterThan(0);

    const off = new PolicyEngine({ mode: 'off' }).checkYaml(badWorkloads);
    expect(off.results).toEqual([]);
    expect(off.passed).toBe(true);

    expect(() => new PolicyEngine({ mode: 'strict' as any })).toThrow(/mode/);
  });

  it('runs extra rules from the extension point', () => {
    const teamLabel: PolicyRule = {
      id: 'team-label',
      defaultSeverity: 'error',
      description: 'objects carry a team label',
      fix: 'Add metadata.labels.team',
      check: o => (o.metadata?.labels?.team ? [] : ['no team label']),
    };
    const report = new PolicyEngine({
      rules: [teamLabel],
      mode: 'enforce',
    }).checkYaml(good);
    expect(
      report.results.filter(r => r.ruleId === 'team-label' && !r.passed),
    ).toHaveLength(3);
    expect(report.blocking).toBe(true);
    expect(
      () => new PolicyEngine({ rules: [{ ...teamLabel, id: 'image-tag' }] }),
    ).toThrow(/Duplicate/);
  });

  it('parses images and multi-doc YAML', () => {
    expect(parseImage('nginx')).toEqual({
      registry: 'docker.io',
      path: 'nginx',
      tag: undefined,
      digest: undefined,
    });
    expect(parseImage('localhost:5000/a/b:1')).toMatchObject({
      registry: 'localhost:5000',
      path: 'a/b',
      tag: '1',
    });
    expect(parseImage('ghcr.io/o/i@sha256:abc')).toMatchObject({
      registry: 'ghcr.io',
      digest: 'sha256:abc',
    });
    expect(
      parseManifests('---\n---\nkind: List\nitems: [{kind: A}, {kind: B}]\n'),
    ).toHaveLength(2);
    expect(() => parseManifests('a: [')).toThrow(/not valid YAML/);
  });

  it('fails closed on documents it cannot judge: never skipped, blocking in every mode', () => {
    const text = [
      'just a string',
      '- a\n- list',
      'kind: ConfigMap\nmetadata: { name: no-api-version }',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {}',
      'apiVersion: v1\nkind: ReplicationController\nmetadata: { name: rc }\nspec: { template: { spec: { containers: { name: app } } } }',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec: { template: { spec: { containers: [{ name: a, image: x:1, securityContext: { capabilities: { add: SYS_ADMIN } } }] } } }',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: no-template }\nspec: { replicas: 2 }',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: fine }\ndata: { a: b }',
    ].join('\n---\n');
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const report = new PolicyEngine({ mode }).checkYaml(text);
      const invalid = report.results.filter(
        r => r.ruleId === 'valid-object' && !r.passed,
      );
      expect(
        invalid.map(r => `${r.object.kind}/${r.object.name}: ${r.message}`),
      ).toEqual([
        'Unknown/document 1: the document is a string, not a Kubernetes object',
        'Unknown/document 2: the document is a list, not a Kubernetes object',
        'ConfigMap/no-api-version: apiVersion is missing',
        'ConfigMap/document 4: metadata.name is missing',
        'ReplicationController/rc: spec.template.spec.containers is missing or not a list',
        'Deployment/d: spec.template.spec.containers[0].securityContext.capabilities.add is not a list of strings',
        'Deployment/no-template: spec.template.spec is missing or not a mapping',
      ]);
      expect(report.blocking).toBe(true);
      expect(report.summary.objects).toBe(8);
    }
  });

  it('a rule that throws on an object reports it as a failure', () => {
    const broken: PolicyRule = {
      id: 'broken',
      defaultSeverity: 'error',
      description: 'x',
      fix: 'y',
      check: () => {
        throw new Error('boom');
      },
    };
    const report = new PolicyEngine({ rules: [broken] }).check(
      goodDeployment(),
    );
    expect(report.results.find(r => r.ruleId === 'broken')).toMatchObject({
      passed: false,
      message: 'the rule could not check this object: boom',
    });
    expect(report.blocking).toBe(true);
  });

  describe('exceptions', () => {
    const exporter = `
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: node-exporter-main, namespace: monitoring }
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: { runAsNonRoot: true }
      volumes: [{ name: proc, hostPath: { path: /proc } }]
      containers:
        - name: exporter
          image: registry.example.com/prom/node-exporter:1.8.0
          securityContext: { allowPrivilegeEscalation: false }
`;
    const exception = {
      rule: 'host-path',
      namespace: 'monitoring',
      kind: 'DaemonSet',
      name: 'node-exporter-*',
      reason: 'reads node metrics; approved by platform (PLAT-42)',
    };

    it('keeps the exempted result in the report, marked with the reason, and does not count it', () => {
      const report = new PolicyEngine({ exceptions: [exception] }).checkYaml(
        exporter,
      );
      const hostPath = report.results.find(r => r.ruleId === 'host-path')!;
      expect(hostPath).toMatchObject({
        passed: false,
        exempt: {
          reason: 'reads node metrics; approved by platform (PLAT-42)',
        },
      });
      expect(report.summary.exempted).toBe(1);
      expect(report.blocking).toBe(false);
      expect(formatPolicyFailures(report)).not.toContain('host-path');
      // Without the exception the same chart is refused.
      expect(new PolicyEngine().checkYaml(exporter).blocking).toBe(true);
    });

    it('covers only the named namespace, kind and object; the default namespace counts for objects without one', () => {
      const elsewhere = exporter.replace(
        'namespace: monitoring',
        'namespace: team-a',
      );
      expect(
        new PolicyEngine({ exceptions: [exception] }).checkYaml(elsewhere)
          .blocking,
      ).toBe(true);
      const renamed = exporter.replace('node-exporter-main', 'miner');
      expect(
        new PolicyEngine({ exceptions: [exception] }).checkYaml(renamed)
          .blocking,
      ).toBe(true);
      const noNamespace = exporter.replace(', namespace: monitoring', '');
      const withException = new PolicyEngine({ exceptions: [exception] });
      expect(withException.checkYaml(noNamespace).blocking).toBe(true);
      expect(
        withException.checkYaml(noNamespace, {
          scope: { namespaces: ['monitoring'], defaultNamespace: 'monitoring' },
        }).blocking,
      ).toBe(false);
    });

    it('refuses exceptions without a reason, for unknown rules, or for everything', () => {
      expect(
        () => new PolicyEngine({ exceptions: [{ ...exception, reason: ' ' }] }),
      ).toThrow(/needs a reason/);
      expect(
        () =>
          new PolicyEngine({ exceptions: [{ ...exception, rule: 'nope' }] }),
      ).toThrow(/unknown rule "nope"/);
      expect(
        () =>
          new PolicyEngine({
            exceptions: [{ rule: 'host-path', reason: 'all of them' }],
          }),
      ).toThrow(/must name a namespace or an object/);
      expect(
        () =>
          new PolicyEngine({
            exceptions: [{ ...exception, rule: 'valid-object' }],
          }),
      ).toThrow(/cannot be exempted/);
    });

    it('refuses an exception whose name pattern matches every object of every namespace', () => {
      // `name: '*'` with no namespace exempted every object everywhere, a rule that blocks in every
      // mode included, where turning the rule off is refused.
      for (const name of ['*', '**', '***']) {
        expect(
          () =>
            new PolicyEngine({
              exceptions: [{ rule: 'rbac-wildcard', name, reason: 'all' }],
            }),
        ).toThrow(
          `kubechart.policy.exceptions[0] must name a namespace or an object; name "${name}" matches every object`,
        );
      }
      // Within one namespace, or for names with a fixed part, the pattern stays.
      const scoped = new PolicyEngine({
        exceptions: [
          {
            rule: 'host-path',
            namespace: 'monitoring',
            name: '*',
            reason: 'r',
          },
          { rule: 'host-path', name: 'node-exporter-*', reason: 'r' },
        ],
      });
      expect(scoped.listRules().length).toBeGreaterThan(0);
    });

    it('refuses, at start-up, a severity set for a rule id it does not know, naming the key', () => {
      // A misspelt id (`privilged: error`) meant to tighten a rule was taken silently and changed nothing.
      expect(
        () => new PolicyEngine({ severities: { privilged: 'error' } }),
      ).toThrow(
        'kubechart.policy.rules.privilged names no policy rule; known rules: ',
      );
      expect(() =>
        PolicyEngine.fromConfig(
          new ConfigReader({
            kubechart: { policy: { rules: { 'host-pth': 'off' } } },
          }),
        ),
      ).toThrow(/^kubechart.policy.rules.host-pth names no policy rule/);
      // A rule added by an extension is known.
      const teamLabel = {
        id: 'team-label',
        defaultSeverity: 'error' as const,
        description: 'objects carry a team label',
        fix: 'add a team label',
        check: () => [],
      };
      expect(
        new PolicyEngine({
          rules: [teamLabel],
          severities: { 'team-label': 'warning' },
        })
          .listRules()
          .map(r => r.id),
      ).toContain('team-label');
    });
  });

  it('reads exceptions and secret names from kubechart.policy config', () => {
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: {
          policy: {
            exceptions: [
              {
                rule: 'no-plain-secrets',
                kind: 'ConfigMap',
                name: 'cfg',
                reason: 'test data',
              },
            ],
            secrets: {
              keyNames: ['password', 'pin_code'],
              ignoreKeys: ['TOKEN_TTL'],
            },
          },
        },
      }),
    );
    const report = configured.checkYaml(`
apiVersion: v1
kind: ConfigMap
metadata: { name: other }
data: { pin_code: "1234", TOKEN_TTL: "60", api_token: "x" }
`);
    expect(
      report.results.find(r => r.ruleId === 'no-plain-secrets')!.message,
    ).toBe('ConfigMap key "pin_code" looks like a secret');
    const exempted = configured.checkYaml(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { password: x }\n',
    );
    expect(
      exempted.results.find(r => r.ruleId === 'no-plain-secrets')!.exempt,
    ).toEqual({ reason: 'test data' });
    expect(
      engine
        .listRules()
        .slice(0, 2)
        .map(r => r.id),
    ).toEqual(['valid-object', 'run-scope']);
  });
});
