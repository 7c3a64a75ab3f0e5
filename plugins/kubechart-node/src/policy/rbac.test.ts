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
  it('rbac-cluster-admin: cluster-admin anywhere, admin/edit at cluster scope, view allowed', () => {
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
    // view is read-only, at cluster scope too.
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

  describe('rbac-cluster-admin: a binding whose subjects could remove the baseline KubeChart keeps', () => {
    const check = (objects: KubeObject[], options = {}) =>
      new PolicyEngine(options)
        .check(objects, { namespace: 't' })
        .results.filter(r => r.ruleId === 'rbac-cluster-admin');
    const named = (o: KubeObject, name: string, namespace?: string) => ({
      ...o,
      metadata: { name, ...(namespace ? { namespace } : {}) },
    });
    const writer = (kind: string, name: string, rule: any) =>
      named(role(kind, [rule]), name);
    const consequence =
      'its subjects could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more';

    it('refuses a RoleBinding of the built-in admin or edit ClusterRole in the namespace, as of cluster-admin', () => {
      const admin = binding('RoleBinding', {
        kind: 'ClusterRole',
        name: 'admin',
      });
      expect(check([admin])).toEqual([
        expect.objectContaining({
          severity: 'error',
          passed: false,
          message: `binds ClusterRole admin, which may change networkpolicies, roles, rolebindings; ${consequence}`,
        }),
      ]);
      expect(
        check([
          binding('RoleBinding', { kind: 'ClusterRole', name: 'edit' }),
        ])[0].message,
      ).toBe(
        `binds ClusterRole edit, which may change networkpolicies; ${consequence}`,
      );
      expect(
        check([
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'cluster-admin',
          }),
        ])[0].message,
      ).toBe('binds ClusterRole cluster-admin');
      expect(engine.check([admin]).blocking).toBe(true);
      // The fix no longer points at admin.
      expect(check([admin])[0].fix).not.toMatch(/\badmin\b/);
    });

    it('refuses a binding of a Role or ClusterRole of the manifests that writes networkpolicies, RBAC, quotas, limits or everything', () => {
      const cases: Array<[any, string]> = [
        [
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
            verbs: ['get', 'delete'],
          },
          'rule 1 grants delete on networkpolicies',
        ],
        [
          {
            apiGroups: ['rbac.authorization.k8s.io'],
            resources: ['rolebindings', 'roles'],
            verbs: ['create'],
          },
          'rule 1 grants create on rolebindings, roles',
        ],
        [
          {
            apiGroups: [''],
            resources: ['resourcequotas', 'limitranges'],
            verbs: ['patch', 'update'],
          },
          'rule 1 grants patch, update on resourcequotas, limitranges',
        ],
        [
          { apiGroups: ['*'], resources: ['*'], verbs: ['deletecollection'] },
          'rule 1 grants deletecollection on *',
        ],
        [
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
            verbs: ['*'],
          },
          'rule 1 grants * on networkpolicies',
        ],
      ];
      for (const [rule, grants] of cases) {
        expect(
          check([
            writer('Role', 'grabber', rule),
            binding('RoleBinding', { kind: 'Role', name: 'grabber' }),
          ]).map(r => r.message),
        ).toEqual([`binds Role grabber, whose ${grants}; ${consequence}`]);
        expect(
          check([
            writer('ClusterRole', 'grabber', rule),
            binding('RoleBinding', { kind: 'ClusterRole', name: 'grabber' }),
          ]).map(r => r.message),
        ).toEqual([
          `binds ClusterRole grabber, whose ${grants}; ${consequence}`,
        ]);
      }
      // A role of the manifests that writes only the workload's own kinds, and view, pass.
      expect(
        check([
          writer('Role', 'settings', {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'update'],
          }),
          named(
            binding('RoleBinding', { kind: 'Role', name: 'settings' }),
            'settings',
          ),
          named(
            binding('RoleBinding', { kind: 'ClusterRole', name: 'view' }),
            'viewer',
          ),
        ]).map(r => [r.object.name, r.passed]),
      ).toEqual([
        ['settings', true],
        ['viewer', true],
      ]);
    });

    it('refuses, fail closed, a binding of a role whose rights it cannot read from the manifests', () => {
      expect(
        check([
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'platform-reader',
          }),
        ])[0].message,
      ).toBe(
        "binds ClusterRole platform-reader, which the manifests do not define: what it grants cannot be checked (of the cluster's own roles only view is known to be read-only)",
      );
      expect(
        check([binding('RoleBinding', { kind: 'Role', name: 'reader' })])[0]
          .message,
      ).toBe(
        'binds Role reader, which the manifests do not define in namespace t: what it grants cannot be checked',
      );
      // A Role of that name in another namespace is not the one bound.
      expect(
        check([
          named(
            role('Role', [
              { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
            ]),
            'reader',
            'other',
          ),
          binding('RoleBinding', { kind: 'Role', name: 'reader' }),
        ]).find(r => r.object.kind === 'RoleBinding')!.message,
      ).toMatch(/^binds Role reader, which the manifests do not define/);
      expect(
        check([
          {
            ...named(role('ClusterRole', []), 'aggregated'),
            aggregationRule: {
              clusterRoleSelectors: [{ matchLabels: { team: 'a' } }],
            },
          },
          binding('RoleBinding', { kind: 'ClusterRole', name: 'aggregated' }),
        ]).find(r => r.object.kind === 'RoleBinding')!.message,
      ).toBe(
        'binds ClusterRole aggregated, whose rules other ClusterRoles make up (aggregationRule): what it grants cannot be checked',
      );
      expect(
        check([
          named(role('Role', 'everything' as any), 'odd'),
          binding('RoleBinding', { kind: 'Role', name: 'odd' }),
        ]).find(r => r.object.kind === 'RoleBinding')!.message,
      ).toBe(
        'binds Role odd, whose rules is not a list of rules: what it grants cannot be checked',
      );
      expect(
        check([binding('RoleBinding', { kind: 'Widget', name: 'w' })])[0]
          .message,
      ).toBe('roleRef kind "Widget" is neither Role nor ClusterRole');
    });

    it('lets the platform team exempt a binding of a ClusterRole it provides', () => {
      const [result] = check(
        [
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'platform-reader',
          }),
        ],
        {
          exceptions: [
            {
              rule: 'rbac-cluster-admin',
              namespace: 't',
              kind: 'RoleBinding',
              name: 'b',
              reason: 'platform-reader only reads metrics',
            },
          ],
        },
      );
      expect(result).toMatchObject({
        passed: false,
        exempt: { reason: 'platform-reader only reads metrics' },
      });
    });
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

  it("rbac-broad-subjects: a namespace's every service account, unless the role only reads", () => {
    const broad = (kind: string, name: string, rules?: any[]) => {
      const objects: KubeObject[] = [
        binding('RoleBinding', { kind, name }, [
          {
            kind: 'Group',
            name: 'system:serviceaccounts:t',
            apiGroup: 'rbac.authorization.k8s.io',
          },
        ]),
      ];
      if (rules) objects.unshift({ ...role(kind, rules), metadata: { name } });
      return engine
        .check(objects, { namespace: 't' })
        .results.filter(
          r =>
            r.ruleId === 'rbac-broad-subjects' &&
            r.object.kind === 'RoleBinding',
        )
        .map(r => (r.passed ? 'passed' : r.message));
    };
    expect(
      broad('Role', 'settings', [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['get', 'create'],
        },
      ]),
    ).toEqual([
      'grants Role settings to Group system:serviceaccounts:t (every ServiceAccount of namespace t): Role settings does not only read (rule 1 grants create)',
    ]);
    expect(broad('ClusterRole', 'edit')).toEqual([
      'grants ClusterRole edit to Group system:serviceaccounts:t (every ServiceAccount of namespace t): ClusterRole edit does not only read',
    ]);
    expect(broad('ClusterRole', 'platform-reader')).toEqual([
      'grants ClusterRole platform-reader to Group system:serviceaccounts:t (every ServiceAccount of namespace t): ClusterRole platform-reader, which the manifests do not define, cannot be told to only read',
    ]);
    expect(broad('ClusterRole', 'view')).toEqual(['passed']);
    expect(
      broad('Role', 'reader', [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['get', 'list', 'watch'],
        },
      ]),
    ).toEqual(['passed']);
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
