/** Characters that end the authority (`user:pass@host`) of a URL. */
export const AUTHORITY_END = /[\/?#\s"'<>`\\]/;
/** Characters that end a whitespace-delimited token holding a URL (a quote or `<>` around it too). */
export const TOKEN_END = /[\s"'<>`]/;
/** Characters that end a word of text, where a password's `@` is looked for. */
const WORD_END = /\s/;
/** What a colon in an authority before its `/`, `?` or `#` is followed by when it is a port. */
const PORT = /^\d*$/;
/**
 * A URL's user without a password that is a plain login name, shown (`git@github.com`,
 * `https://jane.doe@host`, `postgres://postgres@db`): letters in words, no digits. Anything else
 * (`https://ghp_0123abc@github.com`, a token given as the user) is hidden.
 */
const PLAIN_USER = /^[A-Za-z]+(?:[._-][A-Za-z]+)*$/;
const MAX_PLAIN_USER = 32;

function isPlainUser(user: string): boolean {
  return user.length <= MAX_PLAIN_USER && PLAIN_USER.test(user);
}

/**
 * `scheme://user:pass@host` → `scheme://user:<placeholder>@host`, for every URL of the text; a
 * user without a password that is not a plain login name (a token: `https://ghp_x1@github.com`)
 * → `scheme://<placeholder>@host`. A password holding `/`, `?`, `#` or a quote
 * (`https://app:pa/ss@host`),
 * where the authority seems to end before its `@`, is hidden up to the `@` later in the same
 * whitespace-delimited word (a quote in it too: `https://u:it's"so@h`), unless what follows the colon is a port
 * (`https://host:8443/users/@me`). In a text `cut` short, an authority (or such a token) running
 * to its end is hidden after its first colon (it may be a password cut before its `@`), or whole
 * when it has none and is not a plain name. One pass: linear in the text.
 */
export function hideUrlCredentialsWith(
  text: string,
  placeholder: string,
  cut: boolean,
): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  let from = 0;
  // The first word end and `@` at or after where they were last looked for: each looked for
  // again only from past the last one found, so the text is read once for each.
  let wordEnd = -1;
  let nextAt = -1;
  const firstFrom = (
    pos: number,
    found: number,
    test: (c: string) => boolean,
  ) => {
    if (found >= pos) return found;
    let k = pos;
    while (k < n && !test(text[k])) k++;
    return k;
  };
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', from)) {
    const start = i + 3;
    let end = start;
    let at = -1;
    let colon = -1;
    while (end < n && !AUTHORITY_END.test(text[end])) {
      if (text[end] === '@') at = end;
      else if (text[end] === ':' && colon === -1) colon = end;
      end++;
    }
    from = end;
    if (colon === -1 || (at !== -1 && colon > at)) {
      // No password: a user alone (`https://ghp_x1@github.com`, `git@github.com:org/x`), or a
      // host cut short.
      let userEnd = at;
      if (at === -1) userEnd = cut && end === n ? end : -1;
      if (userEnd > start && !isPlainUser(text.slice(start, userEnd))) {
        out += text.slice(copied, start) + placeholder;
        copied = userEnd;
      }
      continue;
    }
    let to: number;
    if (cut && end === n) to = end;
    // `user:pass@host`: a colon before the last `@`, and something between them.
    else if (at > colon) to = at;
    else if (
      at === -1 &&
      text[start] !== '[' &&
      end < n &&
      !WORD_END.test(text[end]) &&
      !PORT.test(text.slice(colon + 1, end))
    ) {
      // `user:pa/ss@host`: the `@` later in the word, and the host's last `@` after it.
      wordEnd = firstFrom(end, wordEnd, c => WORD_END.test(c));
      nextAt = firstFrom(end, nextAt, c => c === '@');
      if (nextAt < wordEnd) {
        to = nextAt;
        let k = nextAt + 1;
        while (k < n && !AUTHORITY_END.test(text[k])) {
          if (text[k] === '@') to = k;
          k++;
        }
        from = k;
      } else if (cut && wordEnd === n) {
        to = n;
        from = n;
      } else continue;
    } else continue;
    if (colon + 1 >= to) continue;
    out += text.slice(copied, colon + 1) + placeholder;
    copied = to;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
