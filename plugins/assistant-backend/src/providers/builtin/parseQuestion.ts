import {
  CLUSTER_SCOPED_RESOURCES,
  Plan,
  PlanResource,
} from '@kubechart/plugin-assistant-common';
import { TypoCorrector } from './fuzzy';
import {
  ALL_NAMESPACE_WORDS,
  CORRECTION_VOCABULARY,
  HYPHENATED_WORDS,
  INTENT_WORDS,
  RESOURCE_WORDS,
  STOP_WORDS,
} from './vocabulary';

/** Scope from the entity page a question was asked on. */
export type ParseContext = {
  namespace?: string;
  labelSelector?: string;
};

const corrector = new TypoCorrector(CORRECTION_VOCABULARY);

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const KEY_VALUE = /^([a-z0-9.\-/]+)(!?=)([a-z0-9._\-/]*)$/i;

// Phrases that try to steer a model ("ignore previous instructions …") are
// noise to a parser; drop them with the rest of their sentence.
const INJECTION =
  /\b(ignore|disregard|forget)\b[^.;!?\n]*\b(instructions?|prompts?|rules|above|previous)\b[^.;!?\n]*/g;

// Multi-word resource names people type, joined into kubectl's word.
const PHRASE_MAP: Record<string, string> = {
  'limit range': 'limitrange',
  'limit ranges': 'limitranges',
  'replica set': 'replicaset',
  'replica sets': 'replicasets',
  'stateful set': 'statefulset',
  'stateful sets': 'statefulsets',
  'daemon set': 'daemonset',
  'daemon sets': 'daemonsets',
  'config map': 'configmap',
  'config maps': 'configmaps',
  'cron job': 'cronjob',
  'cron jobs': 'cronjobs',
  'persistent volume claim': 'pvc',
  'persistent volume claims': 'pvcs',
  'volume claims': 'pvcs',
  'horizontal pod autoscaler': 'hpa',
  'horizontal pod autoscalers': 'hpas',
  'resource quota': 'quota',
  'resource quotas': 'quotas',
  'end points': 'endpoints',
  'crash loop': 'crashloop',
  'crash looping': 'crashlooping',
  'crash loop back off': 'crashloopbackoff',
  'crash loop backoff': 'crashloopbackoff',
  'name space': 'namespace',
  'name spaces': 'namespaces',
};
const PHRASES = new RegExp(
  `\\b(${Object.keys(PHRASE_MAP)
    .sort((a, b) => b.length - a.length)
    .map(p => p.replace(/ /g, '\\s+'))
    .join('|')})\\b`,
  'g',
);

// Pod names made by a controller: <workload>-<hash>-<id> or <statefulset>-<n>.
const POD_NAME = /-[a-z0-9]{6,10}-[a-z0-9]{5}$|-[0-9]+$/;

type Token = {
  /** As typed (lowercased), for names. */
  raw: string;
  /** Typo-corrected, for intent. */
  word: string;
};

class Question {
  readonly text: string;
  readonly tokens: Token[];
  readonly keyValues: Array<{ key: string; op: string; value: string }> = [];
  readonly numbers: number[] = [];

  constructor(input: string) {
    const text = input
      .toLowerCase()
      .replace(INJECTION, ' ')
      .replace(/[’`]/g, "'")
      .replace(/\b(\w+)'s\b/g, '$1s')
      .replace(/'/g, '')
      .replace(PHRASES, (m: string) => PHRASE_MAP[m.replace(/\s+/g, ' ')] ?? m);
    const tokens: Token[] = [];
    for (const piece of text.split(/[\s,;:!?()"]+|\.(?=\s|$)/)) {
      const raw = piece.replace(/^[.]+|[.]+$/g, '');
      if (!raw) continue;
      const kv = KEY_VALUE.exec(raw);
      if (kv && !raw.startsWith('-')) {
        this.keyValues.push({ key: kv[1], op: kv[2], value: kv[3] });
        continue;
      }
      if (/^\d+$/.test(raw)) this.numbers.push(Number(raw));
      tokens.push({ raw, word: corrector.correct(raw) ?? raw });
    }
    this.tokens = tokens;
    this.text = ` ${tokens.map(t => t.word).join(' ')} `;
  }

  has(...words: string[]): boolean {
    return words.some(w => this.text.includes(` ${w} `));
  }

  hasPrefix(...prefixes: string[]): boolean {
    return this.tokens.some(t => prefixes.some(p => t.word.startsWith(p)));
  }

  index(word: string): number {
    return this.tokens.findIndex(t => t.word === word);
  }

  /** The number right after one of `words` or right before one of `after`. */
  numberNear(before: string[], after: string[]): number | undefined {
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i];
      if (!/^\d+$/.test(t.raw)) continue;
      const prev = this.tokens[i - 1]?.word;
      const prev2 = this.tokens[i - 2]?.word;
      const next = this.tokens[i + 1]?.word;
      const next2 = this.tokens[i + 2]?.word;
      if (prev && before.includes(prev)) return Number(t.raw);
      if (prev2 && before.includes(prev2) && prev === 'the')
        return Number(t.raw);
      if (next && after.includes(next)) return Number(t.raw);
      if (next2 && after.includes(next2)) return Number(t.raw);
    }
    return undefined;
  }
}

function isNameLike(raw: string): boolean {
  return (
    DNS_NAME.test(raw) &&
    !STOP_WORDS.has(raw) &&
    !HYPHENATED_WORDS.has(raw) &&
    !/^\d+$/.test(raw) &&
    !raw.startsWith('-')
  );
}

/** A token that can only be an identifier: has a digit or a hyphen. */
function looksLikeIdentifier(token: Token): boolean {
  return (
    isNameLike(token.raw) &&
    /[-\d.]/.test(token.raw) &&
    !corrector.correct(token.raw.replace(/-/g, ''))
  );
}

function isVocabulary(token: Token): boolean {
  return (
    token.word in RESOURCE_WORDS ||
    CORRECTION_VOCABULARY.includes(token.word) ||
    STOP_WORDS.has(token.word)
  );
}

function findNamespace(q: Question): {
  namespace?: string;
  allNamespaces: boolean;
  used: Set<number>;
} {
  const used = new Set<number>();
  const t = q.tokens;
  for (let i = 0; i < t.length; i++) {
    if (
      (t[i].raw === '-n' || t[i].raw === '--namespace') &&
      t[i + 1] &&
      isNameLike(t[i + 1].raw)
    ) {
      used.add(i + 1);
      return { namespace: t[i + 1].raw, allNamespaces: false, used };
    }
    if (t[i].raw === '-a' || t[i].raw === '--all-namespaces') {
      return { allNamespaces: true, used };
    }
  }
  for (let i = 0; i < t.length; i++) {
    const w = t[i].word;
    if (w !== 'namespace' && w !== 'ns') continue;
    const next = t[i + 1];
    const prev = t[i - 1];
    if (next && isNameLike(next.raw) && !isVocabulary(next)) {
      used.add(i + 1);
      return { namespace: next.raw, allNamespaces: false, used };
    }
    if (prev && isNameLike(prev.raw) && !isVocabulary(prev)) {
      used.add(i - 1);
      return { namespace: prev.raw, allNamespaces: false, used };
    }
  }
  const padded = ` ${t.map(x => x.raw).join(' ')} `;
  if (ALL_NAMESPACE_WORDS.some(p => padded.includes(` ${p} `))) {
    return { allNamespaces: true, used };
  }
  for (const preposition of ['in', 'from']) {
    for (let i = 0; i < t.length; i++) {
      if (t[i].word !== preposition) continue;
      let j = i + 1;
      if (t[j]?.word === 'the') j++;
      const candidate = t[j];
      if (!candidate || !isNameLike(candidate.raw) || isVocabulary(candidate)) {
        continue;
      }
      if (
        POD_NAME.test(candidate.raw) &&
        !t.slice(0, i).some(x => x.word === 'pod' || x.word === 'pods')
      ) {
        continue;
      }
      if (['shell', 'exec', 'logged'].includes(t[i - 1]?.word ?? '')) {
        continue;
      }
      // "logs from checkout-web": a workload, not a namespace, unless a
      // resource word says which one is the workload.
      const resourceBefore = t[i - 1] && t[i - 1].word in RESOURCE_WORDS;
      if (
        preposition === 'from' &&
        !t.slice(0, i).some(x => x.word in RESOURCE_WORDS && x.word !== 'app')
      ) {
        continue;
      }
      if (resourceBefore && t[i - 1].word === 'container') continue;
      used.add(j);
      return { namespace: candidate.raw, allNamespaces: false, used };
    }
  }
  return { allNamespaces: false, used };
}

function findName(
  q: Question,
  used: Set<number>,
  resourceHint?: PlanResource,
): { name?: string; resource?: PlanResource; index?: number } {
  const t = q.tokens;
  const isResourceWord = (i: number) => {
    const resource = RESOURCE_WORDS[t[i]?.word];
    return resource && resource !== 'namespaces' && t[i].word !== 'container'
      ? resource
      : undefined;
  };
  const free = (i: number) => i >= 0 && i < t.length && !used.has(i);
  // "pod web-0", "deployment checkout-web", "node worker-2"
  for (let i = 0; i < t.length - 1; i++) {
    const resource = isResourceWord(i);
    if (resource && free(i + 1) && looksLikeIdentifier(t[i + 1])) {
      return { name: t[i + 1].raw, resource, index: i + 1 };
    }
  }
  // "the inventory-service deployment"
  for (let i = 1; i < t.length; i++) {
    const resource = isResourceWord(i);
    if (resource && free(i - 1) && looksLikeIdentifier(t[i - 1])) {
      return { name: t[i - 1].raw, resource, index: i - 1 };
    }
  }
  // "statefulset postgres"
  for (let i = 0; i < t.length - 1; i++) {
    const resource = isResourceWord(i);
    const next = t[i + 1];
    if (
      resource &&
      free(i + 1) &&
      isNameLike(next.raw) &&
      !isVocabulary(next)
    ) {
      return { name: next.raw, resource, index: i + 1 };
    }
  }
  // any identifier-looking token
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    if (t[i - 1]?.word === 'container') continue;
    if (looksLikeIdentifier(t[i])) {
      return { name: t[i].raw, resource: resourceHint, index: i };
    }
  }
  return {};
}

function firstResource(
  q: Question,
  skip?: Set<number>,
  namespaceGiven?: boolean,
): PlanResource | undefined {
  // Endpoints are what people mean when they ask whether a service has any.
  if (q.has('endpoints', 'endpoint')) return 'endpoints';
  for (let i = 0; i < q.tokens.length; i++) {
    if (skip?.has(i)) continue;
    const r = RESOURCE_WORDS[q.tokens[i].word];
    if (r && r !== 'namespaces') return r;
  }
  if (!namespaceGiven && q.has('namespaces', 'namespace')) return 'namespaces';
  return undefined;
}

function limitOf(q: Question): number | undefined {
  return q.numberNear(
    ['top', 'first', 'latest', 'last', 'newest'],
    ['pods', 'events', 'nodes', 'deployments', 'most', 'highest'],
  );
}

class CannotParse extends Error {}

function scoped(
  plan: Plan,
  ns: ReturnType<typeof findNamespace>,
  context: ParseContext,
  options: { useContextSelector: boolean },
): Plan {
  const out: Plan = { ...plan };
  if (CLUSTER_SCOPED_RESOURCES.includes(out.resource)) {
    return out;
  }
  if (ns.namespace) {
    out.namespace = ns.namespace;
  } else if (ns.allNamespaces && !out.name) {
    out.allNamespaces = true;
  } else if (context.namespace) {
    out.namespace = context.namespace;
  } else if (!out.name) {
    out.allNamespaces = true;
  }
  if (
    options.useContextSelector &&
    !out.name &&
    !out.labelSelector &&
    context.labelSelector &&
    !ns.namespace &&
    !ns.allNamespaces
  ) {
    out.labelSelector = context.labelSelector;
  }
  return out;
}

function selectorFrom(q: Question): string | undefined {
  const parts = q.keyValues.map(kv => `${kv.key}${kv.op}${kv.value}`);
  return parts.length ? parts.join(',') : undefined;
}

function mapFrom(q: Question): Record<string, string> | undefined {
  const entries = q.keyValues.filter(kv => kv.op === '=');
  return entries.length
    ? Object.fromEntries(entries.map(kv => [kv.key, kv.value]))
    : undefined;
}

function parseMutation(
  q: Question,
  ns: ReturnType<typeof findNamespace>,
  context: ParseContext,
): Plan | undefined {
  const words = q.tokens.map(t => t.word);
  const first = words.find(
    w =>
      ![
        'please',
        'can',
        'you',
        'i',
        'want',
        'to',
        'go',
        'now',
        'kubectl',
      ].includes(w),
  );
  const named = findName(q, ns.used);
  const contextOnly = !named.name && !!context.labelSelector;

  // delete
  if (
    q.has('delete', 'remove', 'kill', 'nuke', 'destroy', 'terminate', 'rm') ||
    q.text.includes(' get rid of ')
  ) {
    const resource =
      named.resource ?? firstResource(q) ?? (named.name ? undefined : 'pods');
    if (
      resource === 'namespaces' ||
      (!named.name && q.has('namespace', 'ns'))
    ) {
      const name = ns.namespace ?? named.name;
      if (!name) throw new CannotParse('Which namespace?');
      return { verb: 'delete', resource: 'namespaces', name };
    }
    const selector = selectorFrom(q);
    if (!resource) throw new CannotParse('What should be deleted?');
    if (!named.name && !selector && !contextOnly) {
      throw new CannotParse(`Which ${resource} should be deleted?`);
    }
    return scoped(
      {
        verb: 'delete',
        resource,
        ...(named.name ? { name: named.name } : {}),
        ...(selector ? { labelSelector: selector } : {}),
      },
      ns,
      context,
      { useContextSelector: true },
    );
  }
  // drain
  if (q.has('drain', 'evacuate')) {
    if (!named.name) throw new CannotParse('Which node should be drained?');
    return { verb: 'drain', resource: 'nodes', name: named.name };
  }
  // exec
  if (q.has('exec', 'shell', 'ssh') || q.text.includes(' attach to ')) {
    if (!named.name) throw new CannotParse('Which pod?');
    return scoped(
      { verb: 'exec', resource: 'pods', name: named.name, command: ['sh'] },
      ns,
      context,
      { useContextSelector: false },
    );
  }
  // cordon / uncordon
  if (q.has('uncordon') || q.text.includes(' schedulable again ')) {
    if (!named.name) throw new CannotParse('Which node?');
    return { verb: 'uncordon', resource: 'nodes', name: named.name };
  }
  if (q.has('cordon', 'unschedulable')) {
    if (!named.name) throw new CannotParse('Which node?');
    return { verb: 'cordon', resource: 'nodes', name: named.name };
  }
  // scale
  const wantsScale =
    q.has('scale') ||
    (q.has('replicas') && (q.has('set', 'change') || q.text.includes(' to ')));
  if (
    wantsScale &&
    (first === 'scale' ||
      first === 'set' ||
      first === 'change' ||
      q.has('scale'))
  ) {
    const replicas = q.numberNear(['to'], ['replicas', 'pods', 'instances']);
    if (replicas === undefined) {
      throw new CannotParse('Scale to how many replicas?');
    }
    {
      const resource =
        named.resource &&
        ['deployments', 'statefulsets', 'replicasets'].includes(named.resource)
          ? named.resource
          : 'deployments';
      if (!named.name && !contextOnly)
        throw new CannotParse('What should be scaled?');
      return scoped(
        {
          verb: 'scale',
          resource,
          ...(named.name ? { name: named.name } : {}),
          replicas,
        },
        ns,
        context,
        { useContextSelector: true },
      );
    }
  }
  // rollout restart
  const restartIndex = words.findIndex(w =>
    ['restart', 'bounce', 'redeploy'].includes(w),
  );
  if (restartIndex >= 0) {
    const before = words[restartIndex - 1];
    const isNoun = [
      'the',
      'a',
      'last',
      'before',
      'after',
      'since',
      'each',
    ].includes(before ?? '');
    if (!isNoun && !q.has('logs', 'log')) {
      const resource =
        named.resource &&
        ['deployments', 'statefulsets', 'daemonsets'].includes(named.resource)
          ? named.resource
          : 'deployments';
      if (named.resource === 'pods' && named.name) {
        // Restarting a single pod means deleting it; say so rather than guess.
        return scoped(
          { verb: 'delete', resource: 'pods', name: named.name },
          ns,
          context,
          { useContextSelector: false },
        );
      }
      if (named.name || contextOnly) {
        return scoped(
          {
            verb: 'rollout',
            rolloutAction: 'restart',
            resource,
            ...(named.name ? { name: named.name } : {}),
          },
          ns,
          context,
          { useContextSelector: true },
        );
      }
      if (first === 'restart' || first === 'bounce' || first === 'redeploy') {
        throw new CannotParse('Restart which workload?');
      }
    }
  }
  // label / annotate (a change without its target is refused, never read)
  const labelVerb =
    first === 'label' ||
    q.text.includes(' add label') ||
    q.text.includes(' add a label') ||
    q.text.includes(' set label');
  const annotateVerb = q.has('annotate') || q.text.includes(' add annotation');
  if ((labelVerb || annotateVerb) && !q.keyValues.length) {
    throw new CannotParse('Which key=value should be set?');
  }
  if (labelVerb || annotateVerb) {
    const values = mapFrom(q);
    const resource = named.resource ?? firstResource(q) ?? 'pods';
    if (!values) throw new CannotParse('Which labels?');
    if (!named.name && !contextOnly) throw new CannotParse('Which resource?');
    return scoped(
      {
        verb: annotateVerb ? 'annotate' : 'label',
        resource,
        ...(named.name ? { name: named.name } : {}),
        ...(annotateVerb ? { annotations: values } : { labels: values }),
      },
      ns,
      context,
      { useContextSelector: true },
    );
  }
  return undefined;
}

const EVENT_REASONS: Array<[string[], string]> = [
  [['scheduling'], 'FailedScheduling'],
  [['back-off', 'backoff'], 'BackOff'],
  [['oom', 'oomkilled', 'oomkilling'], 'OOMKilling'],
  [['evicted', 'eviction', 'evictions'], 'Evicted'],
  [['unhealthy', 'probe', 'probes'], 'Unhealthy'],
];

function parseRead(
  q: Question,
  ns: ReturnType<typeof findNamespace>,
  context: ParseContext,
): Plan {
  const selector = selectorFrom(q);
  const named = findName(q, ns.used);
  const finish = (plan: Plan, useContextSelector = true) =>
    scoped(
      selector && !plan.labelSelector && !plan.name
        ? { ...plan, labelSelector: selector }
        : plan,
      ns,
      context,
      { useContextSelector },
    );
  const mentioned = firstResource(
    q,
    named.index !== undefined ? new Set([named.index]) : undefined,
    !!ns.namespace,
  );
  const nodesMentioned =
    q.has('node', 'nodes', 'machine', 'machines', 'workers') ||
    mentioned === 'nodes';
  const limit = limitOf(q);

  // logs
  // "last 30 lines from payments-api": lines of a workload are its logs.
  const linesOfSomething = q.has('lines', 'line') && !!named.name;
  if (
    (q.has('logs', 'log', 'printing', 'output', 'logging') ||
      linesOfSomething) &&
    !q.has('events')
  ) {
    const containerIndex = q.tokens.findIndex(t => t.word === 'container');
    let container: string | undefined;
    if (containerIndex >= 0) {
      const after = q.tokens[containerIndex + 1];
      const before = q.tokens[containerIndex - 1];
      if (after && isNameLike(after.raw) && !isVocabulary(after))
        container = after.raw;
      else if (
        before &&
        isNameLike(before.raw) &&
        !STOP_WORDS.has(before.raw) &&
        !(before.word in RESOURCE_WORDS)
      )
        container = before.raw;
    }
    const used = new Set(ns.used);
    q.tokens.forEach((t, i) => t.raw === container && used.add(i));
    const target = findName(q, used);
    const tailLines = q.numberNear(
      ['last', 'tail', 'latest'],
      ['lines', 'line', 'log'],
    );
    const previous =
      q.has('previous', 'before', 'crashed', 'prior') ||
      q.text.includes(' last run ');
    const base = {
      ...(container ? { container } : {}),
      ...(tailLines ? { tailLines } : {}),
      ...(previous ? { previous: true } : {}),
    };
    if (target.name) {
      const resource =
        target.resource &&
        ['pods', 'deployments', 'statefulsets', 'daemonsets', 'jobs'].includes(
          target.resource,
        )
          ? target.resource
          : 'deployments';
      return finish(
        { verb: 'logs', resource, name: target.name, ...base },
        false,
      );
    }
    const labelSelector =
      selector ??
      (ns.namespace || ns.allNamespaces ? undefined : context.labelSelector);
    if (!labelSelector) throw new CannotParse('Logs of which workload or pod?');
    return finish({ verb: 'logs', resource: 'pods', labelSelector, ...base });
  }

  // rollout status / history
  const rolloutWords =
    q.has('rollout', 'rolled', 'revisions', 'revision') ||
    (q.has('deploy', 'deployment', 'rollout') &&
      q.has(
        'succeed',
        'succeeded',
        'finished',
        'done',
        'complete',
        'completed',
      ));
  if (rolloutWords && !q.has('recent', 'recently', 'latest', 'newest')) {
    const action = q.has('history', 'revisions', 'revision', 'previous')
      ? 'history'
      : 'status';
    const resource =
      named.resource &&
      ['deployments', 'statefulsets', 'daemonsets'].includes(named.resource)
        ? named.resource
        : 'deployments';
    return finish({
      verb: 'rollout',
      rolloutAction: action,
      resource,
      ...(named.name ? { name: named.name } : {}),
    });
  }

  // usage (kubectl top)
  const memory = q.has('memory', 'ram', 'mem');
  const cpu = q.has('cpu');
  const usage =
    q.has(
      'usage',
      'consumes',
      'consuming',
      'consume',
      'eating',
      'hungry',
      'loaded',
      'top',
    ) && !q.has('restarts', 'restart');
  if (
    !q.has('pressure') &&
    (memory ||
      cpu ||
      (usage && (nodesMentioned || mentioned === 'pods' || !mentioned)))
  ) {
    if (!q.has('quota', 'quotas', 'limitrange', 'limitranges', 'limits')) {
      let sortBy: 'memory' | 'cpu' | undefined;
      if (memory) sortBy = 'memory';
      else if (cpu) sortBy = 'cpu';
      const resource =
        nodesMentioned && mentioned !== 'pods' ? 'nodes' : 'pods';
      const plan: Plan = {
        verb: 'top',
        resource,
        ...(sortBy ? { sortBy } : {}),
        ...(limit ? { limit } : {}),
      };
      return finish(plan);
    }
  }

  // quotas
  if (mentioned === 'resourcequotas' || q.has('quota', 'quotas')) {
    const detail = q.has(
      'usage',
      'left',
      'hitting',
      'used',
      'remaining',
      'much',
      'exceeded',
      'reached',
    );
    // Quotas are per namespace: "quota for payments" names the namespace.
    const forIndex = q.index('for');
    const target = forIndex >= 0 ? q.tokens[forIndex + 1] : undefined;
    const scope =
      !ns.namespace && target && isNameLike(target.raw) && !isVocabulary(target)
        ? { ...ns, namespace: target.raw }
        : ns;
    return scoped(
      { verb: detail ? 'describe' : 'get', resource: 'resourcequotas' },
      scope,
      context,
      { useContextSelector: false },
    );
  }

  // recent rollouts
  if (
    q.has('deployed', 'rollout', 'rollouts', 'releases', 'released') &&
    q.has('recent', 'recently', 'latest', 'last', 'newest')
  ) {
    return finish({ verb: 'get', resource: 'replicasets', sortBy: 'age' });
  }

  // events, warnings, what changed
  const eventReason = EVENT_REASONS.find(([words]) => q.has(...words))?.[1];
  const warnings = q.has(
    'warning',
    'warnings',
    'errors',
    'error',
    'problems',
    'problem',
    'issues',
  );
  const changed =
    q.has('changed', 'changes', 'happened', 'happening', 'going') &&
    !(mentioned && mentioned !== 'events');
  if (
    mentioned === 'events' ||
    warnings ||
    changed ||
    (eventReason && mentioned !== 'pods')
  ) {
    const selectors: string[] = [];
    if (eventReason && eventReason !== 'Unhealthy')
      selectors.push(`reason=${eventReason}`);
    else if (warnings) selectors.push('type=Warning');
    if (named.name) selectors.push(`involvedObject.name=${named.name}`);
    return scoped(
      {
        verb: 'get',
        resource: 'events',
        ...(selectors.length ? { fieldSelector: selectors.join(',') } : {}),
        sortBy: 'time',
        ...(limit ? { limit } : {}),
      },
      ns,
      context,
      { useContextSelector: false },
    );
  }

  // describe / what's wrong
  if (
    q.has('describe', 'details', 'detail') ||
    (q.has('wrong') && named.name)
  ) {
    const resource = named.resource ?? mentioned ?? 'pods';
    return finish(
      {
        verb: 'describe',
        resource,
        ...(named.name ? { name: named.name } : {}),
      },
      !named.name,
    );
  }

  // "pods on node worker-1"
  if (named.resource === 'nodes' && named.name && mentioned === 'pods') {
    return finish({
      verb: 'get',
      resource: 'pods',
      fieldSelector: `spec.nodeName=${named.name}`,
    });
  }

  // lists with conditions
  const resource: PlanResource =
    (named.resource && named.resource !== 'pods'
      ? named.resource
      : undefined) ??
    mentioned ??
    (named.name && q.has('replicas') ? 'deployments' : undefined) ??
    (named.name && q.has('port', 'ports') ? 'services' : undefined) ??
    'pods';
  const plan: Plan = { verb: 'get', resource };
  if (
    named.name &&
    resource !== 'pods' &&
    !(resource === 'nodes' && q.has('on'))
  ) {
    plan.name = named.name;
  }
  const crash =
    q.hasPrefix('crash') ||
    q.has('crashloopbackoff', 'crash-looping', 'crash-loop');
  if (crash) {
    plan.filter = 'crash-looping';
  } else if (q.has('pressure')) {
    plan.filter = 'pressure';
  } else if (q.has('pending')) {
    plan.fieldSelector = 'status.phase=Pending';
  } else if (
    q.text.includes(' not running ') ||
    q.text.includes(' not runing ')
  ) {
    plan.fieldSelector = 'status.phase!=Running';
  } else if (q.has('failed') && resource === 'jobs') {
    plan.filter = 'failed';
  } else if (q.has('failed') && q.has('state', 'phase', 'status')) {
    plan.fieldSelector = 'status.phase=Failed';
  } else if (
    q.has('unready', 'unhealthy', 'broken', 'failing', 'failed', 'healthy') ||
    q.text.includes(' not ready ') ||
    q.text.includes(' arent ready ') ||
    q.text.includes(' not fully ') ||
    q.text.includes(' not available ') ||
    q.text.includes(' unavailable ')
  ) {
    plan.filter = 'not-ready';
  }
  if (
    q.has('restarts', 'restart') &&
    q.has('most', 'highest', 'sort', 'sorted', 'count', 'many', 'top')
  ) {
    plan.sortBy = 'restarts';
  } else if (
    q.has('restarting', 'restarted', 'restarts', 'restart') &&
    !plan.filter
  ) {
    plan.filter = q.has('most', 'highest') ? undefined : 'restarting';
    if (!plan.filter) plan.sortBy = 'restarts';
  } else if (q.has('newest', 'recent', 'recently', 'latest', 'youngest')) {
    plan.sortBy = 'age';
  }
  if (limit && plan.sortBy) plan.limit = limit;
  if (
    resource === 'secrets' &&
    q.has('decode', 'decoded', 'reveal', 'value', 'values', 'contents', 'yaml')
  ) {
    plan.output = 'yaml';
  }
  if (plan.filter === undefined) delete plan.filter;
  return finish(plan);
}

/**
 * Turns a question into a plan without a model: typo-tolerant keyword
 * rules for the questions people ask most. Throws when the question is not
 * understood; a mutation it cannot pin down is never turned into a read.
 */
export function parseQuestion(
  question: string,
  context: ParseContext = {},
): Plan {
  const q = new Question(question);
  if (q.tokens.length === 0) {
    throw new CannotParse('The question is empty.');
  }
  // Without a single word about Kubernetes there is nothing to answer;
  // guessing "list pods" would pretend to understand.
  const generic = new Set([
    'show',
    'list',
    'namespace',
    'cluster',
    'across',
    'everywhere',
  ]);
  const meaningful = q.tokens.some(
    t =>
      t.word in RESOURCE_WORDS ||
      ((INTENT_WORDS as readonly string[]).includes(t.word) &&
        !generic.has(t.word)),
  );
  if (!meaningful && q.keyValues.length === 0) {
    throw new CannotParse(
      'The question does not mention anything Kubernetes knows about.',
    );
  }
  const ns = findNamespace(q);
  const mutation = parseMutation(q, ns, context);
  if (mutation) return mutation;
  return parseRead(q, ns, context);
}

export { CannotParse };
