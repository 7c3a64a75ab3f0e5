import { isSecretKey } from '../redaction/redact';
import {
  CLAUSE_JOINERS,
  INJECTION_PATTERNS,
  MAX_SCREENED_LENGTH,
  SHELL_CHAINING,
} from '../providers/builtin/rules/refusals';

/**
 * Verbs that start a command of their own. Two clauses that each hold one
 * are two requests.
 */
const COMMAND_VERBS = new Set([
  'get',
  'list',
  'show',
  'describe',
  'delete',
  'remove',
  'kill',
  'nuke',
  'destroy',
  'purge',
  'scale',
  'restart',
  'rollout',
  'drain',
  'cordon',
  'uncordon',
  'label',
  'annotate',
  'patch',
  'exec',
  'apply',
  'create',
  'edit',
  'echo',
  'rm',
  'kubectl',
]);

/**
 * One line with each `'quoted'` part, and the part from a `{` to the line's last `}` (a JSON
 * body), as a space: what `/'[^']*'|\{.*\}/g` replaces, in one pass. That pattern tries every `{`
 * up to the end of the line, so a line of 4,000 `{` costs millions of steps.
 */
function withoutQuotedParts(line: string): string {
  const lastBrace = line.lastIndexOf('}');
  let out = '';
  let copied = 0;
  for (let i = 0; i < line.length; i++) {
    let end = -1;
    if (line[i] === "'") end = line.indexOf("'", i + 1);
    else if (line[i] === '{' && lastBrace > i) end = lastBrace;
    if (end !== -1) {
      out += `${line.slice(copied, i)} `;
      copied = end + 1;
      i = end;
    }
  }
  return copied === 0 ? line : out + line.slice(copied);
}

/** Why a question is refused before any provider sees it. */
export type Screening = { refusal: string } | { refusal?: undefined };

/**
 * Refuses, before any provider plans it, a question that holds more than one
 * command (shell chaining, substitution, redirects, a second request on a new
 * line or after "and then") or instructions aimed at a model. Safety then
 * never depends on which of two commands a provider picks.
 */
export function screenQuestion(question: string): Screening {
  const text = question.slice(0, MAX_SCREENED_LENGTH).toLowerCase();
  // Quoted JSON (a patch body) may hold characters that look like shell.
  const outsideQuotes = text.split('\n').map(withoutQuotedParts).join('\n');
  for (const rule of SHELL_CHAINING) {
    if (rule.pattern.test(outsideQuotes)) {
      return {
        refusal: `One request at a time: this question holds ${rule.what}, so it could run more than one command. Ask for each command separately.`,
      };
    }
  }
  if (INJECTION_PATTERNS.some(p => p.test(text))) {
    return {
      refusal:
        'This question holds instructions aimed at the assistant itself, so it is refused as a whole. Ask for one Kubernetes command in plain words.',
    };
  }
  const clauses = outsideQuotes
    .split(/\n+|[.!?](?:\s+|$)|,/)
    .flatMap(part => part.split(CLAUSE_JOINERS))
    .map(part => part?.trim())
    .filter((part): part is string => !!part);
  const withVerb = clauses.filter(clause => {
    const first = clause.split(/\s+/).filter(w => w !== 'please')[0];
    return first !== undefined && COMMAND_VERBS.has(first);
  });
  if (withVerb.length > 1) {
    return {
      refusal: `One request at a time: this question asks for ${
        withVerb.length
      } commands ("${withVerb
        .map(c => c.slice(0, 40))
        .join('", "')}"). Ask for each separately.`,
    };
  }
  return {};
}

/**
 * `key=`, `key: ` or a JSON body's `"key":` (a maximal run of key characters, a closing quote, then
 * the separator): where a secret may be assigned. Linear: a run is tried once, from its first
 * character (the look-behind), and whether the key names a secret is decided in code. A pattern
 * with the secret word between two runs of key characters (`[…]*token[…]*`) backtracks cubically
 * on a question such as "tokentoken…".
 */
const ASSIGNMENT_KEY = /(?<![A-Za-z0-9_.\/-])([A-Za-z0-9_.\/-]+)"?\s*[=:]\s*/g;
/** A key that names a secret, wherever in it (a label key's prefix too): `db-password`, `apiKey`. */
const SECRET_KEY_WORD =
  /password|passwd|secret|token|api[-_]?key|credential|private[-_]?key/i;

/**
 * Whether the value assigned to `key` is a secret: by the rule that hides the plan's labels,
 * annotations and patch keys (`isSecretKey`: `signing-key`, `authorization`, `session-cookie`,
 * `db.pass`), so that no value the plan shows as `***` is kept in the question. A Kubernetes key's
 * prefix (`rbac.authorization.k8s.io/` of `…/aggregate-to-view=true`) is a domain naming an API
 * group, so only the name after it is judged so, and the prefix only by the narrower words.
 */
function isSecretAssignment(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = key.slice(0, Math.max(slash, 0));
  const name =
    prefix.includes('.') && !prefix.includes('/') ? key.slice(slash + 1) : key;
  return isSecretKey(name) || SECRET_KEY_WORD.test(key);
}
/** The value assigned: quoted, or up to a space, comma or semicolon. */
const ASSIGNED_VALUE = /"[^"]*"|'[^']*'|[^\s,;]+/y;

/**
 * `text` with the value of every `key=value` or `key: value` whose key names a secret
 * (`db-password=…`, `token: …`, `apiKey=…`, `signing-key=…`) replaced by `***`. After a key that
 * names none, the scan goes on right after the separator, so `a=token=xyz` still hides `xyz`. One
 * pass: linear.
 */
function withoutAssignedSecrets(text: string): string {
  let out = '';
  let copied = 0;
  ASSIGNMENT_KEY.lastIndex = 0;
  for (
    let m = ASSIGNMENT_KEY.exec(text);
    m !== null;
    m = ASSIGNMENT_KEY.exec(text)
  ) {
    const valueAt = m.index + m[0].length;
    if (!isSecretAssignment(m[1])) continue;
    ASSIGNED_VALUE.lastIndex = valueAt;
    const value = ASSIGNED_VALUE.exec(text);
    if (!value) continue;
    out += `${text.slice(copied, valueAt)}***`;
    copied = valueAt + value[0].length;
    ASSIGNMENT_KEY.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * A secret told in words: "my password is hunter2secret", "api key ghp_16C7e…". The word stands
 * alone (not `db-password`), then "is"/"was" or a space, then the value. Only values that look like
 * a credential count (see {@link looksLikeCredential}), so "secret db-password", "token expiry" or
 * "the secret is missing" are questions, not secrets. Linear: no nested quantifiers.
 */
const SECRET_PHRASE =
  /(?<![\w-])(password|passwd|passphrase|token|api[-_ ]?key|secret|credentials?|private[-_ ]?key)(\s+(?:is|was)\s+|\s+)("[^"]*"|'[^']*'|[^\s,;]+)/gi;
const SECRET_WORD_SEGMENT =
  /^(?:password|passwd|token|key|secret|creds?|credentials?|cert|tls)$/i;
/** A Kubernetes object name: what follows "secret" or "token" in most questions. */
const DNS_NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/**
 * Whether a word after a secret word is a credential rather than a name or an ordinary word: at
 * least 8 characters with both letters and digits, and not a name made of words such as
 * `db-password-v3`. Without "is" ("password Pa55word2024", "secret tls-cert-2024"), a lower-case
 * object name never counts: "describe secret old-token-2023" is a question about a Secret.
 */
function looksLikeCredential(value: string, told: boolean): boolean {
  const v = value.replace(/^["']|["']$/g, '');
  if (v.length < 8 || !/[A-Za-z]/.test(v) || !/\d/.test(v)) return false;
  if (v.split(/[-.]/).some(part => SECRET_WORD_SEGMENT.test(part))) {
    return false;
  }
  return told || !DNS_NAME.test(v);
}

/**
 * The question with the value of every secret-looking `key=value` replaced by `***`, and of every
 * secret told in words ("my password is hunter2secret"). A question that holds one is refused as a
 * whole (the assistant does not set secrets, and would otherwise keep the value in history and the
 * audit trail); this is the text that is recorded of it.
 */
export function withoutSecretValues(question: string): string {
  return withoutAssignedSecrets(question).replace(
    SECRET_PHRASE,
    (phrase, word: string, between: string, value) => {
      const told = /\S/.test(between);
      // "secret <name>" names a Secret; only "the secret is <value>" tells one.
      if (!told && /^secret$/i.test(word)) return phrase;
      return value !== '***' && looksLikeCredential(value, told)
        ? `${word}${between}***`
        : phrase;
    },
  );
}
