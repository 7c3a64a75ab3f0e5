import { PolicyEngine } from './PolicyEngine';
import { KubeObject } from './types';

const engine = new PolicyEngine();
const RBAC = 'rbac.authorization.k8s.io/v1';
const failed = (o: KubeObject, id: string) =>
  engine.check([o]).results.filter(r => r.ruleId === id && !r.passed);
const passedOn = (o: KubeObject, id: string) =>
  engine.check([o]).results.filter(r => r.ruleId === id && r.passed);

const binding = (
  kind: string,
  roleRef: any,
  subjects: any[] = [{ kind: 'ServiceAccount', name: 'app', namespace: 't' }],
): KubeObject => ({
  apiVersion: RBAC,
  kind,
  metadata: { name: 'b' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
  subjects,
});
const role = (kind: string, rules: any[]): KubeObject => ({
  apiVersion: RBAC,
  kind,
  metadata: { name: 'r' },
  rules,
});

describe('RBAC rules (error by default)', () => {
  it('rbac-cluster-admin: cluster-admin anywhere, admin/edit at cluster scope', () => {
    expect(
      failed(
        binding('ClusterRoleBinding', {
          kind: 'ClusterRole',
          name: 'cluster-admin',
        }),
        'rbac-cluster-admin',
      )[0],
    ).toMatchObject({
      severity: 'error',
      message: 'binds ClusterRole cluster-admin',
    });
    expect(
      failed(
        binding('RoleBinding', { kind: 'ClusterRole', name: 'cluster-admin' }),
        'rbac-cluster-admin',
      ),
    ).toHaveLength(1);
    expect(
      failed(
        binding('ClusterRoleBinding', { kind: 'ClusterRole', name: 'admin' }),
        'rbac-cluster-admin',
      )[0].message,
    ).toBe('binds ClusterRole admin in every namespace');
    // The tenant pattern: admin through a RoleBinding in one namespace is fine.
    expect(
      passedOn(
        binding('RoleBinding', { kind: 'ClusterRole', name: 'admin' }),
        'rbac-cluster-admin',
      ),
    ).toHaveLength(1);
    expect(
      passedOn(
        binding('ClusterRoleBinding', { kind: 'ClusterRole', name: 'view' }),
        'rbac-cluster-admin',
      ),
    ).toHaveLength(1);
    expect(
      engine.check([
        binding('ClusterRoleBinding', {
          kind: 'ClusterRole',
          name: 'cluster-admin',
        }),
      ]).blocking,
    ).toBe(true);
  });

  it('rbac-broad-subjects: everyone, anonymous, every service account', () => {
    for (const [kind, name] of [
      ['Group', 'system:authenticated'],
      ['Group', 'system:unauthenticated'],
      ['User', 'system:anonymous'],
      ['Group', 'system:serviceaccounts'],
    ]) {
      const r = failed(
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [
          { kind, name },
        ]),
        'rbac-broad-subjects',
      );
      expect(r.map(x => x.message)).toEqual([
        `grants Role reader to ${kind} ${name}`,
      ]);
    }
    expect(
      passedOn(
        binding('RoleBinding', { kind: 'Role', name: 'reader' }, [
          { kind: 'Group', name: 'team-a' },
        ]),
        'rbac-broad-subjects',
      ),
    ).toHaveLength(1);
  });

  it('rbac-wildcard: "*" verbs or resources', () => {
    expect(
      failed(
        role('Role', [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }]),
        'rbac-wildcard',
      )[0].message,
    ).toBe('rule 1 grants every verb (*) on pods');
    expect(
      failed(
        role('ClusterRole', [
          { apiGroups: ['apps'], resources: ['*'], verbs: ['get'] },
        ]),
        'rbac-wildcard',
      ),
    ).toHaveLength(1);
    expect(
      passedOn(
        role('Role', [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        ]),
        'rbac-wildcard',
      ),
    ).toHaveLength(1);
  });

  it('rbac-escalation: escalate, bind, impersonate', () => {
    expect(
      failed(
        role('ClusterRole', [
          {
            apiGroups: [''],
            resources: ['users', 'groups'],
            verbs: ['impersonate'],
          },
        ]),
        'rbac-escalation',
      )[0].message,
    ).toBe('rule 1 grants impersonate on users, groups');
    expect(
      failed(
        role('Role', [
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['roles'],
            verbs: ['get'],
          },
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['roles'],
            verbs: ['bind', 'escalate'],
          },
        ]),
        'rbac-escalation',
      )[0].message,
    ).toBe('rule 2 grants bind, escalate on roles');
    expect(
      passedOn(
        role('Role', [
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['roles'],
            verbs: ['get'],
          },
        ]),
        'rbac-escalation',
      ),
    ).toHaveLength(1);
  });

  it('rbac-cluster-secrets: secrets read at cluster scope, not in a namespaced Role', () => {
    expect(
      failed(
        role('ClusterRole', [
          { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
        ]),
        'rbac-cluster-secrets',
      )[0].message,
    ).toContain('grants list, watch on secrets');
    expect(
      passedOn(
        role('ClusterRole', [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
        ]),
        'rbac-cluster-secrets',
      ),
    ).toHaveLength(1);
    expect(
      engine
        .check([
          role('Role', [
            { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
          ]),
        ])
        .results.some(r => r.ruleId === 'rbac-cluster-secrets'),
    ).toBe(false);
  });

  it('rbac-pod-exec (warning): exec/attach into pods', () => {
    const r = failed(
      role('Role', [
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      ]),
      'rbac-pod-exec',
    );
    expect(r[0]).toMatchObject({
      severity: 'warning',
      message: 'rule 1 grants create on pods/exec',
    });
    expect(
      passedOn(
        role('Role', [
          { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        ]),
        'rbac-pod-exec',
      ),
    ).toHaveLength(1);
  });

  it('a malformed role or binding is reported, not skipped', () => {
    expect(
      failed(role('ClusterRole', 'everything' as any), 'rbac-wildcard')[0]
        .message,
    ).toBe('rules is not a list of rules');
    expect(
      failed(
        {
          apiVersion: RBAC,
          kind: 'ClusterRoleBinding',
          metadata: { name: 'b' },
        },
        'rbac-cluster-admin',
      )[0].message,
    ).toBe('roleRef is missing or malformed');
  });

  it('only objects of the RBAC API group are judged as RBAC', () => {
    const lookalike = {
      ...role('Role', [{ verbs: ['*'], resources: ['*'] }]),
      apiVersion: 'example.com/v1',
    };
    expect(
      engine.check([lookalike]).results.some(r => r.ruleId.startsWith('rbac-')),
    ).toBe(false);
  });
});
