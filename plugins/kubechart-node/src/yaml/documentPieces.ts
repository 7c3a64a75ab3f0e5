/** The pieces of a YAML stream, found on its text alone (see {@link documentPieces}). */

const isSpaceOrBreak = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The documents of a YAML stream as helm's YAMLReader hands them to its YAML reader, found without
 * parsing: a document starts at each line that starts with `---` followed by a space, a tab, a line
 * break or the end of the text (js-yaml ends a document there too: a block scalar is indented, a
 * quoted or plain one ends or fails there). Each piece holds its `---` line; `line` is the line
 * (0-based) it starts on, `bytes` its size in UTF-8. Linear, no regex.
 */
export function documentPieces(
  text: string,
): Array<{ from: number; to: number; line: number; bytes: number }> {
  const starts: Array<{ from: number; line: number }> = [{ from: 0, line: 0 }];
  let line = 0;
  for (let i = 0; i < text.length; line++) {
    if (i > 0 && text.startsWith('---', i)) {
      const c = i + 3 < text.length ? text.charCodeAt(i + 3) : -1;
      if (c === -1 || isSpaceOrBreak(c)) starts.push({ from: i, line });
    }
    const next = text.indexOf('\n', i);
    if (next < 0) break;
    i = next + 1;
  }
  // Directives after a document end marker (`...`) belong to the document after them.
  for (let k = 1; k < starts.length; k++) {
    const moved = directivesBefore(text, starts[k - 1].from, starts[k].from);
    if (moved) {
      starts[k].from = moved.from;
      starts[k].line -= moved.lines;
    }
  }
  // What comes before the first `---` is no document of its own when it holds only blank lines,
  // comments and directives (js-yaml reads them with the document after it).
  if (starts.length > 1 && !holdsContent(text, 0, starts[1].from))
    starts.splice(1, 1);
  return starts.map((start, k) => {
    const to = k + 1 < starts.length ? starts[k + 1].from : text.length;
    const piece = text.slice(start.from, to);
    return { ...start, to, bytes: Buffer.byteLength(piece, 'utf8') };
  });
}

/** Whether `text[from, to)` holds a line that is not blank, a comment or a directive. */
function holdsContent(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; ) {
    const newline = text.indexOf('\n', i);
    const end = newline < 0 || newline > to ? to : newline;
    const line = text.slice(i, end).trim();
    if (line !== '' && !line.startsWith('#') && text[i] !== '%') return true;
    i = end + 1;
  }
  return false;
}

/** A line of `text` (without its line break): a `...` document end marker, its comment aside. */
const isDocumentEnd = (line: string) =>
  line.startsWith('...') && (line.length === 3 || /^[ \t]/.test(line[3]));

/**
 * Where the directives that end `text[from, to)` start, and how many lines they take: a run of
 * directive, blank and comment lines holding a directive, right after a `...` line (a directive
 * stands only at the start of a stream or after a document's end). Undefined when there are none.
 * Reads the lines back from `to`, no further than the run.
 */
function directivesBefore(
  text: string,
  from: number,
  to: number,
): { from: number; lines: number } | undefined {
  let end = to - 1; // the line break before `to`
  let directive = false;
  let lines = 0;
  while (end > from) {
    const start = Math.max(from, text.lastIndexOf('\n', end - 1) + 1);
    const line = text.slice(start, end).replace(/\r$/, '');
    if (isDocumentEnd(line)) {
      return directive ? { from: end + 1, lines } : undefined;
    }
    const trimmed = line.trim();
    if (text[start] === '%') directive = true;
    else if (trimmed !== '' && !trimmed.startsWith('#')) return undefined;
    lines++;
    end = start - 1;
  }
  return undefined;
}
