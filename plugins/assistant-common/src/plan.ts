import { z } from 'zod';
import { hiddenCharacters } from './hiddenCharacters';

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
 * Verbs whose kubectl command works in one namespace: `kubectl logs`,
 * `rollout`, `scale`, `patch`, `exec` and `apply` have no `--all-namespaces`
 * (kubectl rejects `-A` for them), and without `-n` they use the kubeconfig's
 * default namespace.
 *
 * @public
 */
export const ONE_NAMESPACE_VERBS: ReadonlyArray<PlanVerb> = [
  'logs',
  'rollout',
  'scale',
  'patch',
  'exec',
  'apply',
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

/**
 * Log lines read from each container when a plan does not say how many; the
 * command shown says `--tail` with this number too.
 *
 * @public
 */
export const DEFAULT_LOG_TAIL_LINES = 200;

/**
 * The resources each filter reads a condition of. Elsewhere the condition
 * means nothing, and the `grep` shown for it would not pick the rows the
 * assistant returns.
 *
 * @public
 */
export const FILTER_RESOURCES: Record<
  PlanFilter,
  ReadonlyArray<PlanResource>
> = {
  'crash-looping': ['pods'],
  restarting: ['pods'],
  pending: ['pods', 'persistentvolumeclaims'],
  failed: ['pods', 'jobs'],
  pressure: ['nodes'],
  'not-ready': [
    'pods',
    'nodes',
    'deployments',
    'statefulsets',
    'daemonsets',
    'replicasets',
  ],
};

/**
 * The fields each verb carries out, besides `verb`, `resource`, `namespace`,
 * `allNamespaces` and `cluster`: rendered in the command shown, and applied
 * by what runs. A plan with any other field is refused, so that the scope
 * label, the command and the result never describe different things.
 */
const VERB_FIELDS: Record<PlanVerb, ReadonlyArray<string>> = {
  get: [
    'name',
    'labelSelector',
    'fieldSelector',
    'filter',
    'sortBy',
    'limit',
    'output',
  ],
  describe: ['name', 'labelSelector', 'fieldSelector'],
  // kubectl events has neither -l nor a name; its --types is a field selector on type.
  events: ['fieldSelector', 'sortBy', 'limit'],
  logs: ['name', 'labelSelector', 'container', 'tailLines', 'previous'],
  top: ['name', 'labelSelector', 'sortBy', 'limit'],
  rollout: ['name', 'labelSelector', 'fieldSelector', 'rolloutAction'],
  scale: ['name', 'replicas'],
  label: ['name', 'labelSelector', 'fieldSelector', 'labels'],
  annotate: ['name', 'labelSelector', 'fieldSelector', 'annotations'],
  cordon: ['name'],
  uncordon: ['name'],
  drain: ['name'],
  delete: ['name', 'labelSelector', 'fieldSelector'],
  exec: ['name', 'container', 'command'],
  apply: [],
  patch: ['name', 'patch'],
  diagnose: ['name', 'labelSelector'],
};

const SCOPE_FIELDS = [
  'verb',
  'resource',
  'namespace',
  'allNamespaces',
  'cluster',
];

/** Whether a field says anything: `false`, `[]` and `{}` say "not set" as absence does. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Lists `a, b and c`. */
function inWords(items: ReadonlyArray<string>): string {
  return items.length > 1
    ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
    : items.join('');
}

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
 * Refuses text holding a character that hides or reorders what it shows,
 * naming the first one: shown in the confirmation, such a character makes the
 * command read differently from what runs. `oneLine` refuses every format,
 * control and separator character; otherwise a value may hold what text in
 * it needs ({@link hiddenCharacters}): tabs and line breaks (`\r\n` too),
 * U+200C and U+200D between letters or emoji, a soft hyphen, a subdivision flag.
 */
function shownAsItRuns(schema: z.ZodString, oneLine = false) {
  return schema.superRefine((text, ctx) => {
    const found = oneLine
      ? /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.exec(text)?.[0]
      : hiddenCharacters(text)[0]?.char;
    if (found) {
      const code = found.codePointAt(0)!.toString(16).toUpperCase();
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `holds an invisible or direction-changing character (U+${code.padStart(
          4,
          '0',
        )}), which would show the command differently from what runs`,
      });
    }
  });
}

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
    cluster: shownAsItRuns(z.string().min(1).max(253), true).optional(),
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
    annotations: z
      .record(labelKey, shownAsItRuns(z.string().max(4096)))
      .optional(),
    command: z
      .array(shownAsItRuns(z.string().max(1024)))
      .max(64)
      .optional(),
    patch: shownAsItRuns(z.string().max(65536)).optional(),
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
          need(
            plan.resource === 'deployments',
            'rollout undo works on deployments',
          );
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
        need(!!plan.name, 'exec needs a pod');
        need(!!plan.command && plan.command.length > 0, 'exec needs a command');
        break;
      case 'patch':
        need(!!plan.name && !!plan.patch, 'patch needs a name and a patch');
        break;
      default:
        break;
    }
    exactly(plan, need);
  });

/** How a verb of {@link ONE_NAMESPACE_VERBS} is said to use its namespace. */
function inOneNamespace(verb: PlanVerb): string {
  return `kubectl ${verb} ${
    verb === 'logs' ? 'reads' : 'works in'
  } one namespace`;
}

const NAME_IN_ONE_NAMESPACE =
  'name and allNamespaces do not go together: kubectl finds a named object in one namespace (it rejects a name with --all-namespaces): name the namespace, or leave allNamespaces out for the assistant to look it up';

type PlanFields = {
  verb: PlanVerb;
  resource: PlanResource;
  allNamespaces?: boolean;
  name?: string;
  labelSelector?: string;
  fieldSelector?: string;
  filter?: PlanFilter;
  sortBy?: PlanSortKey;
  limit?: number;
  output?: string;
};

/**
 * Refuses what a verb cannot carry out exactly: a field the command would
 * show and the result ignore (or the other way round), and combinations
 * kubectl and the assistant would read differently.
 */
function exactly(
  plan: PlanFields,
  need: (cond: boolean, message: string) => void,
) {
  const fields = plan as unknown as Record<string, unknown>;
  const allowed = VERB_FIELDS[plan.verb];
  for (const field of Object.keys(fields)) {
    if (SCOPE_FIELDS.includes(field) || allowed.includes(field)) continue;
    need(
      !isSet(fields[field]),
      `${plan.verb} does not take ${field}: it would be shown but not carried out`,
    );
  }
  const selected = !!plan.labelSelector || !!plan.fieldSelector;
  need(
    !(plan.name && selected),
    'name and a selector do not go together: kubectl takes one or the other',
  );
  const namespaced = !CLUSTER_SCOPED_RESOURCES.includes(plan.resource);
  // (A cluster-scoped resource with allNamespaces is refused as not namespaced.)
  if (namespaced && ONE_NAMESPACE_VERBS.includes(plan.verb)) {
    // `kubectl logs|rollout|scale|patch|exec|apply … -A` is rejected ("unknown shorthand flag"):
    // the command shown must be one kubectl runs.
    need(
      !plan.allNamespaces,
      `${inOneNamespace(
        plan.verb,
      )} (it has no --all-namespaces): name the namespace`,
    );
  } else if (namespaced && plan.name) {
    // `kubectl get deployment/web -A` is rejected ("a resource cannot be retrieved by name across
    // all namespaces"), as are describe, delete, label and annotate; `kubectl top pods web -A`
    // asks the metrics API for a path that does not exist. A diagnosis starts with such a get.
    need(!plan.allNamespaces, NAME_IN_ONE_NAMESPACE);
  }
  if (plan.filter && allowed.includes('filter')) {
    const resources = FILTER_RESOURCES[plan.filter];
    need(
      resources.includes(plan.resource),
      `filter ${plan.filter} applies to ${inWords(resources)}, not ${
        plan.resource
      }`,
    );
  }
  switch (plan.verb) {
    case 'get':
      if (plan.sortBy === 'cpu' || plan.sortBy === 'memory') {
        need(false, `get does not sort by ${plan.sortBy}: use verb top`);
      }
      if (plan.sortBy === 'restarts') {
        need(plan.resource === 'pods', 'only pods are sorted by restarts');
      }
      if (plan.output) {
        // One object is shown whole in the format asked; lists are tables.
        need(
          plan.output !== 'wide',
          'output wide is not shown: the assistant answers with its own columns',
        );
        if (plan.output !== 'wide') {
          need(
            !!plan.name,
            `output ${plan.output} shows one named object: name it, or ask without an output format`,
          );
          need(
            !plan.filter && !plan.sortBy && !plan.limit,
            `output ${plan.output} shows the named object whole: filter, sortBy and limit do not apply to it`,
          );
        }
      }
      break;
    case 'events':
      need(
        !plan.fieldSelector ||
          plan.fieldSelector === 'type=Warning' ||
          plan.fieldSelector === 'type=Normal',
        'kubectl events selects by type only (type=Warning or type=Normal): use verb get for other field selectors',
      );
      need(
        !plan.sortBy || plan.sortBy === 'time' || plan.sortBy === 'age',
        'kubectl events lists by time only',
      );
      break;
    case 'top':
      need(
        !plan.sortBy || plan.sortBy === 'cpu' || plan.sortBy === 'memory',
        'top sorts by cpu or memory only',
      );
      need(
        !(plan.resource === 'nodes' && plan.labelSelector),
        'top nodes does not take a label selector: it would be shown but not carried out',
      );
      break;
    case 'logs':
      // kubectl logs -l picks pods; the assistant would pick the workloads.
      need(
        !!plan.name || !plan.labelSelector || plan.resource === 'pods',
        `logs by label selector read the pods it matches: use resource pods, or name the ${plan.resource.replace(
          /s$/,
          '',
        )}`,
      );
      break;
    case 'rollout':
      // No kubectl rollout sub-command has a --field-selector.
      need(
        !plan.fieldSelector,
        'kubectl rollout has no --field-selector: name the workload or use a label selector',
      );
      break;
    case 'diagnose':
      need(
        !!plan.name || plan.resource === 'pods',
        'diagnose finds a workload by its name: a label selector picks pods (resource pods)',
      );
      break;
    default:
      break;
  }
}

/** @public */
export type Plan = z.infer<typeof planSchema>;

/** Verbs the assistant never runs: a refusal says only what kubectl would do. */
const NOT_RUN: ReadonlyArray<PlanVerb> = ['exec', 'apply'];

/** A resource's kind in a `kind/name` reference: `deployment`, `ingress`, `networkpolicy`. @public */
export function kindOf(resource: PlanResource): string {
  if (resource === 'endpoints') return resource;
  if (resource.endsWith('ies')) return `${resource.slice(0, -3)}y`;
  if (resource.endsWith('sses')) return resource.slice(0, -2);
  return resource.replace(/s$/, '');
}

/**
 * Set in the `params` of the {@link scopedPlanSchema} issue that says a plan
 * has no namespace, so a caller that knows why (the object is in several
 * namespaces) can say so instead (see {@link inSeveralNamespaces}).
 *
 * @public
 */
export const NAMESPACE_UNKNOWN = 'namespaceUnknown';

/**
 * A plan as it is shown and run, once the backend has filled in its scope
 * (the entity's namespace, or the one namespace a named object is in):
 * {@link planSchema}, and a namespace for the verbs of
 * {@link ONE_NAMESPACE_VERBS} and for any plan that names a namespaced
 * object. A provider may leave the namespace out for the backend to fill in,
 * so {@link planSchema} takes such a plan; shown as it is,
 * `kubectl get deployment/web` would read the kubeconfig's default namespace
 * while the assistant looked for `web` in every namespace, so a plan still
 * without one is refused (fail closed) rather than shown or run. A list
 * without a name says where it reaches (`-A`) and is not affected.
 *
 * @public
 */
export const scopedPlanSchema = planSchema.superRefine((plan, ctx) => {
  const oneNamespace = ONE_NAMESPACE_VERBS.includes(plan.verb);
  if (
    (!oneNamespace && !plan.name) ||
    plan.namespace ||
    // Already refused: kubectl has no --all-namespaces for these, nor a name with it.
    plan.allNamespaces ||
    CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
  ) {
    return;
  }
  const elsewhere = NOT_RUN.includes(plan.verb)
    ? ''
    : ', where the assistant would look in every namespace';
  ctx.addIssue({
    code: z.ZodIssueCode.custom,
    message: `${oneNamespaceRule(plan)}, and none is known for ${namedWhat(
      plan,
    )} (without -n, kubectl would use the kubeconfig's default namespace${elsewhere}): name the namespace`,
    params: { [NAMESPACE_UNKNOWN]: true },
  });
});

/** Namespaces named in {@link inSeveralNamespaces}; the others are counted. */
const MAX_NAMESPACES_NAMED = 5;

/** What a plan reaches, as its refusals name it: `deployment/web`, `pods app=web`. */
function namedWhat(plan: Plan): string {
  return plan.name
    ? `${kindOf(plan.resource)}/${plan.name}`
    : `${plan.resource}${plan.labelSelector ? ` ${plan.labelSelector}` : ''}`;
}

/** Why a plan must say its one namespace: the rule of its verb. */
function oneNamespaceRule(plan: Plan): string {
  if (ONE_NAMESPACE_VERBS.includes(plan.verb)) return inOneNamespace(plan.verb);
  if (plan.verb === 'diagnose') {
    return 'a diagnosis finds a named object in one namespace';
  }
  return `kubectl ${plan.verb} finds a named object in one namespace`;
}

/**
 * Why a plan naming an object is refused when the object is in several
 * namespaces: the {@link scopedPlanSchema} rule, the namespaces (sorted, the
 * first five named and the rest counted; `more` when the look-up stopped
 * before reading them all) and that the person must name one. Saying that no
 * namespace is known would send them looking for an object that is there.
 *
 * @public
 */
export function inSeveralNamespaces(
  plan: Plan,
  namespaces: ReadonlyArray<string>,
  more = false,
): string {
  const sorted = [...new Set(namespaces)].sort();
  const named = sorted.slice(0, MAX_NAMESPACES_NAMED);
  const rest = sorted.length - named.length;
  let list: string;
  if (more) list = `${named.join(', ')} and more`;
  else if (rest > 0) list = `${named.join(', ')} and ${rest} more`;
  else list = inWords(named);
  return `${oneNamespaceRule(plan)}, and ${namedWhat(plan)} is in ${
    more ? 'more than ' : ''
  }${sorted.length} namespaces (${list}): name the one you mean`;
}

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
