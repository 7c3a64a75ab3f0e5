import { ConfigReader } from '@backstage/config';
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
    const check = (
      objects: KubeObject[],
      options = {},
      ruleId = 'rbac-cluster-admin',
    ) =>
      new PolicyEngine(options)
        .check(objects, { namespace: 't' })
        .results.filter(r => r.ruleId === ruleId);
    const unknown = (objects: KubeObject[], options = {}) =>
      check(objects, options, 'rbac-unknown-role');
    const named = (o: KubeObject, name: string, namespace?: string) => ({
      ...o,
      metadata: { name, ...(namespace ? { namespace } : {}) },
    });
    const writer = (kind: string, name: string, rule: any) =>
      named(role(kind, [rule]), name);
    const consequence =
      'its subjects could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more';
    const identity =
      'and act as the ServiceAccount KubeChart deploys with (admin in the namespace) or another identity';
    const anyAccount =
      'use any ServiceAccount of the namespace (run pods as it, request its tokens, impersonate it)';

    it('refuses a RoleBinding of the built-in admin or edit ClusterRole in the namespace, as of cluster-admin', () => {
      const admin = binding('RoleBinding', {
        kind: 'ClusterRole',
        name: 'admin',
      });
      expect(check([admin])).toEqual([
        expect.objectContaining({
          severity: 'error',
          passed: false,
          message: `binds ClusterRole admin, which may change networkpolicies, roles, rolebindings and ${anyAccount}; ${consequence}, ${identity}`,
        }),
      ]);
      expect(
        check([
          binding('RoleBinding', { kind: 'ClusterRole', name: 'edit' }),
        ])[0].message,
      ).toBe(
        `binds ClusterRole edit, which may change networkpolicies and ${anyAccount}; ${consequence}, ${identity}`,
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
        // The role itself is refused too (see below); here, what the binding says.
        expect(
          check([
            writer('Role', 'grabber', rule),
            binding('RoleBinding', { kind: 'Role', name: 'grabber' }),
          ])
            .filter(r => r.object.kind === 'RoleBinding')
            .map(r => r.message),
        ).toEqual([`binds Role grabber, whose ${grants}; ${consequence}`]);
        expect(
          check([
            writer('ClusterRole', 'grabber', rule),
            binding('RoleBinding', { kind: 'ClusterRole', name: 'grabber' }),
          ])
            .filter(r => r.object.kind === 'RoleBinding')
            .map(r => r.message),
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
        ]).map(r => [`${r.object.kind}/${r.object.name}`, r.passed]),
      ).toEqual([
        ['Role/settings', true],
        ['RoleBinding/settings', true],
        ['RoleBinding/viewer', true],
      ]);
    });

    it('refuses, fail closed and under rbac-unknown-role, a binding of a role whose rights it cannot read from the manifests', () => {
      // rbac-cluster-admin does not judge what it cannot read: an exception for that is for rbac-unknown-role alone.
      expect(
        check([
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'platform-reader',
          }),
        ]).map(r => r.passed),
      ).toEqual([true]);
      expect(
        unknown([
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'platform-reader',
          }),
        ])[0].message,
      ).toBe(
        "binds ClusterRole platform-reader, which the manifests do not define: what it grants cannot be checked (of the cluster's own roles only view is known to be read-only)",
      );
      expect(
        unknown([binding('RoleBinding', { kind: 'Role', name: 'reader' })])[0]
          .message,
      ).toBe(
        'binds Role reader, which the manifests do not define in namespace t: what it grants cannot be checked',
      );
      // A Role of that name in another namespace is not the one bound.
      expect(
        unknown([
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
        unknown([
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
        unknown([
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
      const [result] = unknown(
        [
          binding('RoleBinding', {
            kind: 'ClusterRole',
            name: 'platform-reader',
          }),
        ],
        {
          exceptions: [
            {
              rule: 'rbac-unknown-role',
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
      failed(
        role('ClusterRole', [{ nonResourceURLs: ['*'], verbs: ['get'] }]),
        'rbac-wildcard',
      )[0].message,
    ).toBe('rule 1 grants get on every non-resource URL (*)');
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
      failed(
        role('ClusterRole', [
          {
            apiGroups: ['*'],
            resources: ['*/exec', '*/attach', 'pods/portforward'],
            verbs: ['get'],
          },
        ]),
        'rbac-pod-exec',
      )[0].message,
    ).toBe('rule 1 grants get on */exec, */attach, pods/portforward');
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

describe('RBAC rights that reach the identity KubeChart deploys with, or the baseline, wherever they are bound', () => {
  const scope = { namespaces: ['t'], defaultNamespace: 't' };
  const report = (objects: KubeObject[], options = {}) =>
    new PolicyEngine(options).check(objects, { scope });
  /** Failed results of a rule, as `<Kind>/<name>: <message>`. */
  const failures = (objects: KubeObject[], id: string, options = {}) =>
    report(objects, options)
      .results.filter(r => r.ruleId === id && !r.passed)
      .map(r => `${r.object.kind}/${r.object.name}: ${r.message}`);
  const named = (o: KubeObject, name: string, annotations?: any) => ({
    ...o,
    metadata: { name, ...(annotations ? { annotations } : {}) },
  });
  const app = { kind: 'ServiceAccount', name: 'app', namespace: 't' };
  const roleOf = (name: string, rules: any[], annotations?: any) =>
    named(role('Role', rules), name, annotations);
  const bindingOf = (name: string, roleRef: any, subjects: any[] = [app]) =>
    named(binding('RoleBinding', roleRef, subjects), name);
  const identity =
    'act as the ServiceAccount KubeChart deploys with (admin in the namespace) or another identity';
  const baseline =
    'remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more';
  const unbound =
    'refused whether or not these manifests bind it: a binding outside them (one in the cluster, one helm keeps with helm.sh/resource-policy: keep, a hook checked apart) would grant it';

  it('refuses a binding of a role that requests ServiceAccount tokens or impersonates, even with rbac-escalation exempted', () => {
    const cases: Array<[any, string]> = [
      [
        {
          apiGroups: [''],
          resources: ['serviceaccounts/token'],
          verbs: ['create'],
        },
        'rule 1 grants create on serviceaccounts/token',
      ],
      [
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['*'] },
        'rule 1 grants * on serviceaccounts/token',
      ],
      [
        {
          apiGroups: [''],
          resources: ['serviceaccounts'],
          verbs: ['impersonate'],
        },
        'rule 1 grants impersonate on serviceaccounts',
      ],
      [
        {
          apiGroups: [''],
          resources: ['users', 'groups'],
          verbs: ['impersonate'],
        },
        'rule 1 grants impersonate on users, groups',
      ],
    ];
    for (const [rule, grants] of cases) {
      const objects = [
        roleOf('tokens', [rule]),
        bindingOf('tokens', { kind: 'Role', name: 'tokens' }),
      ];
      const exempted = {
        exceptions: ['rbac-escalation', 'rbac-wildcard'].map(id => ({
          rule: id,
          namespace: 't',
          reason: 'judged by rbac-cluster-admin here',
        })),
      };
      expect(failures(objects, 'rbac-cluster-admin', exempted)).toEqual([
        `Role/tokens: ${grants}: whoever a binding of it names could ${identity}; ${unbound}`,
        `RoleBinding/tokens: binds Role tokens, whose ${grants}; its subjects could ${identity}`,
      ]);
      expect(report(objects, exempted).blocking).toBe(true);
    }
    // Reading ServiceAccounts, or creating them, hands no one another identity.
    expect(
      failures(
        [
          roleOf('accounts', [
            {
              apiGroups: [''],
              resources: ['serviceaccounts'],
              verbs: ['get', 'list', 'create'],
            },
          ]),
          bindingOf('accounts', { kind: 'Role', name: 'accounts' }),
        ],
        'rbac-cluster-admin',
      ),
    ).toEqual([]);
  });

  it('refuses a Role or ClusterRole that grants those rights whether or not a binding in the same manifests names it', () => {
    const deletesPolicies = [
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['networkpolicies'],
        verbs: ['get', 'delete'],
      },
    ];
    const widened = roleOf('np', deletesPolicies);
    // An upgrade that widens a Role whose binding an earlier run left (helm.sh/resource-policy: keep).
    expect(failures([widened], 'rbac-cluster-admin')).toEqual([
      `Role/np: rule 1 grants delete on networkpolicies: whoever a binding of it names could ${baseline}; ${unbound}`,
    ]);
    // A hook that replaces a harmless Role of the same name (helm 3 checks hooks apart).
    const hook = roleOf('np', deletesPolicies, {
      'helm.sh/hook': 'pre-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(report([hook]).blocking).toBe(true);
    expect(
      failures(
        [
          named(
            role('ClusterRole', [
              { apiGroups: ['*'], resources: ['*'], verbs: ['create'] },
            ]),
            'all',
          ),
        ],
        'rbac-cluster-admin',
      ),
    ).toEqual([
      `ClusterRole/all: rule 1 grants create on *: whoever a binding of it names could ${baseline}, and ${identity}; ${unbound}`,
    ]);
  });

  it('lets an exception for a binding of a role it cannot read exempt only that, not the same binding of admin or cluster-admin', () => {
    const exceptions = [
      {
        rule: 'rbac-unknown-role',
        namespace: 't',
        kind: 'RoleBinding',
        name: 'metrics',
        reason: 'platform-reader only reads metrics',
      },
    ];
    const of = (name: string) =>
      report([bindingOf('metrics', { kind: 'ClusterRole', name })], {
        exceptions,
      });
    const reader = of('platform-reader');
    expect(
      reader.results
        .filter(r => !r.passed)
        .map(r => [r.ruleId, r.message, r.exempt?.reason]),
    ).toEqual([
      [
        'rbac-unknown-role',
        "binds ClusterRole platform-reader, which the manifests do not define: what it grants cannot be checked (of the cluster's own roles only view is known to be read-only)",
        'platform-reader only reads metrics',
      ],
    ]);
    expect(reader.blocking).toBe(false);
    for (const name of ['admin', 'edit', 'cluster-admin']) {
      const r = of(name);
      expect(r.blocking).toBe(true);
      expect(
        r.results.filter(x => !x.passed && !x.exempt).map(x => x.ruleId),
      ).toEqual(['rbac-cluster-admin']);
    }
    // Unexempted, the unreadable role is refused under its own id, with a fix naming it.
    const [unknown] = report([
      bindingOf('metrics', { kind: 'ClusterRole', name: 'platform-reader' }),
    ]).results.filter(r => !r.passed);
    expect(unknown).toMatchObject({
      ruleId: 'rbac-unknown-role',
      severity: 'error',
    });
    expect(unknown.fix).toContain('rbac-unknown-role');
  });

  it("rbac-broad-subjects: reading every Secret is more than reading, for a namespace's every service account", () => {
    const every = [
      {
        kind: 'Group',
        name: 'system:serviceaccounts:t',
        apiGroup: 'rbac.authorization.k8s.io',
      },
    ];
    const broad = (rules: any[]) =>
      failures(
        [
          roleOf('reader', rules),
          bindingOf('reader', { kind: 'Role', name: 'reader' }, every),
        ],
        'rbac-broad-subjects',
      );
    expect(
      broad([
        {
          apiGroups: [''],
          resources: ['secrets'],
          verbs: ['get', 'list', 'watch'],
        },
      ]),
    ).toEqual([
      "RoleBinding/reader: grants Role reader to Group system:serviceaccounts:t (every ServiceAccount of namespace t): Role reader reads Secrets (rule 1 grants get, list, watch on secrets): every pod of the namespace would read every Secret of it, helm's release records with their values and ServiceAccount tokens included",
    ]);
    expect(
      broad([{ apiGroups: ['*'], resources: ['*'], verbs: ['get'] }]),
    ).toEqual([
      "RoleBinding/reader: grants Role reader to Group system:serviceaccounts:t (every ServiceAccount of namespace t): Role reader reads Secrets (rule 1 grants get on *): every pod of the namespace would read every Secret of it, helm's release records with their values and ServiceAccount tokens included",
    ]);
    // Reading what is not a Secret stays a reading role.
    expect(
      broad([
        {
          apiGroups: ['', 'apps'],
          resources: ['configmaps', 'deployments'],
          verbs: ['get', 'list', 'watch'],
        },
      ]),
    ).toEqual([]);
  });

  it('passes what ordinary charts grant: an operator Role over its own kinds, view, and writing events', () => {
    const operator = roleOf('operator', [
      {
        apiGroups: [''],
        resources: ['pods', 'configmaps', 'services', 'persistentvolumeclaims'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'statefulsets'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      {
        apiGroups: ['', 'events.k8s.io'],
        resources: ['events'],
        verbs: ['create', 'patch'],
      },
    ]);
    const events = roleOf('events', [
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    const r = report([
      operator,
      bindingOf('operator', { kind: 'Role', name: 'operator' }),
      events,
      bindingOf('events', { kind: 'Role', name: 'events' }),
      bindingOf('app-view', { kind: 'ClusterRole', name: 'view' }),
      bindingOf('everyone-view', { kind: 'ClusterRole', name: 'view' }, [
        {
          kind: 'Group',
          name: 'system:serviceaccounts:t',
          apiGroup: 'rbac.authorization.k8s.io',
        },
      ]),
    ]);
    expect(r.results.filter(x => !x.passed)).toEqual([]);
    expect(r.blocking).toBe(false);
    expect(
      r.results
        .filter(x => x.ruleId === 'rbac-cluster-admin')
        .map(x => `${x.object.kind}/${x.object.name}`),
    ).toEqual([
      'Role/operator',
      'RoleBinding/operator',
      'Role/events',
      'RoleBinding/events',
      'RoleBinding/app-view',
      'RoleBinding/everyone-view',
    ]);
  });
});

describe('RBAC rules guard what a chart grants: they block in every policy mode', () => {
  const t = { namespace: 't' };
  const bindingOf = (name: string, roleRef: any, kind = 'RoleBinding') => ({
    ...binding(kind, roleRef),
    metadata: { name },
  });
  const escalating = role('Role', [
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['roles'],
      verbs: ['escalate'],
    },
  ]);
  const privileged: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'nginx:1.27',
          securityContext: { privileged: true },
        },
      ],
    },
  };

  it('blocks a binding of admin, an escalating role and an unreadable role in warn and off mode, as in enforce', () => {
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const engineIn = new PolicyEngine({ mode });
      for (const [objects, ruleId] of [
        [
          [bindingOf('b', { kind: 'ClusterRole', name: 'admin' })],
          'rbac-cluster-admin',
        ],
        [[escalating], 'rbac-escalation'],
        [
          [bindingOf('b', { kind: 'ClusterRole', name: 'platform-reader' })],
          'rbac-unknown-role',
        ],
      ] as const) {
        const report = engineIn.check([...objects], t);
        expect({
          mode,
          blocking: report.blocking,
          failed: report.results
            .filter(r => !r.passed && r.ruleId.startsWith('rbac-'))
            .map(r => [r.ruleId, r.severity]),
        }).toEqual({
          mode,
          blocking: true,
          failed: expect.arrayContaining([[ruleId, 'error']]),
        });
      }
    }
  });

  it('leaves the other rules to the mode: advice in warn mode, not judged in off mode', () => {
    const warn = new PolicyEngine({ mode: 'warn' }).check(
      [
        privileged,
        role('Role', [
          { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
        ]),
      ],
      t,
    );
    expect(warn.passed).toBe(false);
    expect(warn.blocking).toBe(false);
    const off = new PolicyEngine({ mode: 'off' }).check(
      [privileged, bindingOf('b', { kind: 'ClusterRole', name: 'view' })],
      t,
    );
    expect(off.results.some(r => r.ruleId === 'no-privileged')).toBe(false);
    expect(off.blocking).toBe(false);
  });

  it('judges an extension rule that blocks in every mode as an error, whatever its default severity, unless config sets it otherwise', () => {
    const extension = {
      id: 'no-crd-writes',
      defaultSeverity: 'warning' as const,
      alwaysBlocks: true,
      description: 'no CustomResourceDefinitions',
      fix: 'Leave CRDs to the platform team.',
      check: (o: KubeObject) =>
        o.kind === 'CustomResourceDefinition' ? ['defines a CRD'] : undefined,
    };
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    };
    const withIt = new PolicyEngine({ mode: 'warn', rules: [extension] });
    expect(
      withIt.listRules().find(r => r.id === 'no-crd-writes')?.severity,
    ).toBe('error');
    const report = withIt.check([crd]);
    expect(
      report.results
        .filter(r => r.ruleId === 'no-crd-writes')
        .map(r => [r.severity, r.passed]),
    ).toEqual([['error', false]]);
    expect(report.blocking).toBe(true);
    expect(
      () =>
        new PolicyEngine({
          rules: [extension],
          severities: { 'no-crd-writes': 'info' },
        }),
    ).toThrow(
      /^kubechart.policy.rules.no-crd-writes cannot be set to info: policy rule no-crd-writes blocks in every mode/,
    );
  });

  it('refuses config that would make them advice, and still lets an exception exempt one object with its reason', () => {
    for (const severity of ['warning', 'info', 'off'] as const) {
      expect(
        () =>
          new PolicyEngine({ severities: { 'rbac-cluster-admin': severity } }),
      ).toThrow(
        /^kubechart.policy.rules.rbac-cluster-admin cannot be set to (warning|info|off): policy rule rbac-cluster-admin blocks in every mode/,
      );
    }
    expect(() =>
      PolicyEngine.fromConfig(
        new ConfigReader({
          kubechart: { policy: { rules: { 'rbac-wildcard': 'warning' } } },
        }),
      ),
    ).toThrow(
      'kubechart.policy.rules.rbac-wildcard cannot be set to warning: policy rule rbac-wildcard blocks in every mode (it guards a trust boundary, not advice), so only error is accepted; exempt one object with kubechart.policy.exceptions',
    );
    // Error is what they are; rbac-pod-exec is advice and stays configurable.
    expect(
      () =>
        new PolicyEngine({
          severities: { 'rbac-escalation': 'error', 'rbac-pod-exec': 'off' },
        }),
    ).not.toThrow();
    const exempted = new PolicyEngine({
      mode: 'warn',
      exceptions: [
        {
          rule: 'rbac-unknown-role',
          namespace: 't',
          name: 'metrics',
          reason: 'platform-reader only reads metrics',
        },
      ],
    }).check(
      [bindingOf('metrics', { kind: 'ClusterRole', name: 'platform-reader' })],
      t,
    );
    expect(exempted.blocking).toBe(false);
    expect(
      exempted.results.find(r => r.ruleId === 'rbac-unknown-role')?.exempt,
    ).toEqual({ reason: 'platform-reader only reads metrics' });
  });
});

describe('rbac-aggregation: a ClusterRole that adds rights to the built-in roles of every namespace', () => {
  const aggregating = (labels: Record<string, string>, rules: any) => ({
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name: 'widgets', labels },
    rules,
  });
  const toView = { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' };
  const toEdit = { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' };
  const toAdmin = { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' };
  const readWidgets = {
    apiGroups: ['example.com'],
    resources: ['widgets'],
    verbs: ['get', 'list', 'watch'],
  };
  const messages = (o: KubeObject, mode: 'enforce' | 'warn' = 'enforce') =>
    new PolicyEngine({ mode })
      .check([o])
      .results.filter(r => r.ruleId === 'rbac-aggregation' && !r.passed)
      .map(r => r.message);

  it('names at most 10 of the rules and labels of one with thousands of them, and counts the rest', () => {
    const labels = Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [
        `team${i}.example.com/aggregate-to-view`,
        'true',
      ]),
    );
    const rules = Array.from({ length: 5000 }, (_, i) => ({
      apiGroups: [''],
      resources: [`things${i}`],
      verbs: ['create'],
    }));
    const [message, ...others] = messages(aggregating(labels, rules));
    expect(others).toEqual([]);
    expect(message).toMatch(
      /^adds its rules to ClusterRole view \(labels team0\.example\.com\/aggregate-to-view, /,
    );
    expect(message).toContain(
      'team9.example.com/aggregate-to-view, …and 490 more)',
    );
    expect(message).not.toContain('team10.example.com');
    expect(message).toContain('rule 10 grants create');
    expect(message).not.toContain('rule 11 ');
    expect(message).toMatch(/…and 4990 more$/);
    expect(message.length).toBeLessThan(3000);
  });

  it('refuses one that adds more than reading, or reading Secrets, to view, edit or admin', () => {
    expect(
      messages(
        aggregating(toView, [
          readWidgets,
          { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        ]),
      ),
    ).toEqual([
      'adds its rules to ClusterRole view (label rbac.authorization.k8s.io/aggregate-to-view) wherever that role is bound, in every namespace: rule 2 grants create on configmaps, more than get, list and watch',
    ]);
    expect(
      messages(
        aggregating({ ...toEdit, ...toAdmin }, [
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies'],
            verbs: ['get', 'create', 'delete'],
          },
        ]),
        'warn',
      ),
    ).toEqual([
      'adds its rules to ClusterRoles edit, admin (labels rbac.authorization.k8s.io/aggregate-to-edit, rbac.authorization.k8s.io/aggregate-to-admin) wherever those roles are bound, in every namespace: rule 1 grants create, delete on networkpolicies: whoever holds those roles could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more',
    ]);
    expect(
      messages(
        aggregating(toAdmin, [
          { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
        ]),
      ),
    ).toEqual([
      'adds its rules to ClusterRole admin (label rbac.authorization.k8s.io/aggregate-to-admin) wherever that role is bound, in every namespace: rule 1 grants get on secrets, reading Secrets',
    ]);
    expect(
      new PolicyEngine({ mode: 'warn' }).check([
        aggregating(toView, [
          { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
        ]),
      ]).blocking,
    ).toBe(true);
  });

  it('refuses connecting into pods, services or nodes, and every non-resource URL, added to view', () => {
    expect(
      messages(
        aggregating(toView, [
          readWidgets,
          {
            apiGroups: [''],
            resources: [
              'pods/exec',
              'pods/attach',
              'pods/portforward',
              'pods/proxy',
              'services/proxy',
              'nodes/proxy',
              'pods/log',
            ],
            verbs: ['get'],
          },
          {
            apiGroups: ['*'],
            resources: ['*/exec', '*/attach'],
            verbs: ['get'],
          },
          { nonResourceURLs: ['*'], verbs: ['get'] },
        ]),
      ),
    ).toEqual([
      'adds its rules to ClusterRole view (label rbac.authorization.k8s.io/aggregate-to-view) wherever that role is bound, in every namespace: rule 2 grants get on pods/exec, pods/attach, pods/portforward, pods/proxy, services/proxy, nodes/proxy, connecting into pods, services or nodes (exec, attach, port-forward, proxy), rule 3 grants get on */exec, */attach, connecting into pods, services or nodes (exec, attach, port-forward, proxy), rule 4 grants get on every non-resource URL (*)',
    ]);
  });

  it('judges every label whose name starts with aggregate-to-, whatever its prefix, as adding to view', () => {
    const writes = [
      { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['create'] },
    ];
    expect(
      messages(aggregating({ 'aggregate-to-view': 'true' }, writes)),
    ).toEqual([
      'adds its rules to ClusterRole view (label aggregate-to-view) wherever that role is bound, in every namespace: rule 1 grants create on widgets, more than get, list and watch',
    ]);
    // Only the built-in edit and admin are known to take more than reading: fail closed.
    expect(
      messages(
        aggregating({ 'example.com/aggregate-to-edit': 'true' }, writes),
      ),
    ).toEqual([
      'adds its rules to ClusterRole edit (label example.com/aggregate-to-edit) wherever that role is bound, in every namespace: rule 1 grants create on widgets, more than get, list and watch',
    ]);
  });

  it("passes an operator's ClusterRoles that add writing its own kinds to edit and admin, and reading them to view", () => {
    const certManager = (
      name: string,
      labels: Record<string, string>,
      verbs: string[],
    ): KubeObject => ({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: {
        name,
        labels: { 'app.kubernetes.io/name': 'cert-manager', ...labels },
      },
      rules: [
        {
          apiGroups: ['cert-manager.io'],
          resources: ['certificates', 'certificaterequests', 'issuers'],
          verbs,
        },
        {
          apiGroups: ['acme.cert-manager.io'],
          resources: ['challenges', 'orders'],
          verbs,
        },
        {
          apiGroups: ['cert-manager.io'],
          resources: ['certificates/status'],
          verbs,
        },
      ],
    });
    const report = new PolicyEngine().check([
      certManager('cert-manager-view', { ...toView, ...toEdit, ...toAdmin }, [
        'get',
        'list',
        'watch',
      ]),
      certManager('cert-manager-edit', { ...toEdit, ...toAdmin }, [
        'create',
        'delete',
        'deletecollection',
        'patch',
        'update',
      ]),
    ]);
    expect(report.results.filter(r => !r.passed)).toEqual([]);
    expect(report.blocking).toBe(false);
  });

  it('refuses what edit and admin may not take from a chart: guarded rights, Secrets, connecting, "*", escalate and bind', () => {
    const into = (labels: Record<string, string>, rule: any) =>
      messages(aggregating(labels, [rule]))[0]
        ?.split(': ')
        .slice(1)
        .join(': ');
    const cases: Array<[any, string]> = [
      [
        {
          apiGroups: [''],
          resources: ['serviceaccounts/token'],
          verbs: ['create'],
        },
        'rule 1 grants create on serviceaccounts/token: whoever holds that role could act as the ServiceAccount KubeChart deploys with (admin in the namespace) or another identity',
      ],
      [
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['roles'],
          verbs: ['bind', 'escalate'],
        },
        'rule 1 grants bind, escalate on roles, granting roles',
      ],
      [
        {
          apiGroups: [''],
          resources: ['secrets'],
          verbs: ['create', 'update'],
        },
        'rule 1 grants create, update on secrets, rights on Secrets',
      ],
      [
        {
          apiGroups: [''],
          resources: ['pods/exec', 'pods/portforward'],
          verbs: ['create'],
        },
        'rule 1 grants create on pods/exec, pods/portforward, connecting into pods, services or nodes (exec, attach, port-forward, proxy)',
      ],
      [
        { apiGroups: ['example.com'], resources: ['widgets'], verbs: ['*'] },
        'rule 1 grants every verb (*) on widgets',
      ],
      [
        {
          apiGroups: ['example.com'],
          resources: ['*'],
          verbs: ['get', 'update'],
        },
        'rule 1 grants get, update on every resource (*)',
      ],
      [
        { nonResourceURLs: ['*'], verbs: ['get'] },
        'rule 1 grants get on every non-resource URL (*)',
      ],
    ];
    for (const [rule, message] of cases) {
      expect(into(toAdmin, rule)).toBe(message);
    }
  });

  it('refuses one whose added rights it cannot read', () => {
    expect(
      messages({
        ...aggregating(toView, []),
        aggregationRule: {
          clusterRoleSelectors: [{ matchLabels: { team: 'a' } }],
        },
      }),
    ).toEqual([
      'adds its rules to ClusterRole view (label rbac.authorization.k8s.io/aggregate-to-view) wherever that role is bound, in every namespace: its rules are made up of other ClusterRoles (aggregationRule): what it adds cannot be checked',
    ]);
    expect(messages(aggregating(toView, 'everything'))).toEqual([
      'adds its rules to ClusterRole view (label rbac.authorization.k8s.io/aggregate-to-view) wherever that role is bound, in every namespace: rules is not a list of rules: what it adds cannot be checked',
    ]);
  });

  it('passes reading, a ClusterRole without those labels and a Role (Roles are not aggregated)', () => {
    const report = new PolicyEngine().check([
      aggregating({ ...toView, ...toEdit }, [readWidgets]),
      {
        ...aggregating({ team: 'a' }, [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        ]),
        metadata: { name: 'settings', labels: { team: 'a' } },
      },
      {
        ...aggregating(toView, [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        ]),
        kind: 'Role',
      },
    ]);
    expect(
      report.results
        .filter(r => r.ruleId === 'rbac-aggregation')
        .map(r => [`${r.object.kind}/${r.object.name}`, r.passed]),
    ).toEqual([
      ['ClusterRole/widgets', true],
      ['ClusterRole/settings', true],
    ]);
    expect(report.blocking).toBe(false);
  });

  it('refuses a ClusterRole with an aggregationRule itself, in every mode: what it grants cannot be read', () => {
    const aggregated = {
      ...role('ClusterRole', []),
      metadata: { name: 'tenant-reader' },
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'example.com/tenant': 'a' } }],
      },
    };
    const report = new PolicyEngine({ mode: 'warn' }).check([aggregated]);
    expect(
      report.results.filter(r => !r.passed).map(r => [r.ruleId, r.message]),
    ).toEqual([
      [
        'rbac-cluster-admin',
        'its rules are made up of other ClusterRoles (aggregationRule): what it grants cannot be checked; refused whether or not these manifests bind it: a binding outside them (one in the cluster, one helm keeps with helm.sh/resource-policy: keep, a hook checked apart) would grant it',
      ],
    ]);
    expect(report.blocking).toBe(true);
  });
});

describe("the deployer's ClusterRole (kubechart.tenant.deployer.clusterRole) is refused as admin is", () => {
  const t = { namespace: 't' };
  const bindingOf = (kind: string, name: string) => ({
    ...binding(kind, { kind: 'ClusterRole', name }),
    metadata: { name: 'b' },
  });
  const unknownRoleExempted = [
    {
      rule: 'rbac-unknown-role',
      namespace: 't',
      name: 'b',
      reason: 'a platform role',
    },
  ];
  const consequence =
    'its subjects could remove what KubeChart keeps in the namespace (NetworkPolicy kubechart-default-deny, the quota and limits) or grant themselves more, and act as the ServiceAccount KubeChart deploys with (admin in the namespace) or another identity';

  it('refuses a binding of it under rbac-cluster-admin, which an rbac-unknown-role exception does not exempt', () => {
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: {
          tenant: { deployer: { clusterRole: 'tenant-deployer' } },
          policy: { exceptions: unknownRoleExempted },
        },
      }),
    );
    const report = configured.check(
      [bindingOf('RoleBinding', 'tenant-deployer')],
      t,
    );
    expect(
      report.results
        .filter(r => !r.passed && !r.exempt)
        .map(r => [r.ruleId, r.message]),
    ).toEqual([
      [
        'rbac-cluster-admin',
        `binds ClusterRole tenant-deployer, which KubeChart deploys with in tenant namespaces (kubechart.tenant.deployer.clusterRole); ${consequence}`,
      ],
    ]);
    expect(report.blocking).toBe(true);
    expect(
      configured
        .check([bindingOf('ClusterRoleBinding', 'tenant-deployer')], t)
        .results.filter(r => r.ruleId === 'rbac-cluster-admin' && !r.passed)
        .map(r => r.message),
    ).toEqual(['binds ClusterRole tenant-deployer in every namespace']);
    // A ClusterRole of that name in the manifests does not make the role bound any less.
    expect(
      new PolicyEngine({ deployerClusterRole: 'tenant-deployer' }).check(
        [
          {
            ...role('ClusterRole', [
              { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
            ]),
            metadata: { name: 'tenant-deployer' },
          },
          bindingOf('RoleBinding', 'tenant-deployer'),
        ],
        t,
      ).blocking,
    ).toBe(true);
  });

  it("leaves a ClusterRole of that name to rbac-unknown-role when it is not the deployer's", () => {
    const report = new PolicyEngine({ exceptions: unknownRoleExempted }).check(
      [bindingOf('RoleBinding', 'tenant-deployer')],
      t,
    );
    expect(report.blocking).toBe(false);
  });
});
