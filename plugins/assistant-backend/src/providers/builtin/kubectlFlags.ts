import { Plan, PlanVerb, kindOf } from '@kubechart/plugin-assistant-common';
import { intent } from './conditions';
import { refuse } from './mutations';
import { Question } from './question';
import { selectorFrom, splitSelectorAndValues } from './scope';

/** An output format the question asks for: a flag (`-o yaml`, `--output=json`) or a word ("the yaml of"). */
export type OutputAsked = { format: string; flag: boolean };

/**
 * `-o yaml`, `-oyaml`, `-o=json`, `--output json`, `-o jsonpath='{.items[*].x}'`: the flag and its
 * argument (quoted parts included).
 */
const OUTPUT_FLAG =
  /(^|\s)(?:-o|--output|-output)(?:\s*=\s*|\s+)?((?:[^\s'"]|'[^']*'|"[^"]*")+)/i;

/** Words that ask for an object whole in a format. */
const OUTPUT_WORDS: Record<string, string> = {
  yaml: 'yaml',
  yml: 'yaml',
  json: 'json',
};

/**
 * The output flag of a question (its format: `yaml`, `wide`, `jsonpath` …) and the question
 * without it, for the rest to be read without the flag's argument (`jsonpath=…` is no selector).
 */
export function outputFlag(
  question: string,
): { asked: OutputAsked; rest: string } | undefined {
  const m = OUTPUT_FLAG.exec(question);
  if (!m) return undefined;
  const format = m[2].replace(/['"]/g, '').split('=')[0].toLowerCase();
  return {
    asked: { format, flag: true },
    rest: `${question.slice(0, m.index)}${m[1]}${question.slice(
      m.index + m[0].length,
    )}`,
  };
}

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
