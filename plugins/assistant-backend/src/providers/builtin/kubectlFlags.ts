import {
  CLUSTER_SCOPED_RESOURCES,
  Plan,
  PlanVerb,
  kindOf,
} from '@kubechart/plugin-assistant-common';
import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { intent } from './conditions';
import { FlagName, OutputAsked, ReadFlag } from './flagReading';
import { changeKind, refuse, understood } from './mutations';
import { Question } from './question';
import { selectorFrom, splitSelectorAndValues } from './scope';

/** Words that ask for an object whole in a format. */
const OUTPUT_WORDS: Record<string, string> = {
  yaml: 'yaml',
  yml: 'yaml',
  json: 'json',
};

/**
 * An output format asked for in words ("show me the yaml of …", "… as json"). The word the plan
 * names its object by is that name, not a format: "get configmap yaml -n shop" reads the configmap
 * named `yaml` (as kubectl would), and "the yaml of configmap yaml" asks for it as YAML.
 */
export function outputWord(q: Question, plan: Plan): OutputAsked | undefined {
  let nameSeen = false;
  const word = q.tokens.find(t => {
    if (!OUTPUT_WORDS[t.raw]) return false;
    if (!nameSeen && t.raw === plan.name) {
      nameSeen = true;
      return false;
    }
    return true;
  });
  return word ? { format: OUTPUT_WORDS[word.raw], flag: false } : undefined;
}

/**
 * Carries out the output format asked for, or refuses: never a table under a command that said
 * `-o yaml`, nor the other way round. `get` shows one named object whole as YAML or JSON, as
 * kubectl prints it; a list, `-o wide` (the assistant has its own columns), `-o name`,
 * `jsonpath`, `custom-columns` … are refused, and so is `-o` on another verb. A format asked in
 * words ("the yaml of …") is honoured for `get` only.
 */
export function withOutput(plan: Plan, asked: OutputAsked | undefined): Plan {
  if (!asked) return plan;
  const { format } = asked;
  const flag = `-o ${format}`;
  if (plan.verb !== 'get') {
    if (!asked.flag) return plan;
    throw refuse(
      intent(plan),
      `the assistant answers kubectl ${plan.verb} in its own form, not as ${flag}: ask without ${flag}`,
    );
  }
  if (format === 'wide') {
    throw refuse(
      intent(plan),
      `the assistant answers with its own columns, not those of ${flag}: ask without ${flag}`,
    );
  }
  if (format !== 'yaml' && format !== 'json') {
    throw refuse(
      intent(plan),
      `the assistant does not print ${flag}: ask for -o yaml or -o json of one named object, or without -o`,
    );
  }
  if (!plan.name) {
    throw refuse(
      intent(plan),
      `kubectl get ${flag} of a list prints every object whole, and the assistant shows one object that way (a list is a table): name the object, or ask without ${flag}`,
    );
  }
  const narrowed = [
    plan.filter ? `the filter ${plan.filter}` : '',
    plan.sortBy ? 'a sort' : '',
    plan.limit ? 'a limit' : '',
  ].filter(Boolean);
  if (narrowed.length) {
    throw refuse(
      intent(plan),
      `${flag} shows ${kindOf(plan.resource)} ${
        plan.name
      } whole, so ${narrowed.join(' and ')} would not apply: ask for it alone`,
    );
  }
  return { ...plan, output: format };
}

/** kubectl's answer to `get`, `describe`, `delete`, `label` or `annotate` with a name and a selector. */
const NAME_WITH_SELECTOR =
  'error: name cannot be provided when a selector is specified';

/** What kubectl answers a command giving a name and a selector, per verb. */
const NAME_AND_SELECTOR: Partial<Record<PlanVerb, string>> = {
  get: NAME_WITH_SELECTOR,
  describe: NAME_WITH_SELECTOR,
  delete: NAME_WITH_SELECTOR,
  label: NAME_WITH_SELECTOR,
  annotate: NAME_WITH_SELECTOR,
  rollout:
    'error: selectors and the all flag cannot be used when passing resource/name arguments',
  scale:
    'error: selectors and the all flag cannot be used when passing resource/name arguments',
  logs: 'error: only a selector (-l) or a POD name is allowed',
  top: 'error: only one of NAME or selector can be provided',
};

/**
 * Refuses a question that names one object and gives a label selector: kubectl rejects the
 * command (with the error quoted), and planned with one of them it would drop the other.
 */
export function refuseNameWithSelector(plan: Plan, q: Question): Plan {
  if (!plan.name) return plan;
  const selector =
    plan.verb === 'label' || plan.verb === 'annotate'
      ? splitSelectorAndValues(q).selector
      : selectorFrom(q);
  if (!selector) return plan;
  const kubectl = NAME_AND_SELECTOR[plan.verb];
  throw refuse(
    intent(plan),
    `${
      kubectl
        ? `kubectl takes a name or a selector, not both (it answers "${kubectl}")`
        : 'a name and a selector do not go together'
    }: ask for ${kindOf(plan.resource)} ${plan.name} alone, or for the ${
      plan.resource
    } -l ${selector}`,
  );
}

/** Verbs whose kubectl command takes `-A` (`--all-namespaces`). */
const ALL_NAMESPACES_VERBS: ReadonlyArray<PlanVerb> = [
  'get',
  'describe',
  'delete',
  'label',
  'annotate',
  'top',
  'events',
  'diagnose',
];

/** How a plan carries out each flag read; the reason (a clause of a refusal) when it does not. */
/** A flag only the plan's verb `verb` carries out. */
const onlyFor =
  (verb: Plan['verb']) =>
  (plan: Plan, { flag }: { flag: string }): string | undefined =>
    plan.verb === verb ? undefined : `${flag} is for ${verb} only`;

const HONOURED: Record<
  FlagName,
  (plan: Plan, flag: ReadFlag) => string | undefined
> = {
  namespace: (plan, { flag, value }) =>
    CLUSTER_SCOPED_RESOURCES.includes(plan.resource) ||
    (plan.namespace === value && !plan.allNamespaces)
      ? undefined
      : `the plan is not in the namespace ${flag} ${value} gives`,
  'all-namespaces': (plan, { flag }) => {
    if (
      !ALL_NAMESPACES_VERBS.includes(plan.verb) ||
      (plan.verb === 'top' && plan.resource === 'nodes')
    ) {
      return `kubectl ${plan.verb}${
        plan.verb === 'top' ? ' nodes' : ''
      } has no ${flag} (--all-namespaces): ask without it${
        CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
          ? ''
          : ', naming the namespace'
      }`;
    }
    if (plan.name) {
      return `kubectl reads a named object in one namespace, and rejects a name with ${flag} ("a resource cannot be retrieved by name across all namespaces"): name the namespace, or ask without the name`;
    }
    return CLUSTER_SCOPED_RESOURCES.includes(plan.resource) ||
      plan.allNamespaces
      ? undefined
      : `the plan does not read every namespace, as ${flag} asks`;
  },
  selector: (plan, { flag, value }) => {
    const held = (plan.labelSelector ?? '').split(',');
    return !plan.name && value!.split(',').every(part => held.includes(part))
      ? undefined
      : `the assistant cannot ${intent(
          plan,
        )} by a label selector (${flag} ${value}): ask without it, or name one object`;
  },
  // Carried out or refused by withOutput.
  output: () => undefined,
  container: (plan, { flag, value }) =>
    (plan.verb === 'logs' || plan.verb === 'exec') && plan.container === value
      ? undefined
      : `the plan does not read the container ${flag} ${value} names`,
  tail: (plan, { flag, value }) =>
    plan.verb === 'logs' && plan.tailLines === Number(value)
      ? undefined
      : `${flag} is a number of log lines, and the plan reads none`,
  previous: (plan, { flag }) =>
    plan.verb === 'logs' && plan.previous
      ? undefined
      : `${flag} reads the log of a container's previous run, and the plan reads none`,
  p: (plan, { flag }) =>
    (plan.verb === 'logs' && plan.previous) ||
    (plan.verb === 'patch' && plan.patch)
      ? undefined
      : `${flag} is --previous for kubectl logs and the body of kubectl patch, and the plan is neither`,
  patch: onlyFor('patch'),
  type: onlyFor('patch'),
  'all-containers': (plan, { flag }) =>
    plan.verb === 'logs' && !plan.container
      ? undefined
      : `the plan does not read the log of every container, as ${flag} asks`,
  replicas: (plan, { flag, value }) =>
    plan.verb === 'scale' && plan.replicas === Number(value)
      ? undefined
      : `the plan does not scale to the ${flag} ${value} gives`,
  overwrite: (plan, { flag }) =>
    plan.verb === 'label' || plan.verb === 'annotate'
      ? undefined
      : `${flag} is for label and annotate, and the plan is neither`,
  'ignore-daemonsets': onlyFor('drain'),
  'delete-emptydir-data': onlyFor('drain'),
  stdin: onlyFor('exec'),
  tty: onlyFor('exec'),
  command: (plan, { value }) => {
    if (plan.verb !== 'exec') {
      return '-- starts the command that kubectl exec runs, and the plan is no exec: ask without it';
    }
    return (plan.command ?? []).join(' ') === value
      ? undefined
      : `the assistant opens a shell (${(plan.command ?? []).join(
          ' ',
        )}) in the container, not the command after --: ask without it`;
  },
};

/**
 * Checks that a plan carries out every flag the question gives, as kubectl reads it: the namespace
 * of `-n`, every namespace for `-A`, each requirement of `-l`, the container, lines and run of a
 * log, the replicas of a scale … A flag the plan does not hold refuses the question, naming it.
 */
export function honourFlags(plan: Plan, q: Question): Plan {
  const reasons = q.flags.read.flatMap(flag => {
    const why = HONOURED[flag.name](plan, flag);
    return why ? [why] : [];
  });
  if (!reasons.length) return plan;
  throw refuse(intent(plan), reasons.join('; '));
}

/**
 * Refuses a question with a flag the parser does not read (or cannot read exactly), naming each:
 * dropped, the plan would not be the command typed (`--dry-run` would run for real, `--context`
 * on another cluster, `-L` select by label). Says what was understood when something was.
 */
export function refuseFlagProblems(
  q: Question,
  plan: Plan | undefined,
): PlanRefusal {
  const kind = plan ? undefined : changeKind(q);
  let asked = 'run a kubectl command';
  if (plan) asked = intent(plan);
  else if (kind) asked = understood(kind);
  return refuse(asked, q.flags.problems.map(p => p.why).join('; '));
}
