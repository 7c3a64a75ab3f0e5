import { podSpecOf } from './podSpec';
import { unplacedContainerPaths } from './podTemplates';
import { PolicyEngine } from './PolicyEngine';
import { goodContainer } from './__testUtils__/fixtures';
import { builtinIsNamespaced } from './scope';
import { KubeObject, PolicyScope } from './types';

/** Custom resources are namespaced here, as discovery would say of these kinds. */
const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
  isNamespaced: (apiVersion, kind) =>
    builtinIsNamespaced(apiVersion, kind) ?? true,
};
const engine = new PolicyEngine({
  mode: 'enforce',
  trustedRegistries: ['registry.example.com'],
});
const failing = (objects: KubeObject[]) =>
  engine.check(objects, { scope }).results.filter(r => !r.passed);
const failed = (objects: KubeObject[]) => failing(objects).map(r => r.ruleId);
const messages = (objects: KubeObject[], ruleId: string) =>
  failing(objects)
    .filter(r => r.ruleId === ruleId)
    .map(r => r.message);

/** An untrusted, `latest`, privileged container running as root. */
const miner = () => ({
  name: 'miner',
  image: 'evil.example.net/miner:latest',
  securityContext: {
    privileged: true,
    allowPrivilegeEscalation: true,
    runAsUser: 0,
  },
});
const REFUSED = ['trusted-registry', 'image-tag', 'no-privileged'];

const custom = (
  apiVersion: string,
  kind: string,
  spec: Record<string, unknown>,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: 'x', namespace: 'team-a' },
  spec,
});
const workflow = (kind: string, spec: Record<string, unknown>) =>
  custom('argoproj.io/v1alpha1', kind, { entrypoint: 'main', ...spec });

describe('pod rules judge the pods custom resources make', () => {
  it('sanity: the container in a Deployment is refused', () => {
    expect(
      failed([
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'd', namespace: 'team-a' },
          spec: { template: { spec: { containers: [miner()] } } },
        },
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
  });

  it("judges a KEDA ScaledJob's job template (spec.jobTargetRef.template)", () => {
    const ids = failed([
      custom('keda.sh/v1alpha1', 'ScaledJob', {
        jobTargetRef: { template: { spec: { containers: [miner()] } } },
        triggers: [{ type: 'cron', metadata: { start: '0 * * * *' } }],
      }),
    ]);
    expect(ids).toEqual(expect.arrayContaining(REFUSED));
  });

  it('judges an Argo Rollout pod template (spec.template)', () => {
    expect(
      failed([
        custom('argoproj.io/v1alpha1', 'Rollout', {
          template: { spec: { containers: [miner()] } },
        }),
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
  });

  it.each([
    ['container', { container: miner() }],
    ['script', { script: { ...miner(), source: 'mine' } }],
    ['containerSet', { containerSet: { containers: [miner()] } }],
    [
      'initContainers',
      { container: goodContainer(), initContainers: [miner()] },
    ],
    ['sidecars', { container: goodContainer(), sidecars: [miner()] }],
    [
      'inline steps template',
      { steps: [[{ name: 's', inline: { container: miner() } }]] },
    ],
    [
      'inline DAG template',
      { dag: { tasks: [{ name: 't', inline: { script: miner() } }] } },
    ],
  ])('judges the %s of an Argo Workflow template', (_what, template) => {
    expect(
      failed([
        workflow('Workflow', { templates: [{ name: 'main', ...template }] }),
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
  });

  it.each(['WorkflowTemplate', 'ClusterWorkflowTemplate'])(
    'judges the templates of an Argo %s',
    kind => {
      expect(
        failed([
          workflow(kind, { templates: [{ name: 'main', container: miner() }] }),
        ]),
      ).toEqual(expect.arrayContaining(REFUSED));
    },
  );

  it("judges an Argo CronWorkflow's workflowSpec", () => {
    expect(
      failed([
        custom('argoproj.io/v1alpha1', 'CronWorkflow', {
          schedule: '0 * * * *',
          workflowSpec: {
            entrypoint: 'main',
            templates: [{ name: 'main', container: miner() }],
          },
        }),
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
  });

  it("applies an Argo templateDefaults' container to each container template", () => {
    expect(
      messages(
        [
          workflow('Workflow', {
            templateDefaults: {
              container: { securityContext: { privileged: true } },
            },
            templates: [{ name: 'main', container: goodContainer('main') }],
          }),
        ],
        'no-privileged',
      ),
    ).toEqual([expect.stringContaining('runs privileged')]);
  });

  it('reads the pod-level fields of an Argo workflow and its templates', () => {
    const good = { name: 'main', container: goodContainer('main') };
    const { securityContext: _sc, ...rootable } = goodContainer('main');
    // runAsNonRoot set for the workflow's pods, or the template's pod, passes.
    expect(
      messages(
        [
          workflow('Workflow', {
            securityContext: { runAsNonRoot: true },
            templates: [{ name: 'main', container: rootable }],
          }),
          workflow('WorkflowTemplate', {
            templates: [
              {
                name: 'main',
                securityContext: { runAsNonRoot: true },
                container: rootable,
              },
            ],
          }),
        ],
        'run-as-non-root',
      ),
    ).toEqual([]);
    // A template's securityContext takes the place of the workflow's.
    expect(
      messages(
        [
          workflow('Workflow', {
            securityContext: { runAsNonRoot: true },
            templates: [
              { name: 'main', securityContext: {}, container: rootable },
            ],
          }),
        ],
        'run-as-non-root',
      ),
    ).toEqual([expect.stringContaining('runAsNonRoot is not true')]);
    expect(
      failed([
        workflow('Workflow', {
          hostNetwork: true,
          volumes: [{ name: 'root', hostPath: { path: '/' } }],
          templates: [good],
        }),
      ]),
    ).toEqual(expect.arrayContaining(['no-host-namespaces', 'host-path']));
    // A workflow that takes its templates from elsewhere still gives its pods the host network.
    expect(
      failed([
        workflow('Workflow', {
          hostNetwork: true,
          workflowTemplateRef: { name: 'shared' },
        }),
      ]),
    ).toContain('no-host-namespaces');
  });

  it('judges Tekton steps, step templates and sidecars, and the pod template of a run', () => {
    const task = (spec: Record<string, unknown>) =>
      custom('tekton.dev/v1', 'Task', spec);
    expect(failed([task({ steps: [miner()] })])).toEqual(
      expect.arrayContaining(REFUSED),
    );
    expect(
      failed([
        task({
          stepTemplate: { securityContext: { privileged: true } },
          steps: [goodContainer('build')],
        }),
      ]),
    ).toContain('no-privileged');
    expect(
      failed([task({ steps: [goodContainer('build')], sidecars: [miner()] })]),
    ).toEqual(expect.arrayContaining(REFUSED));
    expect(
      failed([
        custom('tekton.dev/v1', 'Pipeline', {
          tasks: [{ name: 'a', taskSpec: { steps: [miner()] } }],
        }),
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
    expect(
      failed([
        custom('tekton.dev/v1', 'PipelineRun', {
          pipelineSpec: {
            finally: [{ name: 'a', taskSpec: { steps: [miner()] } }],
          },
        }),
      ]),
    ).toEqual(expect.arrayContaining(REFUSED));
    expect(
      failed([
        custom('tekton.dev/v1', 'TaskRun', {
          taskSpec: { steps: [goodContainer('build')] },
          podTemplate: { hostNetwork: true },
        }),
      ]),
    ).toContain('no-host-namespaces');
    expect(
      failed([
        custom('tekton.dev/v1', 'PipelineRun', {
          pipelineRef: { name: 'shared' },
          taskRunTemplate: { podTemplate: { hostNetwork: true } },
        }),
      ]),
    ).toContain('no-host-namespaces');
    expect(
      failed([custom('tekton.dev/v1beta1', 'StepAction', miner())]),
    ).toEqual(expect.arrayContaining(REFUSED));
  });

  it('passes a compliant Argo workflow and Tekton task', () => {
    const pod = { automountServiceAccountToken: false };
    expect(
      failed([
        workflow('Workflow', {
          ...pod,
          templates: [
            { name: 'main', steps: [[{ name: 'a', template: 'a' }]] },
            { name: 'a', container: goodContainer('main') },
          ],
        }),
        custom('tekton.dev/v1', 'TaskRun', {
          taskSpec: { steps: [goodContainer('build')] },
          podTemplate: pod,
        }),
      ]),
    ).toEqual([]);
  });
});

describe('Argo Events sensors and event sources: their pod template (spec.template)', () => {
  const blocking = (objects: KubeObject[]) =>
    engine.check(objects, { scope }).blocking;
  /** The container of the pod the controller makes: it supplies the image. */
  const { name: _n, image: _i, ...sensorContainer } = goodContainer();
  const events = (kind: string, template: Record<string, unknown>) =>
    custom('argoproj.io/v1alpha1', kind, {
      template,
      ...(kind === 'Sensor'
        ? {
            dependencies: [
              { name: 'd', eventSourceName: 'e', eventName: 'example' },
            ],
            triggers: [{ template: { name: 'log', log: {} } }],
          }
        : { webhook: { example: { port: '12000', endpoint: '/e' } } }),
    });

  it.each(['Sensor', 'EventSource'])(
    'refuses a %s whose pod is privileged with a hostPath volume',
    kind => {
      const doc = events(kind, {
        container: {
          securityContext: { privileged: true, runAsUser: 0 },
          volumeMounts: [{ name: 'host', mountPath: '/host' }],
        },
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
        securityContext: { runAsUser: 0 },
      });
      expect(blocking([doc])).toBe(true);
      expect(failed([doc])).toEqual(
        expect.arrayContaining([
          'no-privileged',
          'host-path',
          'run-as-non-root',
        ]),
      );
      expect(messages([doc], 'no-privileged').join('\n')).toContain(
        'spec.template.container',
      );
    },
  );

  it.each(['Sensor', 'EventSource'])(
    'refuses a %s whose pod shares the host network',
    kind => {
      expect(blocking([events(kind, { hostNetwork: true })])).toBe(true);
    },
  );

  it.each(['Sensor', 'EventSource'])(
    'passes a %s with a compliant pod template, or none, without asking for an image',
    kind => {
      expect(
        blocking([
          events(kind, {
            container: sensorContainer,
            securityContext: { runAsNonRoot: true },
            serviceAccountName: 'sensor',
          }),
        ]),
      ).toBe(false);
      const plain = events(kind, {});
      delete plain.spec.template;
      expect(blocking([plain])).toBe(false);
    },
  );
  const account = (name: string, automount: boolean): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: 'team-a' },
    automountServiceAccountToken: automount,
  });

  it.each(['Sensor', 'EventSource'])(
    'judges the token of the ServiceAccount the pod of a %s runs as (spec.template.serviceAccountName)',
    kind => {
      const runningAs = (serviceAccountName: string) =>
        events(kind, {
          serviceAccountName,
          container: sensorContainer,
          securityContext: { runAsNonRoot: true },
        });
      const rule = 'automount-service-account-token';
      // Its ServiceAccount mounts no token.
      expect(
        messages([account('sensor', false), runningAs('sensor')], rule),
      ).toEqual([]);
      // The default ServiceAccount mounts none; the one the pod runs as does.
      expect(
        messages(
          [account('default', false), account('bot', true), runningAs('bot')],
          rule,
        ),
      ).toEqual([
        'the token of service account "bot" is mounted (automountServiceAccountToken is not false)',
      ]);
    },
  );

  it.each(['Sensor', 'EventSource'])(
    "judges the pod of a %s as Argo Events builds it: the fields of spec.template beside its container are the pod's",
    kind => {
      const template = {
        metadata: { labels: { app: 'events' }, annotations: { a: 'b' } },
        serviceAccountName: 'sensor',
        container: sensorContainer,
        volumes: [{ name: 'cache', emptyDir: {} }],
        securityContext: { runAsNonRoot: true, fsGroup: 1000 },
        nodeSelector: { pool: 'events' },
        tolerations: [
          { key: 'dedicated', value: 'events', effect: 'NoSchedule' },
        ],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: 'zone', operator: 'In', values: ['a'] },
                  ],
                },
              ],
            },
          },
        },
        imagePullSecrets: [{ name: 'pull' }],
        priorityClassName: 'events-high',
        priority: 1000,
      };
      const doc = events(kind, template);
      const { metadata: _m, container: _c, ...podFields } = template;
      expect(podSpecOf(doc)).toEqual({
        ...podFields,
        containers: [
          expect.objectContaining({
            name: 'spec.template.container',
            securityContext: {
              ...sensorContainer.securityContext,
              runAsNonRoot: true,
            },
          }),
        ],
        initContainers: [],
      });
      expect(blocking([doc])).toBe(false);
    },
  );

  it.each(['Sensor', 'EventSource'])(
    'refuses a %s whose pod template holds fields Argo Events does not put in the pod, naming them (valid-object)',
    kind => {
      // The controller ignores these: the pod mounts its token and runs without kata.
      const doc = events(kind, {
        container: sensorContainer,
        securityContext: { runAsNonRoot: true },
        automountServiceAccountToken: false,
        runtimeClassName: 'kata',
      });
      expect(blocking([doc])).toBe(true);
      expect(messages([doc], 'valid-object').join('\n')).toContain(
        `spec.template.automountServiceAccountToken, spec.template.runtimeClassName: not fields of the pod template of an Argo Events ${kind}`,
      );
    },
  );
});

describe('valid-object: Tekton tasks and pipelines fetched by a resolver', () => {
  const blocking = (objects: KubeObject[]) =>
    engine.check(objects, { scope }).blocking;

  it('refuses a TaskRun whose task a resolver fetches from a bundle', () => {
    const run = custom('tekton.dev/v1', 'TaskRun', {
      taskRef: {
        resolver: 'bundles',
        params: [
          { name: 'bundle', value: 'evil.example.net/tasks/miner:latest' },
          { name: 'name', value: 'miner' },
          { name: 'kind', value: 'task' },
        ],
      },
    });
    expect(blocking([run])).toBe(true);
    expect(messages([run], 'valid-object').join('\n')).toContain(
      'spec.taskRef',
    );
  });

  it('refuses a PipelineRun whose pipeline a resolver fetches over http', () => {
    const run = custom('tekton.dev/v1', 'PipelineRun', {
      pipelineRef: {
        resolver: 'http',
        params: [{ name: 'url', value: 'https://evil.example.net/miner.yaml' }],
      },
    });
    expect(blocking([run])).toBe(true);
    expect(messages([run], 'valid-object').join('\n')).toContain(
      'spec.pipelineRef',
    );
  });

  it('refuses the old bundle field, resolvers in pipeline tasks and step refs', () => {
    for (const doc of [
      custom('tekton.dev/v1beta1', 'TaskRun', {
        taskRef: { name: 'miner', bundle: 'evil.example.net/tasks:1' },
      }),
      custom('tekton.dev/v1', 'Pipeline', {
        tasks: [
          {
            name: 'a',
            taskRef: {
              resolver: 'git',
              params: [{ name: 'url', value: 'https://evil.example.net/t' }],
            },
          },
        ],
      }),
      custom('tekton.dev/v1', 'PipelineRun', {
        pipelineSpec: {
          finally: [{ name: 'a', taskRef: { resolver: 'hub', params: [] } }],
        },
      }),
      custom('tekton.dev/v1', 'Task', {
        steps: [{ name: 's', ref: { resolver: 'cluster', params: [] } }],
      }),
    ])
      expect(blocking([doc])).toBe(true);
  });

  it('leaves a reference by name to a task or pipeline in the namespace alone', () => {
    expect(
      failed([
        custom('tekton.dev/v1', 'TaskRun', { taskRef: { name: 'build' } }),
        custom('tekton.dev/v1', 'PipelineRun', {
          pipelineRef: { name: 'release' },
        }),
        custom('tekton.dev/v1', 'Pipeline', {
          tasks: [{ name: 'a', taskRef: { name: 'build', kind: 'Task' } }],
        }),
      ]),
    ).not.toContain('valid-object');
  });
});

describe('valid-object: containers of a custom resource the policy cannot place in a pod', () => {
  it('refuses a containers list or an image at a path the policy does not read, naming the path', () => {
    const results = messages(
      [
        custom('monitoring.coreos.com/v1', 'Prometheus', {
          image: 'evil.example.net/prometheus:latest',
        }),
        custom('example.com/v1', 'Runner', {
          pod: { containers: [miner()] },
        }),
        custom('argoproj.io/v1alpha1', 'AnalysisTemplate', {
          metrics: [
            {
              name: 'm',
              provider: {
                job: {
                  spec: { template: { spec: { containers: [miner()] } } },
                },
              },
            },
          ],
        }),
      ],
      'valid-object',
    );
    expect(results).toEqual([
      expect.stringMatching(/spec\.image: .*cannot judge/),
      expect.stringMatching(/spec\.pod\.containers: .*cannot judge/),
      expect.stringMatching(
        /spec\.metrics\[0\]\.provider\.job\.spec\.template\.spec\.containers: .*cannot judge/,
      ),
    ]);
    // Blocking in every mode, like every valid-object result.
    expect(
      new PolicyEngine({ mode: 'off' }).check(
        [
          custom('example.com/v1', 'Runner', {
            pod: { containers: [miner()] },
          }),
        ],
        { scope },
      ).blocking,
    ).toBe(true);
  });

  it('refuses containers of an Argo workflow or a Tekton task not written as their controllers read them', () => {
    expect(
      messages(
        [
          workflow('Workflow', {
            templates: [
              { name: 'main', sidecars: { evil: miner() } },
              { name: 'set', containerSet: { containers: { evil: miner() } } },
            ],
          }),
          custom('tekton.dev/v1', 'Task', { steps: { evil: miner() } }),
        ],
        'valid-object',
      ),
    ).toEqual([
      expect.stringMatching(
        /^spec\.templates\[0\]\.sidecars\.evil\.image, spec\.templates\[1\]\.containerSet\.containers\.evil\.image: .*cannot judge/,
      ),
      expect.stringMatching(/^spec\.steps\.evil\.image: .*cannot judge/),
    ]);
  });

  it('leaves alone custom resources without containers and built-in kinds', () => {
    expect(
      failed([
        custom('cert-manager.io/v1', 'Certificate', {
          secretName: 'tls',
          issuerRef: { name: 'ca', kind: 'Issuer' },
        }),
        // An image given as a mapping of chart values is not a container.
        custom('example.com/v1', 'App', {
          image: { repository: 'nginx', tag: '1.27' },
        }),
      ]),
    ).toEqual([]);
  });

  it('does not take images to watch or values for another controller for containers', () => {
    const objects = [
      {
        apiVersion: 'image.toolkit.fluxcd.io/v1beta2',
        kind: 'ImageRepository',
        metadata: { name: 'app', namespace: 'team-a' },
        spec: { image: 'ghcr.io/acme/app', interval: '5m' },
      },
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'app', namespace: 'team-a' },
        spec: {
          project: 'default',
          source: {
            repoURL: 'https://charts.example.com',
            chart: 'app',
            helm: { valuesObject: { image: 'registry.example.com/app:1.0' } },
          },
          destination: { namespace: 'team-a' },
        },
      },
    ];
    for (const object of objects)
      expect(unplacedContainerPaths(object as any)).toEqual([]);
  });
});
