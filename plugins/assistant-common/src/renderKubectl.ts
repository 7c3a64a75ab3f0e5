import {
  CLUSTER_SCOPED_RESOURCES,
  DEFAULT_LOG_TAIL_LINES,
  Plan,
  PlanResource,
} from './plan';

const SHORT_NAMES: Record<PlanResource, string> = {
  pods: 'pods',
  deployments: 'deployments',
  replicasets: 'replicasets',
  statefulsets: 'statefulsets',
  daemonsets: 'daemonsets',
  jobs: 'jobs',
  cronjobs: 'cronjobs',
  services: 'services',
  endpoints: 'endpoints',
  ingresses: 'ingresses',
  configmaps: 'configmaps',
  secrets: 'secrets',
  persistentvolumeclaims: 'pvc',
  horizontalpodautoscalers: 'hpa',
  resourcequotas: 'resourcequotas',
  limitranges: 'limitranges',
  events: 'events',
  nodes: 'nodes',
  namespaces: 'namespaces',
  networkpolicies: 'networkpolicies',
  endpointslices: 'endpointslices',
  poddisruptionbudgets: 'pdb',
  serviceaccounts: 'serviceaccounts',
  roles: 'roles',
  rolebindings: 'rolebindings',
  clusterroles: 'clusterroles',
  clusterrolebindings: 'clusterrolebindings',
  customresourcedefinitions: 'crds',
  persistentvolumes: 'pv',
};

// kubectl's singular form, used in `kind/name` references.
const SINGULAR: Record<PlanResource, string> = {
  pods: 'pod',
  deployments: 'deployment',
  replicasets: 'replicaset',
  statefulsets: 'statefulset',
  daemonsets: 'daemonset',
  jobs: 'job',
  cronjobs: 'cronjob',
  services: 'service',
  endpoints: 'endpoints',
  ingresses: 'ingress',
  configmaps: 'configmap',
  secrets: 'secret',
  persistentvolumeclaims: 'pvc',
  horizontalpodautoscalers: 'hpa',
  resourcequotas: 'resourcequota',
  limitranges: 'limitrange',
  events: 'event',
  nodes: 'node',
  namespaces: 'namespace',
  networkpolicies: 'networkpolicy',
  endpointslices: 'endpointslice',
  poddisruptionbudgets: 'pdb',
  serviceaccounts: 'serviceaccount',
  roles: 'role',
  rolebindings: 'rolebinding',
  clusterroles: 'clusterrole',
  clusterrolebindings: 'clusterrolebinding',
  customresourcedefinitions: 'crd',
  persistentvolumes: 'pv',
};

// What kubectl sorts by for each sort key. Events are sorted by when they
// happened; everything else by when it was created, as the assistant does.
function sortPath(plan: Plan): string | undefined {
  switch (plan.sortBy) {
    case 'name':
      return '.metadata.name';
    case 'restarts':
      return '.status.containerStatuses[0].restartCount';
    case 'age':
    case 'time':
      return plan.resource === 'events'
        ? '.lastTimestamp'
        : '.metadata.creationTimestamp';
    default:
      return undefined;
  }
}

// What a person pipes the output through when kubectl has no selector for
// it, per resource: the columns differ. With -A a NAMESPACE column comes
// first, so awk's column numbers move by one.
function filterPipe(plan: Plan): string | undefined {
  const shift = plan.allNamespaces ? 1 : 0;
  const column = (n: number) => `$${n + shift}`;
  switch (plan.filter) {
    case 'crash-looping':
      return "grep -E 'CrashLoopBackOff'";
    case 'restarting':
      return `awk 'NR==1 || ${column(4)} > 0'`;
    case 'pending':
      return "grep -E 'Pending'";
    case 'failed':
      return "grep -E 'Failed|Error'";
    case 'pressure':
      return "grep -E 'Pressure\\s+True|NotReady'";
    case 'not-ready':
      switch (plan.resource) {
        case 'pods':
          return "grep -vE '\\s([0-9]+)/\\1\\s+(Running|Completed)'";
        case 'nodes':
          return "grep -E 'NotReady'";
        case 'daemonsets':
        case 'replicasets':
          // DESIRED and READY columns.
          return `awk 'NR==1 || ${column(2)} != ${column(4)}'`;
        default:
          // READY is ready/desired.
          return "grep -vE '\\s([0-9]+)/\\1\\s'";
      }
    default:
      return undefined;
  }
}

/**
 * Control, format (bidi controls, zero-width characters, the BOM) and line or
 * paragraph separator characters: shown as they are, they hide or reorder
 * the command's text.
 */
const NOT_SHOWN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

/**
 * Writes an argument in bash's `$'…'` quoting, each character of
 * {@link NOT_SHOWN} as the escapes of its UTF-8 bytes (U+202E as
 * `\xe2\x80\xae`): the command reads as what a shell runs, whatever its
 * locale.
 */
function ansiQuote(arg: string): string {
  let out = '';
  for (const ch of arg) {
    if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (!NOT_SHOWN.test(ch)) out += ch;
    else {
      // One `\xHH` per UTF-8 byte: bash reads `\u202e` as the character only
      // in a UTF-8 locale, a byte in any.
      for (const byte of new TextEncoder().encode(ch)) {
        out += `\\x${byte.toString(16).padStart(2, '0')}`;
      }
    }
  }
  return `$'${out}'`;
}

/** Quotes an argument for a POSIX shell only when it needs it. */
function quote(arg: string): string {
  if (/^[A-Za-z0-9_./:=,@%+-]+$/.test(arg)) {
    return arg;
  }
  if (NOT_SHOWN.test(arg)) {
    return ansiQuote(arg);
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function scopeArgs(plan: Plan): string[] {
  const args: string[] = [];
  if (plan.cluster) args.push('--context', plan.cluster);
  if (!CLUSTER_SCOPED_RESOURCES.includes(plan.resource)) {
    if (plan.allNamespaces) args.push('-A');
    else if (plan.namespace) args.push('-n', plan.namespace);
  }
  return args;
}

function selectorArgs(plan: Plan): string[] {
  const args: string[] = [];
  if (plan.labelSelector) args.push('-l', plan.labelSelector);
  if (plan.fieldSelector) args.push(`--field-selector=${plan.fieldSelector}`);
  return args;
}

function ref(plan: Plan): string {
  return plan.name ? `${SINGULAR[plan.resource]}/${plan.name}` : '';
}

function target(plan: Plan): string[] {
  return plan.name ? [ref(plan)] : [SHORT_NAMES[plan.resource]];
}

/** kubectl wants `--all` before it changes every object of a kind. */
function allFlag(plan: Plan): string[] {
  return plan.name || plan.labelSelector || plan.fieldSelector ? [] : ['--all'];
}

function keyValues(map: Record<string, string> | undefined): string[] {
  return Object.entries(map ?? {}).map(([k, v]) => `${k}=${v}`);
}

function pipes(plan: Plan, sortsDescending: boolean): string[] {
  const out: string[] = [];
  const filter = filterPipe(plan);
  if (filter) out.push(filter);
  if (plan.limit) {
    // kubectl sorts ascending, with a header line on top; by name the
    // assistant does too, anything else it lists the highest or newest first.
    const firstRows = sortsDescending || !plan.sortBy || plan.sortBy === 'name';
    out.push(firstRows ? `head -n ${plan.limit + 1}` : `tail -n ${plan.limit}`);
  }
  return out;
}

function renderArgs(plan: Plan): { args: string[]; pipes: string[] } {
  const scope = scopeArgs(plan);
  const selectors = selectorArgs(plan);
  switch (plan.verb) {
    case 'get': {
      const args = ['get', ...target(plan), ...scope, ...selectors];
      const path = sortPath(plan);
      if (path) args.push(`--sort-by=${path}`);
      if (plan.output) args.push('-o', plan.output);
      return { args, pipes: pipes(plan, false) };
    }
    case 'describe':
      return {
        args: [
          'describe',
          ...(plan.name
            ? [SHORT_NAMES[plan.resource], plan.name]
            : [SHORT_NAMES[plan.resource]]),
          ...scope,
          ...selectors,
        ],
        pipes: pipes(plan, false),
      };
    case 'events': {
      // kubectl events selects by type only (the schema refuses other
      // selectors) and lists oldest first: the newest N, which the
      // assistant lists newest first, are its last lines.
      const args = ['events', ...scope];
      if (plan.fieldSelector) {
        args.push(`--types=${plan.fieldSelector.replace(/^type=/, '')}`);
      }
      return { args, pipes: pipes({ ...plan, sortBy: 'time' }, false) };
    }
    case 'logs': {
      const args = ['logs'];
      if (plan.name) {
        args.push(plan.resource === 'pods' ? plan.name : ref(plan));
      } else {
        args.push('-l', plan.labelSelector!);
      }
      args.push(...scope);
      // The assistant reads every container of the pod and a bounded tail:
      // the command says both (kubectl alone would read the default
      // container, and all of its log).
      if (plan.container) args.push('-c', plan.container);
      else args.push('--all-containers');
      if (plan.previous) args.push('--previous');
      args.push(`--tail=${plan.tailLines ?? DEFAULT_LOG_TAIL_LINES}`);
      return { args, pipes: [] };
    }
    case 'top': {
      const args = [
        'top',
        plan.resource === 'nodes' ? 'nodes' : 'pods',
        ...(plan.name ? [plan.name] : []),
        ...scope,
        ...(plan.labelSelector ? ['-l', plan.labelSelector] : []),
      ];
      if (plan.sortBy === 'cpu' || plan.sortBy === 'memory')
        args.push(`--sort-by=${plan.sortBy}`);
      return { args, pipes: pipes(plan, true) };
    }
    case 'rollout':
      return {
        args: [
          'rollout',
          plan.rolloutAction!,
          plan.name ? ref(plan) : SHORT_NAMES[plan.resource],
          ...scope,
          ...selectors,
        ],
        pipes: [],
      };
    case 'scale':
      return {
        args: [
          'scale',
          ref(plan),
          `--replicas=${plan.replicas}`,
          ...scope,
          ...selectors,
        ],
        pipes: [],
      };
    case 'label':
    case 'annotate': {
      const values =
        plan.verb === 'label'
          ? keyValues(plan.labels)
          : keyValues(plan.annotations);
      return {
        args: [
          plan.verb,
          ...target(plan),
          ...values,
          '--overwrite',
          ...allFlag(plan),
          ...scope,
          ...selectors,
        ],
        pipes: [],
      };
    }
    case 'cordon':
    case 'uncordon':
      return { args: [plan.verb, plan.name!, ...scope], pipes: [] };
    case 'drain':
      return {
        args: [
          'drain',
          plan.name!,
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          ...scope,
        ],
        pipes: [],
      };
    case 'delete':
      return {
        args: [
          'delete',
          ...target(plan),
          ...allFlag(plan),
          ...scope,
          ...selectors,
        ],
        pipes: [],
      };
    case 'exec':
      return {
        args: [
          'exec',
          '-it',
          plan.resource === 'pods' ? plan.name! : ref(plan),
          ...scope,
          ...(plan.container ? ['-c', plan.container] : []),
          '--',
          ...(plan.command ?? []),
        ],
        pipes: [],
      };
    case 'patch':
      return {
        args: [
          'patch',
          ref(plan),
          ...scope,
          '--type=merge',
          '-p',
          plan.patch ?? '{}',
        ],
        pipes: [],
      };
    case 'apply':
      return { args: ['apply', '-f', '-', ...scope], pipes: [] };
    default:
      return { args: [], pipes: [] };
  }
}

/**
 * Renders a plan as the kubectl command a person would type for it,
 * including the `grep`/`head` a person pipes through where kubectl has no
 * flag for it.
 *
 * @public
 */
export function renderKubectl(plan: Plan): string {
  if (plan.verb === 'diagnose') return renderDiagnosis(plan);
  const { args, pipes: tail } = renderArgs(plan);
  const command = ['kubectl', ...args].map(quote).join(' ');
  return [command, ...tail].join(' | ');
}

/**
 * A diagnosis is several reads; it is shown as the commands a person would
 * type one after the other (`<…>` is filled in from what the previous step
 * found).
 */
function renderDiagnosis(plan: Plan): string {
  const scope = scopeArgs(plan);
  const line = (args: string[]) => ['kubectl', ...args].map(quote).join(' ');
  const first =
    plan.name !== undefined
      ? line(['get', ref(plan), ...scope, '-o', 'wide'])
      : line([
          'get',
          'pods',
          ...scope,
          '-l',
          plan.labelSelector!,
          '-o',
          'wide',
        ]);
  const steps = [first];
  if (plan.resource !== 'pods' && plan.name) {
    steps.push(
      `${line(['get', 'pods', ...scope])} -l <selector of ${ref(plan)}>`,
    );
  }
  // A pod's events and previous log are read in the pod's namespace: across
  // all namespaces that is each pod's own (and kubectl logs has no -A).
  const podScope = plan.allNamespaces
    ? [
        ...(plan.cluster ? ['--context', plan.cluster] : []),
        '-n',
        '<its namespace>',
      ]
    : scope;
  // The warning events of the pod found unhealthy, as the diagnosis reads them (it reads no
  // other event, nor those of the healthy pods).
  steps.push(
    line([
      'get',
      'events',
      ...podScope,
      '--field-selector',
      'involvedObject.name=<unhealthy pod>,type=Warning',
    ]),
    `${line([
      'logs',
      '<unhealthy pod>',
      ...podScope,
      '--previous',
      '--tail=20',
    ])}`,
  );
  return steps.join('\n');
}
