import { namesSecret } from './redact';
import { REDACTED, hideUrlCredentials, redactText } from './redactText';

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

/** `text` decoded as a query's name or value (`+` is a space); undefined when it does not decode. */
function decode(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Whether a parameter's name, as written in the URL, names a secret (`namesSecret`, the key-name
 * rule of `meta`): decoded (`access%5Ftoken`), twice if it is escaped twice (`access%255Ftoken`).
 * A name that does not decode, or still holds an escape after that, counts as secret (fail closed).
 */
function isSecretParam(raw: string): boolean {
  const once = decode(raw);
  if (once === undefined) return true;
  if (once === raw || !once.includes('%')) return namesSecret(once);
  const twice = decode(once);
  return twice === undefined || ESCAPE.test(twice) || namesSecret(twice);
}

/**
 * Whether an ordinary parameter's value, decoded, holds a secret: one the free-text rules find
 * (`postgres://app:pw@db`, `Bearer x`, `token=x`), or a nested query's secret parameter
 * (`?next=%2Fcb%3Faccess_token%3Dx`).
 */
function valueHoldsSecret(raw: string, cut: boolean): boolean {
  const value = decode(raw) ?? raw;
  return (
    redactText(value, { cut }) !== value ||
    hideParams(value, 0, false, false) !== value
  );
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
 * key-name rule of `meta`: `password`, `token`, `secret`, `key`, … anywhere in the name, decoded:
 * `?access_token=[REDACTED]&state=1`, `access%5Ftoken=[REDACTED]`, `#access_token=[REDACTED]`,
 * every one of repeated parameters), the value of any other parameter that holds a secret the
 * free-text rules find or a nested query's secret parameter (hidden whole), and the credentials of
 * an absolute URL (`https://user:[REDACTED]@host/…`). Ordinary parameters stay readable
 * (`?page=2&q=tokenizer`). Linear in the text; the caller bounds it. With `cut` (the text is the
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
