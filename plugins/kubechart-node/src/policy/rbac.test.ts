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

  it('refuses a binding of a role that requests ServiceAccount tokens or impersonates, even with rbac-escalation off', () => {
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
      const off = {
        severities: { 'rbac-escalation': 'off', 'rbac-wildcard': 'off' },
      };
      expect(failures(objects, 'rbac-cluster-admin', off)).toEqual([
        `Role/tokens: ${grants}: whoever a binding of it names could ${identity}; ${unbound}`,
        `RoleBinding/tokens: binds Role tokens, whose ${grants}; its subjects could ${identity}`,
      ]);
      expect(report(objects, off).blocking).toBe(true);
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
        { severities: { 'rbac-wildcard': 'off' } },
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
        { severities: { 'rbac-wildcard': 'off' } },
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
