/**
 * Rules as data: what makes a question hold more than one command, and which
 * change requests the plan cannot express exactly. Each rule carries the
 * sentence a person reads: what was understood and what cannot be done.
 */

/** Longest text the screening regexes look at; questions are at most 2000 characters. */
export const MAX_SCREENED_LENGTH = 4000;

/** Shell syntax that chains, substitutes or redirects commands. */
export const SHELL_CHAINING: Array<{ pattern: RegExp; what: string }> = [
  { pattern: /;/, what: 'a ";" separating commands' },
  { pattern: /&&|\|\|/, what: 'commands chained with "&&" or "||"' },
  { pattern: /(^|[^&])&($|[^&])/, what: 'a "&" running a second command' },
  { pattern: /\|/, what: 'a pipe "|" into another command' },
  { pattern: /\$\(|`/, what: 'a command substitution ("$(…)" or backticks)' },
  { pattern: /(^|\s)\d?>{1,2}\s*\S|(^|\s)<\s*\S/, what: 'a shell redirect' },
];

/** Instructions aimed at a model rather than a question about the cluster. */
export const INJECTION_PATTERNS: RegExp[] = [
  /\b(ignore|disregard|forget|override)\b[^.\n]{0,80}\b(instructions?|prompts?|rules|above|previous|safety)\b/,
  /\b(system|assistant|developer)\s*:/,
  /\byou are now\b/,
  /\b(admin|root|god)\s+mode\b/,
  /\bas the (admin|administrator|root)\b/,
];

/** Words that join two requests into one question. */
export const CLAUSE_JOINERS =
  /\b(?:and then|then|and after that|after that|afterwards|and also|also|plus)\b|\band\b(?=\s+(?:kubectl\s+)?[a-z]+\s)/;

/**
 * Change requests the assistant cannot express exactly as one plan. Matched
 * against the lower-cased question; the first match refuses.
 */
export const UNEXPRESSIBLE_CHANGES: Array<{
  pattern: RegExp;
  understood: string;
  cannot: string;
}> = [
  {
    pattern:
      /\bset\s+image\b|\b(update|change|set|bump|switch)\b.{0,40}\bimage\b/,
    understood: 'you want to change the image a workload runs',
    cannot:
      'the assistant does not change images; ship a new image through your deployment pipeline or template',
  },
  {
    pattern: /\bport[- ]?forward\b|\bforward\s+(the\s+)?port\b/,
    understood: 'you want a port forwarded to your machine',
    cannot:
      'the assistant runs in Backstage, not on your machine, so it cannot open a tunnel; run kubectl port-forward yourself',
  },
  {
    pattern: /\bkubectl\s+run\b|\bdebug\b|\bspin up\b|\bstart a (new )?pod\b/,
    understood: 'you want to start a new or debug pod',
    cannot: 'the assistant does not create pods or run debug containers',
  },
  {
    pattern: /\b(kubectl\s+)?cp\b|\bcopy\b.{0,30}\b(file|files|out of|into)\b/,
    understood: 'you want to copy files to or from a container',
    cannot: 'the assistant does not copy files',
  },
  {
    pattern: /\bedit\b/,
    understood: 'you want to edit an object by hand',
    cannot:
      'the assistant cannot open an editor; ask for the exact change (scale, label, annotate, patch with a JSON body)',
  },
  {
    pattern: /\b(apply|create|install)\b/,
    understood: 'you want to create or apply objects',
    cannot:
      'the assistant does not create objects from YAML; use a Software Template so the change is reviewed and recorded',
  },
  {
    pattern:
      /\b(clean out|clear out|wipe|empty|purge|delete|remove)\b.{0,30}\b(everything|all resources|all objects|all the resources|all the objects)\b|\b(empty|clean out|clear out|wipe)\b.{0,20}\bnamespace\b|\bempty the\b/,
    understood: 'you want every object in a namespace removed',
    cannot:
      'one plan deletes one kind of object; delete the namespace, or name the kind to delete (for example "delete pods with app=x in shop")',
  },
  {
    pattern:
      /\b(remove|delete|drop|unset)\s+(the\s+|a\s+)?(label|annotation)s?\b/,
    understood: 'you want a label or annotation removed',
    cannot:
      'the assistant only sets labels and annotations; it cannot remove one',
  },
  {
    pattern:
      /\btake\s+(it\s+|this\s+)?down\b(?!\s+to\b)|\btake\s+(the\s+)?[a-z0-9-]+(\s+deployment)?\s+down\b(?!\s+to\b)/,
    understood: 'you want a workload stopped',
    cannot:
      'that could mean scaling it to zero or deleting it; say which (for example "scale checkout-web to 0")',
  },
];
