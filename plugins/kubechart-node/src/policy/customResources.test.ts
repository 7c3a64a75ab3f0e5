import { ConfigReader } from '@backstage/config';
import { PolicyEngine } from './PolicyEngine';
import { builtinIsNamespaced } from './scope';
import { KubeObject, PolicyScope } from './types';

/** Custom resources are namespaced here, as discovery would say of these kinds. */
const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
  isNamespaced: (apiVersion, kind) =>
    builtinIsNamespaced(apiVersion, kind) ?? true,
};
const refusals = (engine: PolicyEngine, objects: KubeObject[]) =>
  engine
    .check(objects, { scope })
    .results.filter(r => r.ruleId === 'run-scope' && !r.passed)
    .map(r => r.message);
/** The deployer's name in the namespace itself, from before deployers moved to their own namespace. */
const held = (ref: string, where: string, account = 'kubechart-deployer') =>
  `${ref} names ServiceAccount ${account}, the identity KubeChart deployed into namespace team-a with before its deployers moved to namespace kubechart-deployers (${where}): the controller that acts on it would run pods as it or request its tokens; a workload may not hold it`;

const workflow = (kind: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind,
  metadata: { name: 'build' },
  spec: {
    entrypoint: 'main',
    templates: [{ name: 'main', container: { image: 'alpine:3.20' } }],
    ...spec,
  },
});
const tekton = (
  apiVersion: string,
  kind: string,
  spec: Record<string, unknown>,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: 'build' },
  spec,
});

describe("run-scope rule: custom resources that hand their pods the deployer's ServiceAccount", () => {
  it('refuses, in every mode, Argo Workflows, CronWorkflows and WorkflowTemplates running as the deployer, at every path their CRDs define', () => {
    const cases: Array<[KubeObject, string]> = [
      [
        workflow('Workflow', { serviceAccountName: 'kubechart-deployer' }),
        'spec.serviceAccountName',
      ],
      [
        workflow('Workflow', {
          executor: { serviceAccountName: 'kubechart-deployer' },
        }),
        'spec.executor.serviceAccountName',
      ],
      [
        workflow('WorkflowTemplate', {
          templates: [
            { name: 'main', steps: [[{ name: 'a', template: 'a' }]] },
            {
              name: 'a',
              serviceAccountName: 'kubechart-deployer',
              container: { image: 'alpine:3.20' },
            },
          ],
        }),
        'spec.templates[1].serviceAccountName',
      ],
      [
        workflow('ClusterWorkflowTemplate', {
          templateDefaults: { serviceAccountName: 'kubechart-deployer' },
        }),
        'spec.templateDefaults.serviceAccountName',
      ],
      [
        workflow('CronWorkflow', {
          schedule: '0 * * * *',
          // A CronWorkflow's templates are in its workflowSpec (anywhere else they are refused).
          templates: undefined,
          workflowSpec: {
            entrypoint: 'main',
            serviceAccountName: 'kubechart-deployer',
            templates: [{ name: 'main', container: { image: 'alpine:3.20' } }],
          },
        }),
        'spec.workflowSpec.serviceAccountName',
      ],
      // podSpecPatch is a pod spec written as JSON or YAML text.
      [
        workflow('Workflow', {
          podSpecPatch: '{"serviceAccountName": "kubechart-deployer"}',
        }),
        'the text of spec.podSpecPatch',
      ],
      [
        workflow('Workflow', {
          templates: [
            {
              name: 'main',
              container: { image: 'alpine:3.20' },
              podSpecPatch: 'serviceAccountName: kubechart-deployer\n',
            },
          ],
        }),
        'the text of spec.templates[0].podSpecPatch',
      ],
    ];
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const engine = new PolicyEngine({ mode });
      for (const [object, where] of cases) {
        expect(refusals(engine, [object])).toEqual([
          held(`${object.kind}/build`, where),
        ]);
      }
    }
  });

  it('refuses Tekton TaskRuns and PipelineRuns (v1 and v1beta1) and Argo Rollouts running as the deployer', () => {
    const cases: Array<[KubeObject, string]> = [
      [
        tekton('tekton.dev/v1', 'TaskRun', {
          taskRef: { name: 'build' },
          serviceAccountName: 'kubechart-deployer',
        }),
        'spec.serviceAccountName',
      ],
      [
        tekton('tekton.dev/v1', 'PipelineRun', {
          pipelineRef: { name: 'release' },
          taskRunTemplate: { serviceAccountName: 'kubechart-deployer' },
        }),
        'spec.taskRunTemplate.serviceAccountName',
      ],
      [
        tekton('tekton.dev/v1', 'PipelineRun', {
          pipelineRef: { name: 'release' },
          taskRunSpecs: [
            {
              pipelineTaskName: 'push',
              serviceAccountName: 'kubechart-deployer',
            },
          ],
        }),
        'spec.taskRunSpecs[0].serviceAccountName',
      ],
      [
        tekton('tekton.dev/v1beta1', 'PipelineRun', {
          pipelineRef: { name: 'release' },
          serviceAccountNames: [
            { taskName: 'push', serviceAccountName: 'kubechart-deployer' },
          ],
        }),
        'spec.serviceAccountNames[0].serviceAccountName',
      ],
      [
        tekton('tekton.dev/v1beta1', 'PipelineRun', {
          pipelineRef: { name: 'release' },
          taskRunSpecs: [
            {
              pipelineTaskName: 'push',
              taskServiceAccountName: 'kubechart-deployer',
            },
          ],
        }),
        'spec.taskRunSpecs[0].taskServiceAccountName',
      ],
      // A Rollout whose template leaves out containers (they come from a workloadRef) still runs as it.
      [
        tekton('argoproj.io/v1alpha1', 'Rollout', {
          workloadRef: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'web',
          },
          template: { spec: { serviceAccountName: 'kubechart-deployer' } },
        }),
        'spec.template.spec.serviceAccountName',
      ],
    ];
    const engine = new PolicyEngine({ mode: 'warn' });
    for (const [object, where] of cases) {
      expect(refusals(engine, [object])).toEqual([
        held(`${object.kind}/build`, where),
      ]);
    }
    // A Rollout with a whole pod template is judged as the built-in workloads are.
    expect(
      refusals(engine, [
        tekton('argoproj.io/v1alpha1', 'Rollout', {
          template: {
            spec: {
              serviceAccountName: 'kubechart-deployer',
              containers: [{ name: 'web', image: 'nginx:1.27' }],
            },
          },
        }),
      ]),
    ).toEqual([
      'Rollout/build runs its pods as ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace; a workload may not hold it',
    ]);
  });

  it('refuses any other custom resource naming the deployer in a ServiceAccount field or in text about a ServiceAccount', () => {
    const store: KubeObject = {
      apiVersion: 'external-secrets.io/v1beta1',
      kind: 'SecretStore',
      metadata: { name: 'vault' },
      spec: {
        provider: {
          vault: {
            auth: {
              kubernetes: {
                role: 'app',
                serviceAccountRef: { name: 'kubechart-deployer' },
              },
            },
          },
        },
      },
    };
    const runner: KubeObject = {
      apiVersion: 'ci.example.com/v1',
      kind: 'Runner',
      metadata: { name: 'ci' },
      spec: {
        pod: { serviceAccount: 'kubechart-deployer' },
        extra: 'user: system:serviceaccount:team-a:kubechart-deployer',
      },
    };
    expect(refusals(new PolicyEngine(), [store, runner])).toEqual([
      held(
        'SecretStore/vault',
        'spec.provider.vault.auth.kubernetes.serviceAccountRef.name',
      ),
      held('Runner/ci', 'spec.pod.serviceAccount, the text of spec.extra'),
    ]);
  });

  it('passes their own ServiceAccounts, the name elsewhere, and reads the deployer name from config', () => {
    const engine = new PolicyEngine();
    expect(
      refusals(engine, [
        workflow('Workflow', {
          serviceAccountName: 'build-bot',
          podSpecPatch: '{"serviceAccountName": "kubechart-deployer-bot"}',
        }),
        // A Task that happens to share the name is not a ServiceAccount.
        tekton('tekton.dev/v1', 'TaskRun', {
          taskRef: { name: 'kubechart-deployer' },
          serviceAccountName: 'build-bot',
        }),
        // Built-in kinds are read as the API server reads them: a ConfigMap runs nothing.
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'notes' },
          data: { pod: 'serviceAccountName: kubechart-deployer' },
        },
      ]),
    ).toEqual([]);
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: { tenant: { deployer: { serviceAccount: 'ship-it' } } },
      }),
    );
    expect(
      refusals(configured, [
        workflow('Workflow', { serviceAccountName: 'ship-it' }),
      ]),
    ).toEqual([held('Workflow/build', 'spec.serviceAccountName', 'ship-it')]);
    expect(
      refusals(configured, [
        workflow('Workflow', { serviceAccountName: 'kubechart-deployer' }),
      ]),
    ).toEqual([]);
  });
});

describe("run-scope rule: custom resources naming the deployer of the run's namespace in the deployers' namespace", () => {
  const deployer = 'kubechart-deployers/kubechart-deployer-team-a';
  const now = (where: string) =>
    `ServiceAccount ${deployer}, the identity KubeChart deploys into namespace team-a with (${where})`;
  const before = (where: string) =>
    `ServiceAccount kubechart-deployer, the identity KubeChart deployed into namespace team-a with before its deployers moved to namespace kubechart-deployers (${where})`;
  const anyDeployer = (where: string) =>
    `a ServiceAccount of namespace kubechart-deployers, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace) (${where})`;
  const names = (ref: string, ...what: string[]) =>
    `${ref} names ${what.join(
      '; ',
    )}: the controller that acts on it would run pods as it or request its tokens; a workload may not hold it`;
  const custom = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'ci.example.com/v1',
    kind: 'Runner',
    metadata: { name: 'ci' },
    spec,
  });

  it('refuses the deployer ServiceAccount of the namespace, any ServiceAccount of the deployers, and the one from before the move', () => {
    const engine = new PolicyEngine({ mode: 'off' });
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { serviceAccountName: 'kubechart-deployer-team-a' },
        now('spec.serviceAccountName'),
      ],
      [
        {
          serviceAccountRef: {
            name: 'kubechart-deployer-team-b',
            namespace: 'kubechart-deployers',
          },
        },
        anyDeployer('spec.serviceAccountRef.namespace'),
      ],
      [
        { service_account: 'kubechart-deployers:kubechart-deployer-team-b' },
        anyDeployer('spec.service_account'),
      ],
      [
        { 'service-account': 'kubechart-deployers/kubechart-deployer-team-a' },
        `${now('spec.service-account')}; ${anyDeployer(
          'spec.service-account',
        )}`,
      ],
      [
        { impersonate: 'system:serviceaccount:kubechart-deployers:reader' },
        anyDeployer('the text of spec.impersonate'),
      ],
      [
        { subjects: ['system:serviceaccounts:kubechart-deployers'] },
        anyDeployer('the text of spec.subjects[0]'),
      ],
      [
        { podTemplate: 'service_account: kubechart-deployer-team-a' },
        now('the text of spec.podTemplate'),
      ],
      [
        { serviceAccount: 'team-a:kubechart-deployer' },
        before('spec.serviceAccount'),
      ],
    ];
    for (const [spec, what] of cases) {
      const [first, ...more] = what.split('; ');
      expect(refusals(engine, [custom(spec)])).toEqual([
        names('Runner/ci', first, ...more),
      ]);
    }
  });

  it("says which identity it names, and reads the deployers' namespace and name from config", () => {
    expect(
      refusals(new PolicyEngine(), [
        custom({
          serviceAccountName: 'kubechart-deployer',
          executor: { serviceAccountName: 'kubechart-deployer-team-a' },
        }),
      ]),
    ).toEqual([
      names(
        'Runner/ci',
        now('spec.executor.serviceAccountName'),
        before('spec.serviceAccountName'),
      ),
    ]);
    const configured = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: {
          tenant: { deployer: { serviceAccount: 'ship-it', namespace: 'ops' } },
        },
      }),
    );
    expect(
      refusals(configured, [
        custom({ serviceAccountName: 'ship-it-team-a' }),
        custom({ serviceAccountRef: { name: 'x', namespace: 'ops' } }),
        custom({ serviceAccountName: 'kubechart-deployer-team-a' }),
      ]),
    ).toEqual([
      'Runner/ci names ServiceAccount ops/ship-it-team-a, the identity KubeChart deploys into namespace team-a with (spec.serviceAccountName): the controller that acts on it would run pods as it or request its tokens; a workload may not hold it',
      'Runner/ci names a ServiceAccount of namespace ops, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace) (spec.serviceAccountRef.namespace): the controller that acts on it would run pods as it or request its tokens; a workload may not hold it',
    ]);
  });

  it("passes other namespaces' names that only resemble a deployer's", () => {
    expect(
      refusals(new PolicyEngine(), [
        custom({
          serviceAccountName: 'kubechart-deployer-team-a-bot',
          serviceAccountRef: {
            name: 'build',
            namespace: 'kubechart-deployers-old',
          },
          note: 'system:serviceaccount:kubechart-deployers-old:x',
          // Another namespace's deployer does not act in team-a unless named in the deployers' namespace.
          other: { serviceAccountName: 'kubechart-deployer-team-b' },
        }),
      ]),
    ).toEqual([]);
  });
});
