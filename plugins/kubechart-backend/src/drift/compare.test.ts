import { compareObject, formatPath, shownLive, valueAt } from './compare';
import { addedFields, readOwnership } from './fieldOwners';
import { fieldOwner } from '../__testUtils__/fieldOwner';

const applied = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'registry.example.com/web:1.0.0',
            args: ['--port', '8080'],
            ports: [{ containerPort: 8080 }],
            env: [
              { name: 'MODE', value: 'a' },
              { name: 'API_TOKEN', value: '***' },
            ],
            resources: { requests: { cpu: '0.5', memory: '64Mi' } },
          },
        ],
      },
    },
  },
};

/** What the API server stores for `applied`: defaults, status, and the items in another order. */
function liveOf(change: (l: any) => void = () => undefined) {
  const live: any = JSON.parse(JSON.stringify(applied));
  live.metadata = {
    ...live.metadata,
    uid: 'u1',
    resourceVersion: '7',
    generation: 1,
    creationTimestamp: '2026-12-03T09:00:00Z',
  };
  live.spec.progressDeadlineSeconds = 600;
  live.spec.strategy = { type: 'RollingUpdate' };
  const c = live.spec.template.spec.containers[0];
  c.imagePullPolicy = 'IfNotPresent';
  c.ports = [{ containerPort: 8080, protocol: 'TCP' }];
  c.env = [
    { name: 'API_TOKEN', value: 'the-real-token' },
    { name: 'MODE', value: 'a' },
  ];
  c.resources.requests.cpu = '500m';
  live.spec.template.spec.containers.unshift({ name: 'sidecar', image: 'x' });
  live.status = { replicas: 2, readyReplicas: 2 };
  change(live);
  return live;
}

describe('compareObject', () => {
  it('finds no difference in defaulted fields, status, list order, quantities or redacted values', () => {
    expect(compareObject(applied, liveOf())).toEqual([]);
  });

  it('reports a changed scalar and a changed env value by list-map key, not by position', () => {
    const diffs = compareObject(
      applied,
      liveOf(l => {
        l.spec.replicas = 5;
        l.spec.template.spec.containers[1].env[1].value = 'b';
      }),
    );
    expect(
      diffs.map(d => [formatPath(d.segments), d.expected, d.actual]),
    ).toEqual([
      ['spec.replicas', 2, 5],
      [
        'spec.template.spec.containers[name=web].env[name=MODE].value',
        'a',
        'b',
      ],
    ]);
  });

  it('reports a removed list-map item, a changed atomic list and a changed label', () => {
    const diffs = compareObject(
      applied,
      liveOf(l => {
        l.spec.template.spec.containers[1].env = [
          { name: 'API_TOKEN', value: 'x' },
        ];
        l.spec.template.spec.containers[1].args = ['--port', '9090'];
        l.metadata.labels['app.kubernetes.io/name'] = 'other';
      }),
    );
    expect(diffs.map(d => formatPath(d.segments))).toEqual([
      'metadata.labels["app.kubernetes.io/name"]',
      'spec.template.spec.containers[name=web].args',
      'spec.template.spec.containers[name=web].env[name=MODE]',
    ]);
  });

  it('does not compare a redacted Secret data field, but does compare its plain fields', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      type: 'Opaque',
      data: { password: '***' },
    };
    expect(
      compareObject(secret, { ...secret, data: { password: 'c2VjcmV0' } }),
    ).toEqual([]);
    expect(
      compareObject(secret, {
        ...secret,
        type: 'kubernetes.io/tls',
        data: { password: 'c2VjcmV0' },
      }).map(d => formatPath(d.segments)),
    ).toEqual(['type']);
  });

  it('names every field it did not compare because its applied value is stored redacted', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', annotations: { note: 'user:***@db' } },
      data: { password: '***', user: 'YWRtaW4=' },
    };
    const skipped: Parameters<typeof formatPath>[0][] = [];
    expect(
      compareObject(
        secret,
        { ...secret, metadata: { name: 's' }, data: { password: 'eA==' } },
        skipped,
      ).map(d => formatPath(d.segments)),
    ).toEqual(['data.user']);
    expect(skipped.map(formatPath)).toEqual([
      'metadata.annotations.note',
      'data.password',
    ]);

    // An env entry holding a redacted value: its value is not compared.
    const inDeployment: Parameters<typeof formatPath>[0][] = [];
    expect(compareObject(applied, liveOf(), inDeployment)).toEqual([]);
    const gone: Parameters<typeof formatPath>[0][] = [];
    compareObject(
      applied,
      liveOf(l => {
        l.spec.template.spec.containers[1].env = [{ name: 'MODE', value: 'a' }];
      }),
      gone,
    );
    expect(inDeployment.map(formatPath)).toEqual([
      'spec.template.spec.containers[name=web].env[name=API_TOKEN].value',
    ]);
    // Gone: the entry is missing, whatever it held (see below); nothing was left uncompared.
    expect(gone).toEqual([]);
    // A map the live object lacks (the API server stores a Secret's stringData as data) is not
    // compared: the redacted values it held are named.
    const stringData: Parameters<typeof formatPath>[0][] = [];
    const withStringData = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: '***', token: '***' },
    };
    expect(
      compareObject(
        withStringData,
        {
          ...withStringData,
          stringData: undefined,
          data: { password: 'eA==' },
        },
        stringData,
      ),
    ).toEqual([]);
    expect(stringData.map(formatPath)).toEqual([
      'stringData.password',
      'stringData.token',
    ]);
  });

  it('compares a list of arguments holding a redacted value item by item, the redacted item not compared', () => {
    // History stores `["--db-password", "hunter2", …]` as below: only the password is unknown.
    const withArgs = JSON.parse(JSON.stringify(applied));
    withArgs.spec.template.spec.containers[0].args = [
      '--db-password',
      '***',
      '--auth',
      'required',
    ];
    const argsPath = 'spec.template.spec.containers[name=web].args';
    const live = (args: unknown[]) =>
      liveOf(l => {
        l.spec.template.spec.containers[1].args = args;
      });
    // The same arguments, whatever the password: no difference, the list named as not compared.
    const skipped: Parameters<typeof formatPath>[0][] = [];
    expect(
      compareObject(
        withArgs,
        live(['--db-password', 'hunter2', '--auth', 'required']),
        skipped,
      ),
    ).toEqual([]);
    expect(skipped.map(formatPath)).toContain(argsPath);
    // Another item, or another number of items: a difference, the live list shown without its strings.
    for (const args of [
      ['--db-password', 'hunter2', '--auth', 'none', '--debug-endpoints'],
      ['--db-password', 'hunter2', '--auth', 'none'],
      ['--db-password', 'hunter2', '--auth'],
    ]) {
      const notCompared: Parameters<typeof formatPath>[0][] = [];
      const found = compareObject(withArgs, live(args), notCompared);
      expect(found.map(d => formatPath(d.segments))).toEqual([argsPath]);
      expect(found[0].expected).toEqual([
        '--db-password',
        '***',
        '--auth',
        'required',
      ]);
      expect(found[0].actual).toEqual(args.map(() => '***'));
      expect(notCompared.map(formatPath)).not.toContain(argsPath);
    }
    // An item that only holds the placeholder, or a list of maps holding one: not compared, as before.
    withArgs.spec.template.spec.containers[0].args = [
      '--db-url=postgres://app:***@db',
      '--auth',
      'required',
    ];
    const partial: Parameters<typeof formatPath>[0][] = [];
    expect(
      compareObject(
        withArgs,
        live(['--db-url=postgres://app:x@db', '--auth', 'required']),
        partial,
      ),
    ).toEqual([]);
    expect(partial.map(formatPath)).toContain(argsPath);
    expect(
      compareObject(
        withArgs,
        live(['--db-url=postgres://app:x@db', '--auth', 'none']),
      ).map(d => formatPath(d.segments)),
    ).toEqual([argsPath]);
  });

  it('reports a secret field and an env entry holding a secret that the live object lacks, without their value', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: '***', user: '***' },
    };
    const skipped: Parameters<typeof formatPath>[0][] = [];
    const removed = compareObject(
      secret,
      { ...secret, data: { user: 'YWxpY2U=' } },
      skipped,
    );
    expect(
      removed.map(d => [formatPath(d.segments), d.expected, d.actual]),
    ).toEqual([['data.password', '***', undefined]]);
    // The field still there is not compared: its applied value is not stored.
    expect(skipped.map(formatPath)).toEqual(['data.user']);

    const env: Parameters<typeof formatPath>[0][] = [];
    const gone = compareObject(
      applied,
      liveOf(l => {
        l.spec.template.spec.containers[1].env = [{ name: 'MODE', value: 'a' }];
      }),
      env,
    );
    expect(
      gone.map(d => [formatPath(d.segments), d.expected, d.actual]),
    ).toEqual([
      [
        'spec.template.spec.containers[name=web].env[name=API_TOKEN]',
        { name: 'API_TOKEN', value: '***' },
        undefined,
      ],
    ]);
    expect(env).toEqual([]);
    expect(JSON.stringify([removed, gone])).not.toMatch(
      /YWxpY2U|the-real-token/,
    );
  });

  it('compares a Deployment with thousands of env entries at once, and finds the one that changed', async () => {
    const env = Array.from({ length: 6000 }, (_, i) => ({
      name: `VAR_${i}`,
      value: `value-${i}`,
    }));
    const big = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'big' },
      spec: {
        template: { spec: { containers: [{ name: 'web', image: 'x', env }] } },
      },
    };
    const live = JSON.parse(JSON.stringify(big));
    live.spec.template.spec.containers[0].env.reverse();
    expect(compareObject(big, live)).toEqual([]);
    live.spec.template.spec.containers[0].env[10].value = 'changed';
    const diffs = compareObject(big, live);
    expect(
      diffs.map(d => [formatPath(d.segments), d.expected, d.actual]),
    ).toEqual([
      [
        'spec.template.spec.containers[name=web].env[name=VAR_5989].value',
        'value-5989',
        'changed',
      ],
    ]);
    // Who changed it is found as quickly among as many managed list items.
    const managedFields = [
      {
        manager: 'kubectl-set',
        time: '2026-12-03T09:02:00Z',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': {
                    'f:env': Object.fromEntries(
                      env.map(e => [
                        `k:${JSON.stringify({ name: e.name })}`,
                        { 'f:value': {} },
                      ]),
                    ),
                  },
                },
              },
            },
          },
        },
      },
    ];
    for (let i = 0; i < 6000; i++)
      live.spec.template.spec.containers[0].env[i].value = 'changed';
    const all = compareObject(big, live);
    expect(all).toHaveLength(6000);
    const read = await readOwnership(managedFields, {
      paths: all.map(d => d.segments),
    });
    expect(
      'owners' in read && new Set(read.owners.map(o => o?.manager)),
    ).toEqual(new Set(['kubectl-set']));
  });

  it('reports an env name the live list holds twice (the later one is effective), but not duplicates applied as such', () => {
    const withEnv = (env: unknown[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', env }] },
    });
    const diffs = compareObject(
      withEnv([{ name: 'MODE', value: 'blue' }]),
      withEnv([
        { name: 'MODE', value: 'blue' },
        { name: 'MODE', value: 'evil' },
      ]),
    );
    expect(
      diffs.map(d => [formatPath(d.segments), d.expected, d.actual]),
    ).toEqual([
      [
        'spec.containers[name=c].env[name=MODE]',
        { name: 'MODE', value: 'blue' },
        [
          { name: 'MODE', value: 'blue' },
          { name: 'MODE', value: 'evil' },
        ],
      ],
    ]);
    expect(
      valueAt(
        withEnv([
          { name: 'MODE', value: 'blue' },
          { name: 'MODE', value: 'evil' },
        ]),
        diffs[0].segments,
      ),
    ).toEqual([
      { name: 'MODE', value: 'blue' },
      { name: 'MODE', value: 'evil' },
    ]);
    const twice = [
      { name: 'MODE', value: 'blue' },
      { name: 'MODE', value: 'green' },
    ];
    expect(compareObject(withEnv(twice), withEnv(twice))).toEqual([]);
    expect(
      compareObject(
        withEnv(twice),
        withEnv([twice[0], { name: 'MODE', value: 'evil' }]),
      ).map(d => formatPath(d.segments)),
    ).toEqual(['spec.containers[name=c].env[name=MODE].value']);
  });

  it('finds no difference in quantities inside atomic lists, in an emptyDir sizeLimit, or in an empty string the server omits', () => {
    const limitRange = {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'limits' },
      spec: {
        limits: [
          { type: 'Container', max: { cpu: '1000m', memory: '1024Mi' } },
        ],
      },
    };
    expect(
      compareObject(limitRange, {
        ...limitRange,
        spec: {
          limits: [{ type: 'Container', max: { cpu: '1', memory: '1Gi' } }],
        },
      }),
    ).toEqual([]);
    expect(
      compareObject(limitRange, {
        ...limitRange,
        spec: {
          limits: [{ type: 'Container', max: { cpu: '2', memory: '1Gi' } }],
        },
      }).map(d => formatPath(d.segments)),
    ).toEqual(['spec.limits']);
    const pod = (sizeLimit: string, serviceAccountName?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        ...(serviceAccountName !== undefined ? { serviceAccountName } : {}),
        volumes: [{ name: 'scratch', emptyDir: { sizeLimit } }],
      },
    });
    expect(compareObject(pod('1024Mi', ''), pod('1Gi'))).toEqual([]);
    expect(
      compareObject(pod('2Gi', 'web'), pod('1Gi')).map(d =>
        formatPath(d.segments),
      ),
    ).toEqual([
      'spec.serviceAccountName',
      'spec.volumes[name=scratch].emptyDir.sizeLimit',
    ]);
  });

  it('reports a label that only looks like a quantity as written, also one named sizeLimit', () => {
    const cm = (labels: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', labels },
      data: { limits: '1000m' },
    });
    expect(
      compareObject(cm({ sizeLimit: '1024Mi', cpu: '1000m' }), {
        ...cm({ sizeLimit: '1Gi', cpu: '1' }),
        data: { limits: '1' },
      }).map(d => formatPath(d.segments)),
    ).toEqual([
      'metadata.labels.sizeLimit',
      'metadata.labels.cpu',
      'data.limits',
    ]);
  });
});

describe('compareObject: selectors and NetworkPolicy rules', () => {
  const policy = (spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p' },
    spec,
  });
  const fromWeb = {
    podSelector: { matchLabels: { app: 'api' } },
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { app: 'web' } } }],
        ports: [{ port: 8080 }],
      },
    ],
  };

  it('reports a live selector that an applied empty selector does not match exactly', () => {
    const denyAll = policy({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(
      compareObject(
        denyAll,
        policy({ podSelector: {}, policyTypes: ['Ingress'] }),
      ),
    ).toEqual([]);
    const narrowed = policy({
      podSelector: { matchLabels: { nothing: 'selected' } },
      policyTypes: ['Ingress'],
    });
    expect(
      compareObject(denyAll, narrowed).map(d => [
        formatPath(d.segments),
        d.expected,
        d.actual,
      ]),
    ).toEqual([
      ['spec.podSelector', {}, { matchLabels: { nothing: 'selected' } }],
    ]);
  });

  it('reports an extra peer, port or selector key in a rule, but not the defaults the API server adds', () => {
    const asStored = policy({
      ...fromWeb,
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { app: 'web' } } }],
          ports: [{ port: 8080, protocol: 'TCP' }],
        },
      ],
      policyTypes: ['Ingress'],
    });
    expect(compareObject(policy(fromWeb), asStored)).toEqual([]);
    const widened = JSON.parse(JSON.stringify(asStored));
    widened.spec.ingress[0].from.push({ ipBlock: { cidr: '0.0.0.0/0' } });
    expect(
      compareObject(policy(fromWeb), widened).map(d => formatPath(d.segments)),
    ).toEqual(['spec.ingress']);
    const anyPodThere = JSON.parse(JSON.stringify(asStored));
    anyPodThere.spec.ingress[0].from[0].namespaceSelector = {};
    expect(
      compareObject(policy(fromWeb), anyPodThere).map(d =>
        formatPath(d.segments),
      ),
    ).toEqual(['spec.ingress']);
    const morePorts = JSON.parse(JSON.stringify(asStored));
    morePorts.spec.ingress[0].ports.push({ port: 22, protocol: 'TCP' });
    expect(
      compareObject(policy(fromWeb), morePorts).map(d =>
        formatPath(d.segments),
      ),
    ).toEqual(['spec.ingress']);
  });

  it('compares the selectors of workloads and Services exactly', () => {
    const service = (selector: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { selector, ports: [{ port: 80 }] },
    });
    expect(
      compareObject(
        service({ app: 'web' }),
        service({ app: 'web', x: 'y' }),
      ).map(d => formatPath(d.segments)),
    ).toEqual(['spec.selector']);
    expect(
      compareObject(
        applied,
        liveOf(l => {
          l.spec.selector.matchExpressions = [
            { key: 'tier', operator: 'Exists' },
          ];
        }),
      ).map(d => formatPath(d.segments)),
    ).toEqual(['spec.selector']);
  });
});

describe('shownLive', () => {
  it('shows none of the live strings of a difference whose applied value is stored redacted', () => {
    const withEnv = (env: unknown[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: { containers: [{ name: 'c', env }] } } },
    });
    const live = withEnv([
      { name: 'ADMIN_PW', value: 'Gen3ratedS3cret' },
      { name: 'ADMIN_PW', value: 'Gen3ratedS3cret' },
    ]);
    const [d, ...rest] = compareObject(
      withEnv([{ name: 'ADMIN_PW', value: '***' }]),
      live,
    );
    expect(rest).toEqual([]);
    expect(formatPath(d.segments)).toBe(
      'spec.template.spec.containers[name=c].env[name=ADMIN_PW]',
    );
    expect(JSON.stringify(d)).not.toContain('Gen3ratedS3cret');
    expect(
      shownLive(d.expected, valueAt(live, d.segments), d.segments),
    ).toEqual([
      { name: 'ADMIN_PW', value: '***' },
      { name: 'ADMIN_PW', value: '***' },
    ]);
    // Without a redacted applied value, the live value is shown as it is.
    expect(
      shownLive({ name: 'MODE', value: 'a' }, { name: 'MODE', value: 'b' }, []),
    ).toEqual({ name: 'MODE', value: 'b' });
  });
});

describe('field owners', () => {
  // As kube-sim (and a real API server) record them after `kubectl scale` and `kubectl set env`.
  const managedFields = [
    {
      manager: 'helm',
      operation: 'Update',
      time: '2026-12-03T09:00:00Z',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"web"}': {
                  'f:env': {
                    'k:{"name":"MODE"}': { 'f:name': {}, 'f:value': {} },
                  },
                  'f:ports': {
                    'k:{"containerPort":8080,"protocol":"TCP"}': {
                      'f:containerPort': {},
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      subresource: 'status',
      time: '2026-12-03T09:05:00Z',
      fieldsV1: { 'f:status': { 'f:replicas': {} } },
    },
    // `kubectl scale` writes through the scale subresource.
    {
      manager: 'kubectl',
      operation: 'Update',
      subresource: 'scale',
      time: '2026-12-03T09:01:00Z',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    },
    {
      manager: 'kubectl-set',
      operation: 'Update',
      time: '2026-12-03T09:02:00Z',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"web"}': {
                  'f:env': { 'k:{"name":"MODE"}': { 'f:value': {} } },
                },
              },
            },
          },
        },
      },
    },
  ];
  const container = [
    { field: 'spec' },
    { field: 'template' },
    { field: 'spec' },
    { field: 'containers' },
    { key: { name: 'web' } },
  ];

  it('names the manager that owns a changed field, the latest when several do', async () => {
    expect(
      await fieldOwner(managedFields, [
        { field: 'spec' },
        { field: 'replicas' },
      ]),
    ).toEqual({
      manager: 'kubectl',
      operation: 'Update',
      time: '2026-12-03T09:01:00Z',
    });
    expect(
      (
        await fieldOwner(managedFields, [
          ...container,
          { field: 'env' },
          { key: { name: 'MODE' } },
          { field: 'value' },
        ])
      )?.manager,
    ).toBe('kubectl-set');
    expect(
      (
        await fieldOwner(managedFields, [
          ...container,
          { field: 'ports' },
          { key: { containerPort: '8080', protocol: 'TCP' } },
          { field: 'containerPort' },
        ])
      )?.manager,
    ).toBe('helm');
  });

  it('finds fields another manager added that the run did not apply, not those the creating manager or defaulting wrote', () => {
    const containers = (manager: string) => ({
      manager,
      operation: 'Update',
      time: '2026-12-03T09:03:00Z',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"sidecar"}': {
                  '.': {},
                  'f:name': {},
                  'f:image': {},
                },
              },
            },
          },
        },
      },
    });
    const created = {
      manager: 'kubechart',
      operation: 'Apply',
      time: '2026-12-03T09:00:00Z',
      fieldsV1: {
        'f:spec': {
          'f:replicas': {},
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:image': {} },
              },
            },
          },
        },
      },
    };
    const appliers = ['kubechart', 'helm'];
    // A sidecar a mutating webhook injected at create time is the creating manager's; the
    // defaulted progressDeadlineSeconds and imagePullPolicy are nobody's.
    const injected = liveOf();
    injected.metadata.managedFields = [
      {
        ...created,
        fieldsV1: {
          'f:spec': {
            ...created.fieldsV1['f:spec'],
            'f:template': {
              'f:spec': {
                'f:containers': {
                  ...containers('x').fieldsV1['f:spec']['f:template']['f:spec'][
                    'f:containers'
                  ],
                  'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:image': {} },
                },
              },
            },
          },
        },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: '2026-12-03T09:05:00Z',
        fieldsV1: { 'f:status': { 'f:replicas': {} } },
      },
    ];
    expect(compareObject(applied, injected)).toEqual([]);
    expect(
      addedFields(injected.metadata.managedFields, applied, injected, {
        appliers,
      }),
    ).toEqual([]);
    // The same container added with `kubectl edit` is drift, shown whole with who added it.
    const edited = liveOf();
    edited.metadata.managedFields = [created, containers('kubectl-edit')];
    expect(
      addedFields(edited.metadata.managedFields, applied, edited, {
        appliers,
      }).map(d => [formatPath(d.segments), d.expected, d.actual, d.manager]),
    ).toEqual([
      [
        'spec.template.spec.containers[name=sidecar]',
        undefined,
        { name: 'sidecar', image: 'x' },
        'kubectl-edit',
      ],
    ]);
    // A field the run applies is compared as applied, whoever wrote it last.
    expect(
      addedFields(
        [
          created,
          {
            manager: 'kubectl-edit',
            operation: 'Update',
            time: '2026-12-03T09:03:00Z',
            fieldsV1: { 'f:spec': { 'f:replicas': {} } },
          },
        ],
        applied,
        liveOf(),
        { appliers },
      ),
    ).toEqual([]);
  });

  it("takes a Secret's data keys for the stringData keys the run applied", () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: '***' },
    };
    const live = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', creationTimestamp: '2026-12-03T09:00:00Z' },
      data: { password: 'eA==', extra: 'eQ==' },
    };
    const patched = [
      {
        manager: 'helm',
        operation: 'Update',
        time: '2026-12-03T09:00:00Z',
        fieldsV1: { 'f:stringData': { 'f:password': {} } },
      },
      {
        manager: 'kubectl-patch',
        operation: 'Update',
        time: '2026-12-03T09:03:00Z',
        fieldsV1: { 'f:data': { 'f:password': {}, 'f:extra': {} } },
      },
    ];
    expect(
      addedFields(patched, secret, live, { appliers: ['helm'] }).map(d =>
        formatPath(d.segments),
      ),
    ).toEqual(['data.extra']);
  });

  it('names nobody for a field no manager owns', async () => {
    expect(
      await fieldOwner(managedFields, [...container, { field: 'args' }]),
    ).toBeUndefined();
    expect(
      await fieldOwner(managedFields, [
        { field: 'status' },
        { field: 'replicas' },
      ]),
    ).toBeUndefined();
  });
});
