import {
  REDACTED,
  hideUrlCredentials,
  isSecretName,
  redactText,
} from './redactText';

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
/**
 * How many times an ordinary parameter's value is decoded to look for a secret in it (a redirect
 * escaped once per hop: `?redirect=%2Fcb%3Fnext%3D%252Fx%253Ftoken%253Dx`); a value still escaped
 * after that cannot be told and is hidden.
 */
const MAX_DECODINGS = 3;
/** A signature, the credential of a presigned or SAS URL: `X-Amz-Signature`, `Signature`, `sig`. */
const SIGNATURE = /(?:^|[^a-z])sig$|signature$/i;

/** `text` decoded as a query's name or value (`+` is a space); undefined when it does not decode. */
function decode(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Whether a parameter's decoded name names a secret: its last word does, or it is a signature. */
function isSecretParamName(name: string): boolean {
  return isSecretName(name) || SIGNATURE.test(name);
}

/**
 * Whether a parameter's name, as written in the URL, names a secret by the last-word rule of free
 * text (`access_token`, `client_secret`, `apiKey`, `X-Amz-Signature`; not `token_type`,
 * `sortKey`, `keyboard`): decoded (`access%5Ftoken`), twice if it is escaped twice
 * (`access%255Ftoken`). A name that does not decode, or still holds an escape after that, counts
 * as secret (fail closed).
 */
function isSecretParam(raw: string): boolean {
  const once = decode(raw);
  if (once === undefined) return true;
  if (once === raw || !once.includes('%')) return isSecretParamName(once);
  const twice = decode(once);
  return twice === undefined || ESCAPE.test(twice) || isSecretParamName(twice);
}

/**
 * Whether an ordinary parameter's value holds a secret: one the free-text rules find
 * (`postgres://app:pw@db`, `Bearer x`, `token=x`), or a nested query's secret parameter
 * (`?next=%2Fcb%3Faccess_token%3Dx`), as written and decoded up to {@link MAX_DECODINGS} times; a
 * value still escaped after that counts as holding one (fail closed).
 */
function valueHoldsSecret(raw: string, cut: boolean): boolean {
  let value = raw;
  for (let round = 0; ; round++) {
    if (
      redactText(value, { cut }) !== value ||
      hideParams(value, 0, false, false) !== value
    ) {
      return true;
    }
    if (round === MAX_DECODINGS) return ESCAPE.test(value);
    const decoded = decode(value);
    if (decoded === undefined || decoded === value) return false;
    value = decoded;
  }
}

/**
 * `text` with the values of the parameters from `from` on hidden: those whose name names a secret,
 * and (with `checkValues`) ordinary ones whose value holds one. One pass; each value is decoded
 * and scanned a bounded number of times: linear in the text.
 */
function hideParams(
  text: string,
  from: number,
  cut: boolean,
  checkValues: boolean,
): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  const hide = (start: number, end: number) => {
    out += text.slice(copied, start) + REDACTED;
    copied = end;
  };
  let i = from;
  while (i < n) {
    // the name, up to its `=`; a parameter without one (`?flag&x=1`, `#section`) has no value
    let k = i;
    while (k < n && text[k] !== '=' && !PARAM_END.includes(text[k])) k++;
    if (k >= n || text[k] !== '=') {
      i = k + 1;
      continue;
    }
    const valueStart = k + 1;
    let end = valueStart;
    if (isSecretParam(text.slice(i, k))) {
      while (end < n && !SECRET_VALUE_END.includes(text[end])) end++;
      if (end > valueStart) hide(valueStart, end);
    } else {
      while (end < n && !PARAM_END.includes(text[end])) end++;
      if (
        checkValues &&
        end > valueStart &&
        valueHoldsSecret(text.slice(valueStart, end), cut && end === n)
      ) {
        hide(valueStart, end);
      }
    }
    i = end + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * A URL or request path (`request.originalUrl`) with the secrets in it hidden as
 * {@link REDACTED}: the value of every query or fragment parameter whose name names a secret (the
 * last-word rule of free text: a name ending in `password`, `token`, `secret`, `key`, …, or a
 * signature, decoded: `?access_token=[REDACTED]&state=1`, `access%5Ftoken=[REDACTED]`,
 * `#access_token=[REDACTED]`, `X-Amz-Signature=[REDACTED]`, every one of repeated parameters),
 * the value of any other parameter that holds a secret the free-text rules find or a nested
 * query's secret parameter, decoded up to three times (hidden whole; still escaped after that,
 * hidden too), and the credentials of an absolute URL (`https://user:[REDACTED]@host/…`).
 * Ordinary parameters stay readable (`?page=2&q=tokenizer&sortKey=name&token_type=bearer`). Linear in the text; the caller bounds it. With `cut` (the text is the
 * start of a longer one), a value running to its end is redacted as cut.
 * @public
 */
export function redactUrl(url: string, options?: { cut?: boolean }): string {
  const cut = options?.cut ?? false;
  const start = url.search(/[?#]/);
  if (start === -1) return hideUrlCredentials(url, cut);
  return (
    hideUrlCredentials(url.slice(0, start), false) +
    url[start] +
    hideParams(url.slice(start + 1), 0, cut, true)
  );
}
