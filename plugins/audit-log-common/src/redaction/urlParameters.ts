import { isSecretName } from './names';
import { TOKEN_END } from './urlCredentials';

/**
 * Characters that end a parameter of a query or fragment, where the next one may start. More than
 * `&`: a server may split on `;`, and a `?` in a query or fragment starts a nested one
 * (`?next=/cb?token=x`, `#/cb?access_token=x`), so each is a place a secret's name may start.
 */
const PARAM_END = '&;?#';
/**
 * Characters that end a secret parameter's value: only the next `&` and the fragment, so that a
 * value holding `;` or `?` is hidden whole.
 */
const SECRET_VALUE_END = '&#';
const ESCAPE = /%[0-9a-f]{2}/i;
/** What decoding a query's value would still change: an escape, or a `+` (a blank). */
const STILL_ENCODED = /%[0-9a-f]{2}|\+/i;
/**
 * How many times an ordinary parameter's value is decoded to look for a secret in it (a redirect
 * escaped once per hop: `?redirect=%2Fcb%3Fnext%3D%252Fx%253Ftoken%253Dx`), in all: the nested
 * queries a decoded value holds share what is left; a value still encoded after that (`%xx`, or a
 * `+` for a blank) cannot be told and is hidden.
 */
export const MAX_DECODINGS = 3;
/**
 * Parameters that carry a credential whatever free text calls them: a signature of a presigned or
 * SAS URL (`X-Amz-Signature`, `Signature`, `sig`), and OAuth's authorization `code`, which buys
 * its tokens.
 */
const CREDENTIAL_PARAM = /(?:^|[^a-z])sig$|signature$|^code$/i;

/** A value no free-text rule finds anything in, whatever its parameter: one plain word. */
const PLAIN_VALUE = /^[\w.~/-]*$/;

/**
 * Whether a value holds a secret the free-text rules find (`holdsSecret(value, cut, decodings)`),
 * the values of the URLs in it decoded at most `decodings` times more.
 */
export type HoldsSecret = (
  value: string,
  cut: boolean,
  decodings: number,
) => boolean;

/** `text` decoded as a query's name or value (`+` is a space); undefined when it does not decode. */
function decode(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Whether a key names a secret (by its last word, or a secret word anywhere). */
export type IsSecretName = (name: string) => boolean;

/**
 * Whether a parameter's name, as written in the URL, names a secret by the key rule of free
 * text (`isName`) (`access_token`, `client_secret`, `apiKey`, `X-Amz-Signature`, `code`; not `token_type`,
 * `sortKey`, `keyboard`): decoded (`access%5Ftoken`), twice if it is escaped twice
 * (`access%255Ftoken`). A name that does not decode, or still holds an escape after that, counts
 * as secret (fail closed).
 */
function isSecretParam(raw: string, isName: IsSecretName): boolean {
  const named = (name: string) => isName(name) || CREDENTIAL_PARAM.test(name);
  const once = decode(raw);
  if (once === undefined) return true;
  if (once === raw || !once.includes('%')) return named(once);
  const twice = decode(once);
  return twice === undefined || ESCAPE.test(twice) || named(twice);
}

/**
 * Whether an ordinary parameter's value holds a secret: one the free-text rules find
 * (`postgres://app:pw@db`, `Bearer x`, `token=x`), or a nested query's secret parameter
 * (`?next=%2Fcb%3Faccess_token%3Dx`), as written and decoded up to `decodings` times, those of
 * the nested queries included; a value that decoding would still change after that (an escape,
 * or a `+` that is a blank: `Bearer+eyJ…`) counts as holding one (fail closed).
 */
function valueHoldsSecret(
  raw: string,
  cut: boolean,
  holdsSecret: HoldsSecret,
  isName: IsSecretName,
  decodings: number,
): boolean {
  // One word of letters, digits and `_.~/-` holds nothing any rule finds (most values).
  if (PLAIN_VALUE.test(raw)) return false;
  let value = raw;
  for (let round = 0; ; round++) {
    if (
      holdsSecret(value, cut, decodings - round) ||
      hideParams(value, '*', false, undefined, isName) !== value
    ) {
      return true;
    }
    if (round === decodings) return STILL_ENCODED.test(value);
    const decoded = decode(value);
    if (decoded === undefined || decoded === value) return false;
    value = decoded;
  }
}

/**
 * `params` (a query or fragment, without its `?` or `#`) with the values of its parameters hidden
 * as `placeholder`: those whose name names a secret, and (with `holdsSecret`) ordinary ones whose
 * value holds one, decoded at most `decodings` times in all. One pass; each value is decoded and
 * scanned a bounded number of times: linear in the text.
 */
export function hideParams(
  params: string,
  placeholder: string,
  cut: boolean,
  holdsSecret: HoldsSecret | undefined,
  isName: IsSecretName = isSecretName,
  decodings = MAX_DECODINGS,
): string {
  const n = params.length;
  let out = '';
  let copied = 0;
  const hide = (start: number, end: number) => {
    out += params.slice(copied, start) + placeholder;
    copied = end;
  };
  let i = 0;
  while (i < n) {
    // the name, up to its `=`; a parameter without one (`?flag&x=1`, `#section`) has no value
    let k = i;
    while (k < n && params[k] !== '=' && !PARAM_END.includes(params[k])) k++;
    if (k >= n || params[k] !== '=') {
      i = k + 1;
      continue;
    }
    const valueStart = k + 1;
    let end = valueStart;
    if (isSecretParam(params.slice(i, k), isName)) {
      while (end < n && !SECRET_VALUE_END.includes(params[end])) end++;
      if (end > valueStart) hide(valueStart, end);
    } else {
      while (end < n && !PARAM_END.includes(params[end])) end++;
      if (
        holdsSecret &&
        end > valueStart &&
        valueHoldsSecret(
          params.slice(valueStart, end),
          cut && end === n,
          holdsSecret,
          isName,
          decodings,
        )
      ) {
        hide(valueStart, end);
      }
    }
    i = end + 1;
  }
  return copied === 0 ? params : out + params.slice(copied);
}

/**
 * The query and fragment of every URL written in `text` (a whitespace-delimited token holding
 * `scheme://`, or starting with `/`: a request line's path) with their secret parameters hidden,
 * as {@link hideParams} does. The token's other parts are left to the other rules (its path's
 * segments are not guessed at: `/reset/<token>` stays). One pass: linear in the text.
 */
export function hideUrlParameters(
  text: string,
  placeholder: string,
  cut: boolean,
  holdsSecret: HoldsSecret,
  isName: IsSecretName,
  decodings = MAX_DECODINGS,
): string {
  if (!text.includes('?') && !text.includes('#')) return text;
  const n = text.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    while (i < n && TOKEN_END.test(text[i])) i++;
    const start = i;
    let query = -1;
    let scheme = false;
    while (i < n && !TOKEN_END.test(text[i])) {
      const c = text[i];
      if (query === -1) {
        if (c === '?' || c === '#') query = i;
        else if (c === ':' && text.startsWith('//', i + 1)) scheme = true;
      }
      i++;
    }
    if (query === -1 || !(scheme || text[start] === '/')) continue;
    const params = text.slice(query + 1, i);
    const shown = hideParams(
      params,
      placeholder,
      cut && i === n,
      holdsSecret,
      isName,
      decodings,
    );
    if (shown !== params) {
      out += text.slice(copied, query + 1) + shown;
      copied = i;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}
