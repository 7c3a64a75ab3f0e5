import { PlanRefusal } from '@kubechart/plugin-assistant-node';
import { changeKind } from './mutations';
import { KnownNames } from './names';
import { Question, corrector } from './question';
import { CHANGE_RULES } from './rules/changes';
import { LEADING_FILLER } from './vocabulary';

/** Every change verb of the rules ("delete", "nuke", "drain" …), with the rule it belongs to. */
const RULE_OF_VERB = new Map(
  CHANGE_RULES.flatMap(rule => rule.words.map(word => [word, rule] as const)),
);

/**
 * A question that names no change but starts (or starts a clause, after "please", "can you" …)
 * with a word a typo away from a change verb ("drian node-1", "delte deployment web", "pod web-1
 * is stuck, please delte it") is refused, naming the verb the word looks like. The typo is never
 * corrected into the change (question.ts), so without this the question was refused as one that
 * "does not mention anything Kubernetes knows about", or planned as a read of what it names. A
 * name the cluster has is a name, not a typo.
 */
export function refuseMisspelledChange(q: Question, known: KnownNames) {
  if (changeKind(q)) return;
  const names = known.names();
  // The first word of each clause that is no filler, one pass over the words.
  let looked = -1;
  for (const lead of q.tokens) {
    if (lead.clause === looked || LEADING_FILLER.has(lead.raw)) continue;
    looked = lead.clause;
    if (names.has(lead.raw)) continue;
    const verbs = corrector
      .guardedTypoOf(lead.raw)
      .filter(word => RULE_OF_VERB.has(word));
    if (verbs.length === 0) continue;
    const looksLike = verbs.map(v => `"${v}"`).join(' or ');
    throw new PlanRefusal(
      `I understood that "${
        lead.raw
      }" looks like a misspelling of the change verb ${looksLike}, but the assistant does not guess changes: it plans one only when its verb is spelled out, and plans nothing in its place. Ask again with "${
        verbs[0]
      }" spelled out, for example "${
        RULE_OF_VERB.get(verbs[0])!.example
      }". Nothing was planned.`,
    );
  }
}
