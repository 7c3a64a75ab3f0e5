import { z } from 'zod';

/**
 * Verbs a plan can carry. Each one maps to the kubectl sub-command of the same
 * name, except `diagnose`: a read-only sequence (the workload, its pods, their
 * conditions, recent events and the previous container's log tail) that ends
 * in a one or two sentence answer.
 *
 * @public
 */
export const PLAN_VERBS = [
  'get',
  'describe',
  'logs',
  'top',
  'events',
  'rollout',
  'scale',
  'label',
  'annotate',
  'cordon',
  'uncordon',
  'delete',
  'drain',
  'exec',
  'apply',
  'patch',
  'diagnose',
] as const;

/** @public */
export type PlanVerb = (typeof PLAN_VERBS)[number];

/**
 * Resource types the assistant understands, in kubectl's plural form.
 *
 * @public
 */
export const PLAN_RESOURCES = [
  'pods',
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'services',
  'endpoints',
  'ingresses',
  'configmaps',
  'secrets',
  'persistentvolumeclaims',
  'horizontalpodautoscalers',
  'resourcequotas',
  'limitranges',
  'events',
  'nodes',
  'namespaces',
  'networkpolicies',
  'endpointslices',
  'poddisruptionbudgets',
  'serviceaccounts',
  'roles',
  'rolebindings',
  'clusterroles',
  'clusterrolebindings',
  'customresourcedefinitions',
  'persistentvolumes',
] as const;

/** @public */
export type PlanResource = (typeof PLAN_RESOURCES)[number];

/** Resources that are not namespaced. @public */
export const CLUSTER_SCOPED_RESOURCES: ReadonlyArray<PlanResource> = [
  'nodes',
  'namespaces',
  'clusterroles',
  'clusterrolebindings',
  'customresourcedefinitions',
  'persistentvolumes',
];

/** Workloads: what `diagnose`, `rollout` and `logs` look into. @public */
export const WORKLOAD_RESOURCES: ReadonlyArray<PlanResource> = [
  'deployments',
  'statefulsets',
  'daemonsets',
  'replicasets',
  'jobs',
];

/**
 * Sort keys. `restarts`, `cpu` and `memory` sort highest first, `age` and
 * `time` newest first.
 *
 * @public
 */
export const PLAN_SORT_KEYS = [
  'name',
  'restarts',
  'cpu',
  'memory',
  'age',
  'time',
] as const;

/** @public */
export type PlanSortKey = (typeof PLAN_SORT_KEYS)[number];

/**
 * Conditions kubectl cannot select on the server; they are applied to the
 * listed rows (what a person does with `grep`).
 *
 * @public
 */
export const PLAN_FILTERS = [
  'not-ready',
  'crash-looping',
  'restarting',
  'pending',
  'failed',
  'pressure',
] as const;

/** @public */
export type PlanFilter = (typeof PLAN_FILTERS)[number];

/** @public */
export const ROLLOUT_ACTIONS = [
  'status',
  'history',
  'restart',
  'undo',
] as const;

/** @public */
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** Maximum number of rows or log lines a plan may ask for. @public */
export const MAX_PLAN_LIMIT = 500;

const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be a lowercase DNS name (letters, digits, "-" and ".")',
  );

// Selectors are passed to the API server verbatim; keep them to the
// characters selector syntax actually uses.
const selector = z
  .string()
  .min(1)
  .max(512)
  .regex(
    /^[A-Za-z0-9_./\-=!,()\s]+$/,
    'may only contain selector characters (letters, digits, "=", "!", ",", "(", ")", ".", "/", "-", "_")',
  );

const labelKey = z
  .string()
  .min(1)
  .max(317)
  .regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);

const labelValue = z
  .string()
  .max(63)
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/);

/**
 * The typed plan of a kubectl-equivalent command.
 *
 * @public
 */
export const planSchema = z
  .object({
    verb: z.enum(PLAN_VERBS),
    resource: z.enum(PLAN_RESOURCES),
    name: dnsName.optional(),
    namespace: dnsName.optional(),
    allNamespaces: z.boolean().optional(),
    cluster: z.string().min(1).max(253).optional(),
    labelSelector: selector.optional(),
    fieldSelector: selector.optional(),
    filter: z.enum(PLAN_FILTERS).optional(),
    sortBy: z.enum(PLAN_SORT_KEYS).optional(),
    limit: z.number().int().min(1).max(MAX_PLAN_LIMIT).optional(),
    output: z.enum(['wide', 'yaml', 'json']).optional(),
    container: dnsName.optional(),
    tailLines: z.number().int().min(1).max(10000).optional(),
    previous: z.boolean().optional(),
    rolloutAction: z.enum(ROLLOUT_ACTIONS).optional(),
    replicas: z.number().int().min(0).max(1000).optional(),
    labels: z.record(labelKey, labelValue).optional(),
    annotations: z.record(labelKey, z.string().max(4096)).optional(),
    command: z.array(z.string().max(1024)).max(64).optional(),
    patch: z.string().max(65536).optional(),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const need = (cond: boolean, message: string) => {
      if (!cond) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    };
    const isClusterScoped = CLUSTER_SCOPED_RESOURCES.includes(plan.resource);
    if (isClusterScoped) {
      need(
        !plan.namespace && !plan.allNamespaces,
        `${plan.resource} are not namespaced`,
      );
    }
    need(
      !(plan.namespace && plan.allNamespaces),
      'namespace and allNamespaces are mutually exclusive',
    );
    switch (plan.verb) {
      case 'rollout':
        need(!!plan.rolloutAction, 'rollout needs rolloutAction');
        need(
          ['deployments', 'statefulsets', 'daemonsets'].includes(plan.resource),
          'rollout works on deployments, statefulsets and daemonsets',
        );
        if (plan.rolloutAction === 'undo') {
          need(!!plan.name, 'rollout undo needs a name');
        }
        break;
      case 'diagnose':
        need(
          !!plan.name || !!plan.labelSelector,
          'diagnose needs a name or a label selector',
        );
        need(
          plan.resource === 'pods' ||
            WORKLOAD_RESOURCES.includes(plan.resource),
          'diagnose looks into pods and the workloads that own them',
        );
        break;
      case 'scale':
        need(plan.replicas !== undefined, 'scale needs replicas');
        need(!!plan.name, 'scale needs a name');
        need(
          ['deployments', 'statefulsets', 'replicasets'].includes(
            plan.resource,
          ),
          'scale works on deployments, statefulsets and replicasets',
        );
        break;
      case 'logs':
        need(
          !!plan.name || !!plan.labelSelector,
          'logs need a name or a label selector',
        );
        need(
          [
            'pods',
            'deployments',
            'statefulsets',
            'daemonsets',
            'jobs',
          ].includes(plan.resource),
          'logs come from pods or the workloads that own them',
        );
        break;
      case 'top':
        need(
          plan.resource === 'pods' || plan.resource === 'nodes',
          'top works on pods and nodes',
        );
        break;
      case 'events':
        need(plan.resource === 'events', 'the events verb lists events');
        break;
      case 'cordon':
      case 'uncordon':
      case 'drain':
        need(plan.resource === 'nodes', `${plan.verb} works on nodes`);
        need(!!plan.name, `${plan.verb} needs a node name`);
        break;
      case 'label':
        need(
          !!plan.labels && Object.keys(plan.labels).length > 0,
          'label needs labels',
        );
        need(
          !!plan.name ||
            !!plan.labelSelector ||
            !!plan.namespace ||
            !!plan.allNamespaces,
          'label needs a name, a selector or a namespace',
        );
        break;
      case 'annotate':
        need(
          !!plan.annotations && Object.keys(plan.annotations).length > 0,
          'annotate needs annotations',
        );
        need(
          !!plan.name ||
            !!plan.labelSelector ||
            !!plan.namespace ||
            !!plan.allNamespaces,
          'annotate needs a name, a selector or a namespace',
        );
        break;
      case 'delete':
        need(
          !!plan.name || !!plan.labelSelector || !!plan.fieldSelector,
          'delete needs a name or a selector',
        );
        break;
      case 'exec':
        need(plan.resource === 'pods' || !!plan.name, 'exec needs a pod');
        need(!!plan.command && plan.command.length > 0, 'exec needs a command');
        break;
      case 'patch':
        need(!!plan.name && !!plan.patch, 'patch needs a name and a patch');
        break;
      default:
        break;
    }
  });

/** @public */
export type Plan = z.infer<typeof planSchema>;

/**
 * What a provider answers: the plan and a one-paragraph explanation.
 *
 * @public
 */
export const planAnswerSchema = z.object({
  plan: planSchema,
  explanation: z.string().min(1).max(2000),
});

/** @public */
export type PlanAnswer = z.infer<typeof planAnswerSchema>;
