import { hideConfigFileSecrets } from './configFiles';
import { REDACTED, holdsSecretWord, isSecretName } from './names';
import { hideSecretPairs } from './secretPairs';
import { hideUrlCredentialsWith } from './urlCredentials';
import { MAX_DECODINGS, hideParams, hideUrlParameters } from './urlParameters';

/**
 * How {@link redactText}, {@link redactUrl} and {@link hideUrlCredentials} hide what they find.
 * The defaults are the audit trail's; the KubeChart and assistant families show tool output
 * (helm, kubectl, logs) with the wider rules `{ keys: 'any-word', midLineValues: 'line' }`.
 * @public
 */
export type TextRedactionOptions = {
  /** What replaces a hidden value; `[REDACTED]` by default. */
  placeholder?: string;
  /**
   * The text is the start of a longer one: what runs to its end and may be a secret cut short (a
   * URL's authority or parameter, a token) is hidden too.
   */
  cut?: boolean;
  /**
   * Which keys name a secret: `last-word` (default) when their last word does (`db.password`,
   * `apiKey`; not `tokenCount`, `secretName`, `password-policy`), and `true`/`false` are shown as
   * settings; `any-word` when they hold a secret word anywhere (`tokenCount`, `password_hash`),
   * booleans hidden too.
   */
  keys?: 'last-word' | 'any-word';
  /**
   * How far an unquoted value after `key: ` (or `key = `) runs when the key does not start its
   * line: `one-word` (default) keeps prose, policy messages, helm errors and refusals readable
   * (`with its own credentials: choose the cluster` hides only `choose`); `line` hides to the end
   * of the line (`login refused, token: abc def` hides `abc def`). A key that starts its line
   * hides to its end either way. `key:value` without a blank is one word (a command line's
   * argument: `cache.token:abc def` hides `abc`), except with `one-word` when it starts its line
   * (`PASSWORD:correct horse` hides `correct horse`).
   */
  midLineValues?: 'one-word' | 'line';
};

function rulesOf(options: TextRedactionOptions) {
  const anyWord = options.keys === 'any-word';
  return {
    placeholder: options.placeholder ?? REDACTED,
    cut: options.cut ?? false,
    anyWord,
    oneWord: options.midLineValues !== 'line',
    isName: anyWord ? holdsSecretWord : isSecretName,
  };
}

/**
 * `scheme://user:pass@host` → `scheme://user:[REDACTED]@host` for every URL of the text, a
 * password holding `/`, `?` or `#` too (`https://app:pa/ss@host`: up to the `@` later in the same
 * word, unless what follows the colon is a port: `https://host:8443/users/@me`); a user without a
 * password that is not a plain login name (a token: `https://ghp_x1@github.com/org/repo`) →
 * `scheme://[REDACTED]@host` (`git@github.com`, `https://jane.doe@host` are shown). With `cut`,
 * an authority running to the end of the text is hidden after its first colon (or whole, when it
 * has none and is not a plain name). Linear in the text.
 * @public
 */
export function hideUrlCredentials(
  text: string,
  options: Pick<TextRedactionOptions, 'placeholder' | 'cut'> = {},
): string {
  return hideUrlCredentialsWith(
    text,
    options.placeholder ?? REDACTED,
    options.cut ?? false,
  );
}

/**
 * `text` with the secrets written in it hidden (as `[REDACTED]`, or `options.placeholder`):
 * - URL credentials (`postgres://app:[REDACTED]@db/x`, a token as the user:
 *   `https://[REDACTED]@github.com/org/repo`), and the secret parameters of the query and fragment
 *   of every URL and request path (`?code=[REDACTED]&state=1`, `&access_token=`,
 *   `&client_secret=`, `&sig=`, `X-Amz-Signature=`; see {@link redactUrl});
 * - the values of `key: value` / `key=value` pairs whose key names a secret (`password: [REDACTED]`,
 *   `DB_PASSWORD=[REDACTED]`, `"Client Secret": "[REDACTED]"`, JSON escaped in JSON), a YAML
 *   block or nested value's lines, a properties file's continued lines; inside brackets to the
 *   item's end (`{password: [REDACTED], mode: fast}`), in a string to its end;
 * - the `value` of an env entry whose `name` names a secret, before or after it
 *   (`{"value":"[REDACTED]","name":"DB_PASSWORD"}`); not the names a reference holds
 *   (`secretKeyRef: {name: db, key: password}` is shown), nor, in JSON text, a name where
 *   Kubernetes reads a reference to a Secret (a patch's or an object's
 *   `"volumes":[{"secret":{"secretName":"db","optional":true}}]` is shown; see
 *   `keepKubeReferences`), while such a mapping holding anything else is hidden whole; nor a
 *   structural key, in JSON text (a toleration's `key`, a selector requirement's, a ConfigMap
 *   item's, a `topologyKey`, where the mapping holds that structure's fields alone and the value
 *   is a label or data key; see `keepStructuralKeys`), nor the Vault path a
 *   `vault.hashicorp.com/agent-inject-secret-<name>` annotation names (see
 *   `isSecretPathAnnotation`);
 * - `Authorization` values (`Authorization: Bearer [REDACTED]`), `Bearer` and `Basic` credentials,
 *   a private key's PEM body, a `.pgpass` line's password (`db:5432:app:appuser:[REDACTED]`), the
 *   text of an XML element naming a secret (`<password>[REDACTED]</password>`) and the `<value>`
 *   of a `<name>` naming one, a secret flag's value (`--password [REDACTED]`, `["--token", "x"]`),
 *   known password flags (`mysql -p[REDACTED]`, `redis-cli -a [REDACTED]`, in a container's
 *   `command:`/`args:` lists too).
 * Prose stays readable (`password-policy updated`, `bearer tokens`); a URL's path segments are not
 * guessed at (`/reset/<token>` stays). Linear in the text; the caller bounds it. See
 * {@link TextRedactionOptions} for how keys are judged and how far values run.
 * @public
 */
export function redactText(
  text: string,
  options: TextRedactionOptions = {},
): string {
  return redactWithin(text, options, MAX_DECODINGS);
}

/**
 * Whether `value` (a URL parameter's, `cut` or not) holds a secret the free-text rules find, the
 * parameters of the URLs in it decoded at most `decodings` times more: what decoding a parameter
 * costs counts against the nested ones it holds, so a URL escaped inside itself over and over is
 * scanned a bounded number of times, not once per level.
 */
function holdsSecretWith(options: TextRedactionOptions) {
  return (value: string, cut: boolean, decodings: number) =>
    redactWithin(value, { ...options, cut }, decodings) !== value;
}

/** {@link redactText}, with at most `decodings` decodings of a URL parameter's value left. */
function redactWithin(
  text: string,
  options: TextRedactionOptions,
  decodings: number,
): string {
  const rules = rulesOf(options);
  const urls = hideUrlParameters(
    hideUrlCredentialsWith(text, rules.placeholder, rules.cut),
    rules.placeholder,
    rules.cut,
    holdsSecretWith(options),
    rules.isName,
    decodings,
  );
  return hideSecretPairs(
    hideConfigFileSecrets(urls, rules.placeholder, rules.isName, rules.anyWord),
    rules,
  );
}

/**
 * A URL or request path (`request.originalUrl`) with the secrets in it hidden (as `[REDACTED]`,
 * or `options.placeholder`): the value of every query or fragment parameter whose name names a
 * secret (the key rule of free text: a name ending in `password`, `token`, `secret`, `key`, …,
 * a signature, or OAuth's `code`, decoded: `?access_token=[REDACTED]&state=1`,
 * `access%5Ftoken=[REDACTED]`, `#access_token=[REDACTED]`, `X-Amz-Signature=[REDACTED]`, every one
 * of repeated parameters), the value of any other parameter that holds a secret the free-text
 * rules find or a nested query's secret parameter, decoded up to three times (hidden whole; still
 * escaped after that, hidden too), and the credentials of an absolute URL
 * (`https://user:[REDACTED]@host/…`). Ordinary parameters stay readable
 * (`?page=2&q=tokenizer&sortKey=name&token_type=bearer`). Linear in the text; the caller bounds
 * it. With `cut` (the text is the start of a longer one), a value running to its end is redacted
 * as cut.
 * @public
 */
export function redactUrl(
  url: string,
  options: TextRedactionOptions = {},
): string {
  const rules = rulesOf(options);
  const start = url.search(/[?#]/);
  if (start === -1)
    return hideUrlCredentialsWith(url, rules.placeholder, rules.cut);
  return (
    hideUrlCredentialsWith(url.slice(0, start), rules.placeholder, false) +
    url[start] +
    hideParams(
      url.slice(start + 1),
      rules.placeholder,
      rules.cut,
      holdsSecretWith(options),
      rules.isName,
    )
  );
}
