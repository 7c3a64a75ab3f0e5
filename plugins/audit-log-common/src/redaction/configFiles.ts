/*
 * Secrets of config files that are not `key: value` pairs, found in free text (a ConfigMap's data
 * value, a log printing one): a `.pgpass` line's password, the text of an XML element.
 */
import { BOOLEAN } from './textPatterns';

/**
 * A `.pgpass` line (`hostname:port:database:username:password`) up to its password: the line's
 * start, its indentation, a host (`*`, a name, an address, `\:` escaped), a port (digits or `*`),
 * a database and a user (neither holding a blank or an unescaped `:`). Each field's characters
 * exclude the `:` that ends it, and `^` is tried at line starts only: linear in the text.
 */
const PGPASS_LINE =
  /^[ \t]*(?:[^\s:#\\]|\\.)(?:[^\s:\\]|\\.)*:(?:\d{1,5}|\*):(?:[^\s:\\]|\\.)+:(?:[^\s:\\]|\\.)+:/gm;

/**
 * An XML start tag (`<password>`, `<db:password attr="1">`), its name captured; a `/` before its
 * `>` makes it empty. The name's characters and the attributes' exclude what ends them: each start
 * tag is read from its `<` to the next `<` or `>` at most, linear in the text.
 */
const START_TAG = /<([A-Za-z_][\w.:-]*)(?=[\s/>])[^<>]*>/g;
/** An element's text that is a CDATA section. */
const CDATA = '<![CDATA[';
/** The `<value>` element after a `<name>`'s end tag (Hadoop's and Hive's `<property>`). */
const VALUE_TAG = /\s*<value(?:\s[^<>]*)?>/y;

/**
 * `text` with the secrets of config files hidden as `placeholder`:
 * - the password of a `.pgpass` line (`db:5432:app:appuser:[REDACTED]`), to the line's end;
 * - the text of an XML element whose name names a secret by `isName` (`<password>[REDACTED]
 *   </password>`, a CDATA section's content: `<![CDATA[[REDACTED]]]>`), up to an end tag, or to
 *   the end of the text when no tag follows; and the `<value>` of a `<name>` naming one
 *   (`<name>fs.s3a.secret.key</name><value>[REDACTED]</value>`).
 * Without `anyWord`, `true` and `false` are settings, kept (`<passwordRequired>true</…>` under
 * `any-word` keys). A value already hidden is kept. Each character is read a bounded number of
 * times: linear in the text.
 */
export function hideConfigFileSecrets(
  text: string,
  placeholder: string,
  isName: (name: string) => boolean,
  anyWord: boolean,
): string {
  const lt = text.indexOf('<');
  const colon = text.indexOf(':');
  if (lt === -1 && colon === -1) return text;
  const hides: Array<[number, number]> = [];
  const hidden = (from: number, to: number) => {
    const value = text.slice(from, to);
    return (
      !value.trim() ||
      value === placeholder ||
      (!anyWord && BOOLEAN.test(value.trim()))
    );
  };
  const hide = (from: number, to: number) => {
    if (!hidden(from, to)) hides.push([from, to]);
  };

  if (colon !== -1) {
    PGPASS_LINE.lastIndex = 0;
    for (let m = PGPASS_LINE.exec(text); m; m = PGPASS_LINE.exec(text)) {
      const from = PGPASS_LINE.lastIndex;
      let to = text.indexOf('\n', from);
      if (to === -1) to = text.length;
      if (text[to - 1] === '\r') to--;
      hide(from, to);
      PGPASS_LINE.lastIndex = Math.max(to, from + 1);
    }
  }

  if (lt !== -1) {
    START_TAG.lastIndex = lt;
    for (let m = START_TAG.exec(text); m; m = START_TAG.exec(text)) {
      const open = START_TAG.lastIndex;
      if (m[0].endsWith('/>')) continue;
      const name = m[1];
      let secret = isName(name);
      let from = open;
      if (!secret && name === 'name') {
        // `<name>db.password</name><value>x</value>`: the value of a property naming a secret.
        const end = text.indexOf('<', open);
        if (end === -1) break;
        if (
          text.startsWith('</name>', end) &&
          isName(text.slice(open, end).trim())
        ) {
          VALUE_TAG.lastIndex = end + '</name>'.length;
          if (VALUE_TAG.test(text)) {
            secret = true;
            from = VALUE_TAG.lastIndex;
          }
        }
      }
      if (!secret) continue;
      let to: number;
      if (text.startsWith(CDATA, from)) {
        from += CDATA.length;
        to = text.indexOf(']]>', from);
      } else {
        to = text.indexOf('<', from);
        // Text followed by another start tag is no element's (`--password <password>  Password
        // for <registry>`); one that runs to the end of the text may be a value cut short.
        if (to !== -1 && text[to + 1] !== '/') continue;
      }
      if (to === -1) to = text.length;
      hide(from, to);
      START_TAG.lastIndex = Math.max(START_TAG.lastIndex, to);
    }
  }

  if (!hides.length) return text;
  hides.sort((a, b) => a[0] - b[0]);
  let out = '';
  let copied = 0;
  for (const [from, to] of hides) {
    // Overlapping ones (a `.pgpass`-shaped line in an element's text) are hidden as one.
    if (from < copied) copied = Math.max(copied, to);
    else {
      out += text.slice(copied, from) + placeholder;
      copied = to;
    }
  }
  return out + text.slice(copied);
}
