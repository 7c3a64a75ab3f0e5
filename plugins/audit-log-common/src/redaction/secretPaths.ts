/*
 * Annotations whose value names where a secret is kept, not the secret: the Vault Agent Injector's
 * `vault.hashicorp.com/agent-inject-secret-<name>`, whose value is the Vault path of the secret it
 * renders into the pod (`database/creds/readonly`), as a `secretKeyRef` names a Secret's key. A
 * change that points a pod at another secret must show which, and a record must say so; its key
 * holds a secret word, so the key rules alone would hide it. What else the injector reads (its
 * `agent-inject-template-<name>`, a template that may hold text of its own) is left to the rules
 * of every other annotation.
 */

const PREFIX = 'vault.hashicorp.com/';
/** `vault.hashicorp.com/agent-inject-secret-<name>`. */
const SECRET_PATH_KEY =
  /^vault\.hashicorp\.com\/agent-inject-secret-[A-Za-z0-9][-._A-Za-z0-9]{0,62}$/;
/**
 * A Vault path: a mount and at least one segment more, of path characters alone
 * (`secret/data/app`, `database/creds/readonly`); a token (`hvs.…`) or a sentence is none. The
 * segments are parted by `/`, which none holds: linear.
 */
const VAULT_PATH =
  /^[A-Za-z0-9][-._A-Za-z0-9]{0,127}(?:\/[-._A-Za-z0-9]{1,128}){1,31}$/;
/** The path characters from a place of text. */
const PATH_RUN = /[-._A-Za-z0-9/]{1,4096}/y;
/** What may end an unquoted value in text: a blank, a quote, the end of a flow item. */
const VALUE_END = /[\s'",}\]]/;
/** A character of a key. */
const KEY_CHAR = /[A-Za-z0-9_.-]/;

/**
 * Whether `value`, under the annotation (or values) key `key`, is the Vault path a
 * `vault.hashicorp.com/agent-inject-secret-<name>` annotation names: a reference, shown where the
 * key rules would hide it.
 * @public
 */
export function isSecretPathAnnotation(key: string, value: unknown): boolean {
  return (
    typeof value === 'string' &&
    SECRET_PATH_KEY.test(key) &&
    VAULT_PATH.test(value)
  );
}

/**
 * For free text, whether the key word from `start` to `end` is that of such an annotation (its
 * `vault.hashicorp.com/` before it, not part of a longer word) and its value at `from` a Vault
 * path, quoted or ending where an unquoted value does (`…-secret-db: database/creds/x`,
 * `"…-secret-db":"database/creds/x"`, `'…-secret-db=database/creds/x'`). Reads the value's path
 * characters once.
 */
export function namesSecretPath(
  text: string,
  start: number,
  end: number,
  from: number,
): boolean {
  const at = start - PREFIX.length;
  if (at < 0 || !text.startsWith(PREFIX, at)) return false;
  if (at > 0 && KEY_CHAR.test(text[at - 1])) return false;
  if (!SECRET_PATH_KEY.test(text.slice(at, end))) return false;
  const quote = text[from] === '"' || text[from] === "'" ? text[from] : '';
  PATH_RUN.lastIndex = from + quote.length;
  const run = PATH_RUN.exec(text);
  if (!run || !VAULT_PATH.test(run[0])) return false;
  const after = text[PATH_RUN.lastIndex];
  return quote ? after === quote : after === undefined || VALUE_END.test(after);
}
