import { PolicyEngine, formatPolicyFailures, parseManifests } from './PolicyEngine';
import { parseImage } from './rules';
import { PolicyRule } from './types';

const good = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: t }
spec:
  replicas: 2
  template:
    metadata: { labels: { app: web } }
    spec:
      securityContext: { runAsNonRoot: true }
      containers:
        - name: web
          image: registry.example.com/team/web:1.2.3
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }
          resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { cpu: 1, memory: 128Mi } }
          livenessProbe: { httpGet: { path: /, port: 80 } }
          readinessProbe: { httpGet: { path: /, port: 80 } }
          env:
            - name: DB_PASSWORD
              valueFrom: { secretKeyRef: { name: db, key: password } }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web }
spec: { minAvailable: 1, selector: { matchLabels: { app: web } } }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ port: 80 }] }
`;

const bad = `
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
---
apiVersion: v1
kind: Service
metadata: { name: lb }
spec: { type: LoadBalancer }
`;

describe('PolicyEngine', () => {
  const engine = new PolicyEngine({ trustedRegistries: ['registry.example.com'] });

  it('passes a well-formed workload on every rule', () => {
    const report = engine.checkYaml(good);
    expect(report.passed).toBe(true);
    expect(report.blocking).toBe(false);
    expect(report.results.filter(r => !r.passed)).toEqual([]);
    // every built-in rule applied to the Deployment
    const ids = new Set(report.results.filter(r => r.object.kind === 'Deployment').map(r => r.ruleId));
    expect(ids.size).toBeGreaterThanOrEqual(12);
    expect(report.summary.objects).toBe(3);
  });

  it('reports each violation with rule id, severity, object and fix', () => {
    const report = engine.checkYaml(bad);
    expect(report.passed).toBe(false);
    expect(report.blocking).toBe(true);
    const failed = (id: string) => report.results.filter(r => r.ruleId === id && !r.passed);
    expect(failed('image-tag')[0].message).toMatch(/nginx:latest.*latest.*|quay.io\/x\/y.*no tag/s);
    expect(failed('image-tag')[0].message).toContain('quay.io/x/y" has no tag');
    expect(failed('trusted-registry')[0].message).toContain('untrusted registry "docker.io"');
    expect(failed('run-as-non-root')).toHaveLength(1);
    expect(failed('no-privilege-escalation')).toHaveLength(1);
    expect(failed('no-privileged')[0].message).toContain('container "app"');
    expect(failed('no-host-namespaces')[0].message).toBe('hostNetwork is true');
    expect(failed('resource-requests')).toHaveLength(1);
    expect(failed('probes')).toHaveLength(1);
    expect(failed('replicas')[0].message).toBe('replicas is 1');
    expect(failed('pod-disruption-budget')).toHaveLength(1);
    expect(failed('no-plain-secrets').map(r => r.object.kind).sort()).toEqual(['ConfigMap', 'Deployment']);
    expect(failed('no-plain-secrets').find(r => r.object.kind === 'ConfigMap')!.message).not.toContain('color');
    expect(failed('service-type')[0]).toMatchObject({
      severity: 'error',
      object: { kind: 'Service', name: 'lb' },
      message: 'type LoadBalancer is not allowed',
    });
    expect(failed('service-type')[0].fix).toMatch(/ClusterIP/);
    expect(formatPolicyFailures(report)).toContain('[no-privileged] Deployment/bad');
  });

  it('takes severities and mode from config-like options', () => {
    const warnOnly = new PolicyEngine({ mode: 'warn' }).checkYaml(bad);
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
        'service-type': 'off',
      },
    }).checkYaml(bad);
    expect(relaxed.results.some(r => r.ruleId === 'no-privileged')).toBe(false);
    expect(relaxed.passed).toBe(true);
    expect(relaxed.summary.warnings).toBeGreaterThan(0);

    const off = new PolicyEngine({ mode: 'off' }).checkYaml(bad);
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
    const report = new PolicyEngine({ rules: [teamLabel], mode: 'enforce' }).checkYaml(good);
    expect(report.results.filter(r => r.ruleId === 'team-label' && !r.passed)).toHaveLength(3);
    expect(report.blocking).toBe(true);
    expect(() => new PolicyEngine({ rules: [{ ...teamLabel, id: 'image-tag' }] })).toThrow(/Duplicate/);
  });

  it('parses images and multi-doc YAML', () => {
    expect(parseImage('nginx')).toEqual({ registry: 'docker.io', path: 'nginx', tag: undefined, digest: undefined });
    expect(parseImage('localhost:5000/a/b:1')).toMatchObject({ registry: 'localhost:5000', path: 'a/b', tag: '1' });
    expect(parseImage('ghcr.io/o/i@sha256:abc')).toMatchObject({ registry: 'ghcr.io', digest: 'sha256:abc' });
    expect(parseManifests('---\n---\nkind: List\nitems: [{kind: A}, {kind: B}]\n')).toHaveLength(2);
    expect(() => parseManifests('a: [')).toThrow(/not valid YAML/);
  });
});
