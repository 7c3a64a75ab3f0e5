import { InputError } from '@backstage/errors';
import { PolicyException } from './types';

/** Rules that guard the run itself: they cannot be turned off, downgraded or exempted. */
export const MANDATORY_RULE_IDS = ['run-scope', 'valid-object'];

/** `*` matches any run of characters; everything else literally. Linear: no regex over user text. */
export function globMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (
    !value.startsWith(first) ||
    value.length < first.length + last.length ||
    !value.endsWith(last)
  )
    return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const at = value.indexOf(parts[i], pos);
    if (at < 0 || at + parts[i].length > end) return false;
    pos = at + parts[i].length;
  }
  return true;
}

/** Validates configured exceptions; throws InputError naming the bad entry. */
export function validateExceptions(
  exceptions: PolicyException[],
  knownRules: string[],
): PolicyException[] {
  return exceptions.map((e, i) => {
    const where = `kubechart.policy.exceptions[${i}]`;
    if (!e || typeof e.rule !== 'string' || !e.rule)
      throw new InputError(`${where} needs a rule id`);
    if (MANDATORY_RULE_IDS.includes(e.rule)) {
      throw new InputError(
        `${where}: rule ${e.rule} cannot be exempted; it guards what a run may write`,
      );
    }
    if (!knownRules.includes(e.rule))
      throw new InputError(`${where}: unknown rule "${e.rule}"`);
    if (typeof e.reason !== 'string' || !e.reason.trim())
      throw new InputError(`${where} needs a reason`);
    if (!e.namespace && !e.name) {
      throw new InputError(
        `${where} must name a namespace or an object; to turn ${e.rule} off everywhere use kubechart.policy.rules`,
      );
    }
    // A name pattern of nothing but `*` with no namespace matches every object everywhere: the rule
    // turned off by another name (for a rule that blocks in every mode, where that is refused).
    if (!e.namespace && typeof e.name === 'string' && /^\*+$/.test(e.name)) {
      throw new InputError(
        `${where} must name a namespace or an object; name "${e.name}" matches every object (to turn ${e.rule} off everywhere use kubechart.policy.rules)`,
      );
    }
    for (const k of ['namespace', 'kind', 'name'] as const) {
      if (
        e[k] !== undefined &&
        (typeof e[k] !== 'string' || e[k]!.length > 253)
      )
        throw new InputError(`${where}.${k} is invalid`);
    }
    return { ...e, reason: e.reason.trim() };
  });
}

/** The first exception that covers a rule result on an object, if any. */
export function findException(
  exceptions: PolicyException[],
  ruleId: string,
  object: { kind: string; name: string; namespace?: string },
): PolicyException | undefined {
  return exceptions.find(
    e =>
      e.rule === ruleId &&
      (e.namespace === undefined || e.namespace === object.namespace) &&
      (e.kind === undefined || e.kind === object.kind) &&
      (e.name === undefined || globMatches(e.name, object.name)),
  );
}
