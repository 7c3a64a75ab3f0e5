import { needleFinder } from '@kubechart/plugin-audit-log-common';

/*
 * go-yaml (helm's `toYaml`, in helm 3 and helm 4; kubectl's YAML output) writes a scalar that
 * runs past its width of 80 columns over lines: at a space, it breaks the line and indents the
 * next one, and a reader folds the break and the indentation back into the space. It folds only
 * at a space after another character than a space and, in a plain or single-quoted scalar, before
 * one; in a double-quoted scalar it also folds before a space, which it then writes as `\ `
 * (`yaml_emitter_write_plain_scalar`, `…_single_quoted_scalar`, `…_double_quoted_scalar`). Where
 * it folds depends on the column, which the text around the scalar decides: so a secret's folded
 * forms are found by joining, in a view of the text, each line break such a fold may have written,
 * then looking for the secret's written form in the view.
 */

/** A view of a text with the line breaks a fold may have written joined back into spaces. */
type FoldedView = {
  text: string;
  /** Where each character of the view starts in the text, and the text's length after the last. */
  at: Int32Array;
  /** How many joined line breaks come before each character of the view (and at its end). */
  foldsBefore: Int32Array;
};

/**
 * The view of `text` with each fold of a plain or single-quoted scalar (`double: false`), or of a
 * double-quoted one (`double: true`), joined: a line break after a character other than a space
 * or a line break, with the spaces after it, before a character other than a line break; in a
 * double-quoted scalar that may be a `\` before a space, which goes too. Undefined when there is none.
 */
function foldedView(text: string, double: boolean): FoldedView | undefined {
  /** The stretches of the text joined, each into one space: a line break and what follows it. */
  const joins: Array<[number, number]> = [];
  for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1)) {
    const before = text.charCodeAt(k - 1);
    if (k === 0 || before === 0x20 || before === 0x0a) continue;
    let m = k + 1;
    while (text.charCodeAt(m) === 0x20) m++;
    if (m >= text.length || text.charCodeAt(m) === 0x0a) continue;
    if (
      double &&
      text.charCodeAt(m) === 0x5c &&
      text.charCodeAt(m + 1) === 0x20
    )
      m++;
    joins.push([k, m]);
    k = m - 1;
  }
  if (joins.length === 0) return undefined;
  let length = text.length;
  for (const [k, m] of joins) length -= m - k - 1;
  const at = new Int32Array(length + 1);
  const foldsBefore = new Int32Array(length + 1);
  const parts: string[] = [];
  let v = 0;
  let copied = 0;
  const copy = (to: number, folds: number) => {
    parts.push(text.slice(copied, to));
    for (let t = copied; t < to; t++) {
      at[v] = t;
      foldsBefore[v++] = folds;
    }
  };
  joins.forEach(([k, m], i) => {
    copy(k, i);
    parts.push(' ');
    at[v] = k;
    foldsBefore[v++] = i;
    copied = m;
  });
  copy(text.length, joins.length);
  at[v] = text.length;
  foldsBefore[v] = joins.length;
  return { text: parts.join(''), at, foldsBefore };
}

/**
 * Whether go-yaml may fold `form` (a scalar's text as written, without its quotes) anywhere: at
 * a space after a character other than a space, with a character after it; in a plain or
 * single-quoted scalar, other than a space.
 */
function mayFold(form: string, double: boolean): boolean {
  for (let j = 1; j < form.length - 1; j++) {
    if (form[j] !== ' ' || form[j - 1] === ' ') continue;
    if (double || form[j + 1] !== ' ') return true;
  }
  return false;
}

/**
 * Returns a function that replaces with `placeholder` each place of a text where go-yaml wrote one
 * of `forms` folded over lines (at least one fold in it): `plain` holds the forms of plain and
 * single-quoted scalars (the secret, and with `'` doubled), `double` those of double-quoted ones
 * (the secret with go-yaml's escapes), each without the blanks around it. Places written in one
 * line are left to the search for the forms as they are. Linear in the text, whatever the forms.
 */
export function foldedFormReplacer(
  forms: { plain: Iterable<string>; double: Iterable<string> },
  placeholder: string,
): (text: string) => string {
  const plain = [...new Set(forms.plain)].filter(f => mayFold(f, false));
  const double = [...new Set(forms.double)].filter(f => mayFold(f, true));
  const searches = [
    { double: false, find: needleFinder(plain), any: plain.length > 0 },
    { double: true, find: needleFinder(double), any: double.length > 0 },
  ].filter(s => s.any);
  if (searches.length === 0) return text => text;
  return text => {
    if (!text.includes('\n')) return text;
    const ranges: Array<[number, number]> = [];
    for (const search of searches) {
      const view = foldedView(text, search.double);
      if (!view) continue;
      for (const [start, end] of search.find(view.text)) {
        // Only a place a fold runs through: the others are found as the forms are.
        if (view.foldsBefore[end] === view.foldsBefore[start]) continue;
        ranges.push([view.at[start], view.at[end]]);
      }
    }
    if (ranges.length === 0) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let copied = 0;
    let open: [number, number] | undefined;
    for (const range of ranges) {
      if (open && range[0] < open[1]) {
        open[1] = Math.max(open[1], range[1]);
        continue;
      }
      if (open) {
        out += text.slice(copied, open[0]) + placeholder;
        copied = open[1];
      }
      open = [range[0], range[1]];
    }
    out += text.slice(copied, open![0]) + placeholder;
    return out + text.slice(open![1]);
  };
}
