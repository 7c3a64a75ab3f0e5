import { StructuredPatch, diffArrays, diffLines, formatPatch } from 'diff';

/** Lines of unified-diff context around each change, as jsdiff writes them. */
const CONTEXT = 4;

/** Consecutive text with one sign: texts end with a newline (but the file's last may not). */
type Part = { sign: ' ' | '-' | '+'; texts: string[]; lines: number };

/** Lines with their newline character (the last one without, when the text has none), as jsdiff splits them. */
function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map(l => `${l}\n`);
  const last = lines.pop()!;
  if (!text.endsWith('\n')) lines.push(last.slice(0, -1));
  return lines;
}

/**
 * The lines of `text` as jsdiff counts them (the last one without a newline is one too); counting
 * stops once it passes `stopAbove`, which it then returns above.
 */
export function countLines(text: string, stopAbove = Infinity): number {
  let n = text.length && !text.endsWith('\n') ? 1 : 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (++n > stopAbove) return n;
  }
  return n;
}

/** The YAML documents of a manifest, each starting at its `---` line; joined, they are the manifest. */
function splitDocuments(text: string): string[] {
  const docs: string[] = [];
  let start = 0;
  for (
    let i = text.indexOf('\n---');
    i !== -1;
    i = text.indexOf('\n---', i + 1)
  ) {
    const end = i + 4;
    if (end === text.length || text[end] === '\n') {
      docs.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) docs.push(text.slice(start));
  return docs;
}

/** The object a document describes (kind, namespace, name), or the document itself when it names none. */
function objectKey(doc: string): string {
  let kind: string | undefined;
  let name: string | undefined;
  let namespace = '';
  let inMetadata = false;
  for (let pos = 0; pos < doc.length; ) {
    let end = doc.indexOf('\n', pos);
    if (end === -1) end = doc.length;
    const value = (prefix: string) =>
      doc.slice(pos + prefix.length, end).trim();
    if (doc.startsWith('kind:', pos)) {
      kind = value('kind:');
      inMetadata = false;
    } else if (doc.startsWith('metadata:', pos)) {
      inMetadata = value('metadata:') === '';
    } else if (inMetadata && doc.startsWith('  name:', pos)) {
      name = value('  name:');
    } else if (inMetadata && doc.startsWith('  namespace:', pos)) {
      namespace = value('  namespace:');
    } else if (inMetadata && end > pos && doc[pos] !== ' ') {
      inMetadata = false;
    }
    pos = end + 1;
  }
  return kind && name ? `${kind}\u0000${namespace}\u0000${name}` : doc;
}

/** Longest the diff runs between two turns of the event loop, unless one jsdiff call takes longer. */
const SLICE_MS = 5;

/** Lines jsdiff splits into tokens (and joins again) in a millisecond, about, on the reference machine. */
const LINES_PER_MS = 1000;

/**
 * A unified diff (the format, headers and hunks of jsdiff's `createTwoFilesPatch`) computed object
 * by object: the documents of both texts are aligned by the object they describe, only the pairs
 * whose text changed (and objects replaced by others) are diffed line by line, and objects added or
 * removed are shown whole. Within changed objects the lines are jsdiff's; an object added or removed
 * is one block of lines, where a diff of the whole texts may shift the block by a few equal lines.
 *
 * It yields to the event loop every few milliseconds; each jsdiff call it makes holds the loop for
 * at most `stepMs` (its time limit is `stepMs` less the time it takes to split the texts into
 * lines, which it spends whatever the limit: the caller bounds the texts' lines). Undefined when
 * one of them would take longer, when the whole would take longer than `timeoutMs`, or when it
 * would change more than `maxChangedLines` lines, so that the caller can fall back to diffing the
 * whole texts.
 */
export async function documentPatch(
  fromName: string,
  toName: string,
  from: string,
  to: string,
  limits: { maxChangedLines: number; timeoutMs: number; stepMs: number },
): Promise<string | undefined> {
  const deadline = Date.now() + limits.timeoutMs;
  const remaining = () => deadline - Date.now();
  const step = () => Math.max(1, Math.min(limits.stepMs, remaining()));
  let sliceStarted = Date.now();
  const breathe = async () => {
    if (Date.now() - sliceStarted < SLICE_MS) return;
    await new Promise(resolve => setImmediate(resolve));
    sliceStarted = Date.now();
  };
  const a = splitDocuments(from);
  const b = splitDocuments(to);
  const single = a.length === 1 && b.length === 1;
  const keys = async (docs: string[]) => {
    const result: string[] = [];
    for (const doc of docs) {
      result.push(single ? '' : objectKey(doc));
      await breathe();
    }
    return result;
  };
  // One document on each side (values, a single object) is diffed whatever it describes.
  const aKeys = await keys(a);
  const bKeys = await keys(b);
  if (remaining() <= 0) return undefined;
  const aligned = diffArrays(aKeys, bKeys, {
    maxEditLength: limits.maxChangedLines,
    timeout: step(),
  });
  if (!aligned) return undefined;
  const parts: Part[] = [];
  let changed = 0;
  const push = (sign: Part['sign'], text: string) => {
    if (!text) return;
    const lines = countLines(text);
    if (sign !== ' ') changed += lines;
    const last = parts[parts.length - 1];
    if (last && last.sign === sign) {
      last.texts.push(text);
      last.lines += lines;
    } else {
      parts.push({ sign, texts: [text], lines });
    }
  };
  /** Line diff of two texts (changed objects, or objects replaced by others), within the limits. */
  const diffText = (x: string, y: string) => {
    if (remaining() <= 0) return false;
    // jsdiff splits the texts into lines (and joins its result) outside its time limit: that much
    // of the step is not left to it.
    const splitting = (countLines(x) + countLines(y)) / LINES_PER_MS;
    const lineDiff = diffLines(x, y, {
      maxEditLength: Math.max(0, limits.maxChangedLines - changed),
      timeout: Math.max(1, step() - splitting),
    });
    if (!lineDiff) return false;
    for (const c of lineDiff) {
      let sign: Part['sign'] = ' ';
      if (c.added) sign = '+';
      else if (c.removed) sign = '-';
      push(sign, c.value);
    }
    return true;
  };
  let i = 0;
  let j = 0;
  for (let c = 0; c < aligned.length; c++) {
    const component = aligned[c];
    const count = component.value.length;
    const next = aligned[c + 1];
    if (
      next &&
      (component.added || component.removed) &&
      (next.added || next.removed) &&
      !component.added !== !next.added
    ) {
      // Objects replaced by others (renamed, say): diffed line by line, as the whole texts would be.
      const [removedCount, addedCount] = component.removed
        ? [count, next.value.length]
        : [next.value.length, count];
      if (
        !diffText(
          a.slice(i, i + removedCount).join(''),
          b.slice(j, j + addedCount).join(''),
        )
      )
        return undefined;
      i += removedCount;
      j += addedCount;
      c++;
    } else if (component.added) {
      for (const doc of b.slice(j, j + count)) push('+', doc);
      j += count;
    } else if (component.removed) {
      for (const doc of a.slice(i, i + count)) push('-', doc);
      i += count;
    } else {
      for (let k = 0; k < count; k++) {
        const [x, y] = [a[i + k], b[j + k]];
        if (x === y) push(' ', x);
        else if (!diffText(x, y)) return undefined;
        await breathe();
      }
      i += count;
      j += count;
    }
    if (changed > limits.maxChangedLines || remaining() <= 0) return undefined;
    await breathe();
  }
  return formatPatch(patchOf(fromName, toName, parts));
}

function firstLines(part: Part, n: number): string[] {
  const lines: string[] = [];
  for (const text of part.texts) {
    if (lines.length >= n) break;
    lines.push(...linesOf(text).slice(0, n - lines.length));
  }
  return lines;
}

function lastLines(part: Part, n: number): string[] {
  const lines: string[] = [];
  for (let t = part.texts.length - 1; t >= 0 && lines.length < n; t--) {
    lines.unshift(...linesOf(part.texts[t]).slice(-(n - lines.length)));
  }
  return lines;
}

/** Hunks with {@link CONTEXT} lines of context, joined when their contexts meet: jsdiff's own rules. */
function patchOf(
  oldFileName: string,
  newFileName: string,
  parts: Part[],
): StructuredPatch {
  const hunks: StructuredPatch['hunks'] = [];
  let oldStart = 0;
  let newStart = 0;
  let range: string[] = [];
  let oldLine = 1;
  let newLine = 1;
  const context = (lines: string[]) => lines.map(l => ` ${l}`);
  parts.forEach((part, index) => {
    if (part.sign !== ' ') {
      if (!oldStart) {
        oldStart = oldLine;
        newStart = newLine;
        const previous = parts[index - 1];
        if (previous) {
          range = context(lastLines(previous, CONTEXT));
          oldStart -= range.length;
          newStart -= range.length;
        }
      }
      for (const text of part.texts)
        for (const line of linesOf(text)) range.push(`${part.sign}${line}`);
      if (part.sign === '+') newLine += part.lines;
      else oldLine += part.lines;
      return;
    }
    if (oldStart) {
      if (part.lines <= CONTEXT * 2 && index < parts.length - 1) {
        range.push(...context(firstLines(part, part.lines)));
      } else {
        const size = Math.min(part.lines, CONTEXT);
        range.push(...context(firstLines(part, size)));
        hunks.push({
          oldStart,
          oldLines: oldLine - oldStart + size,
          newStart,
          newLines: newLine - newStart + size,
          lines: range,
        });
        oldStart = 0;
        newStart = 0;
        range = [];
      }
    }
    oldLine += part.lines;
    newLine += part.lines;
  });
  if (oldStart) {
    hunks.push({
      oldStart,
      oldLines: oldLine - oldStart,
      newStart,
      newLines: newLine - newStart,
      lines: range,
    });
  }
  for (const hunk of hunks) {
    const lines: string[] = [];
    for (const line of hunk.lines) {
      if (line.endsWith('\n')) lines.push(line.slice(0, -1));
      else lines.push(line, '\\ No newline at end of file');
    }
    hunk.lines = lines;
  }
  return {
    oldFileName,
    newFileName,
    oldHeader: undefined,
    newHeader: undefined,
    hunks,
  };
}
