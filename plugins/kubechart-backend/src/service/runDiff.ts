import { Run, RunDiff } from '@kubechart/plugin-kubechart-common';
import { REDACTED } from '@kubechart/plugin-kubechart-node';
import yaml from 'js-yaml';
import {
  boundedPatch,
  nextTurn,
  notShown,
  tooLargeToDiff,
} from './boundedDiff';

const dump = (v: unknown) =>
  v === undefined
    ? ''
    : yaml.dump(v, { sortKeys: true, noRefs: true, lineWidth: -1 });

/**
 * Most keys and list items the values of a run may have (each side) for a run diff to compare them:
 * js-yaml writes (and sorts) each in about a microsecond, in one synchronous step.
 */
export const DIFF_MAX_VALUES_ENTRIES = 10_000;
/**
 * Most characters the values of a run may take as YAML (each side, counted as
 * {@link valuesTooLarge} does) for a run diff to compare them.
 */
export const DIFF_MAX_VALUES_CHARS = 500_000;

/** The bounds {@link valuesTooLarge} checks, as its reasons say them. */
const VALUES_BOUNDS = `a run diff compares values of at most ${DIFF_MAX_VALUES_ENTRIES} keys and list items and ${DIFF_MAX_VALUES_CHARS} characters as YAML (each counted once per level it is nested under; a control character six times)`;

/** Characters of `text` in YAML at `level`: its escapes and the indentation of its further lines; more than `cap` as soon as it is. */
function yamlChars(text: string, level: number, cap: number): number {
  let n = text.length;
  for (let i = 0; i < text.length && n <= cap; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n += 2 * level;
    else if ((c < 32 && c !== 9) || (c >= 0x7f && c <= 0x9f)) n += 5;
  }
  return n;
}

/**
 * Why `values` (named `name`) are too large to write as YAML for a diff, or undefined; decided
 * before writing anything, looking at no more than the bounds. js-yaml takes one synchronous step
 * to write them, which grows with their entries and with their characters, each copied once per
 * level of nesting it sits under (1,000 levels of one long text hold the event loop for seconds),
 * and a control character written as an escape takes longer still: at most
 * {@link DIFF_MAX_VALUES_ENTRIES} entries and {@link DIFF_MAX_VALUES_CHARS} characters so counted keep
 * the step within about 20 ms. Keys are listed once per mapping (the only step proportional to a
 * mapping's size whatever the bound).
 */
function valuesTooLarge(name: string, values: unknown): string | undefined {
  let entries = 0;
  let chars = 0;
  const tooMany = () =>
    `${name} has more than ${DIFF_MAX_VALUES_ENTRIES} keys and list items; ${VALUES_BOUNDS}`;
  const tooLong = () =>
    `${name} would be more than ${DIFF_MAX_VALUES_CHARS} characters as YAML; ${VALUES_BOUNDS}`;
  // Each value with its level: how many mappings and lists hold it (the values themselves: 0).
  const stack: Array<[unknown, number]> = [[values, 0]];
  while (stack.length) {
    const [value, level] = stack.pop()!;
    const left = DIFF_MAX_VALUES_CHARS - chars;
    if (value === null || typeof value !== 'object') {
      const text = typeof value === 'string' ? value : String(value);
      const times = Math.max(1, level);
      chars += yamlChars(text, level, Math.ceil(left / times)) * times;
      if (chars > DIFF_MAX_VALUES_CHARS) return tooLong();
      continue;
    }
    const list = Array.isArray(value) ? (value as unknown[]) : undefined;
    const keys = list ? undefined : Object.keys(value);
    const count = list ? list.length : keys!.length;
    entries += count;
    if (entries > DIFF_MAX_VALUES_ENTRIES) return tooMany();
    for (let i = 0; i < count; i++) {
      // Its line: the indentation, the key (or `- `), `: ` and the newline.
      const key = keys ? keys[i] : '';
      const line = 2 * level + 3 + yamlChars(key, 0, left);
      chars += line * (level + 1);
      if (chars > DIFF_MAX_VALUES_CHARS) return tooLong();
      stack.push([
        list ? list[i] : (value as Record<string, unknown>)[key],
        level + 1,
      ]);
    }
  }
  return undefined;
}

/**
 * Run diffs (`GET /runs/:id/diff/:other`) one caller may have under way at once; more get 429.
 * Each takes turns of the event loop until it ends, so that many at once would slow every request.
 */
export const DIFFS_PER_CALLER_AT_ONCE = 2;

/** What GET /runs/:id/diff/:other answers: the values (as YAML) and manifest diffs from run `a` to run `b`. */
export async function runDiff(a: Run, b: Run): Promise<RunDiff> {
  // Values too large to write as YAML quickly are not written, on either side. Each check and
  // each side's YAML is a step of its own.
  let valuesTooLargeWhy = valuesTooLarge(`values@${a.id}`, a.values);
  if (!valuesTooLargeWhy) {
    await nextTurn();
    valuesTooLargeWhy = valuesTooLarge(`values@${b.id}`, b.values);
  }
  let valuesA = '';
  let valuesB = '';
  if (!valuesTooLargeWhy) {
    await nextTurn();
    valuesA = dump(a.values);
    await nextTurn();
    valuesB = dump(b.values);
  }
  const values = valuesTooLargeWhy
    ? notShown(valuesTooLargeWhy)
    : await boundedPatch(`values@${a.id}`, `values@${b.id}`, valuesA, valuesB);
  const manifest = await boundedPatch(
    `manifest@${a.id}`,
    `manifest@${b.id}`,
    a.manifest ?? '',
    b.manifest ?? '',
  );
  // Said beside the texts: a diff given up on has no hunks, as if nothing differed.
  const notComputed = {
    ...(values.notComputed ? { values: values.notComputed } : {}),
    ...(manifest.notComputed ? { manifest: manifest.notComputed } : {}),
  };
  await nextTurn();
  return {
    from: a.id,
    to: b.id,
    values: values.patch,
    manifest: manifest.patch,
    ...(Object.keys(notComputed).length ? { notComputed } : {}),
    // Stored redacted on both sides, so equal in the texts whatever the secrets were. Counted in
    // the texts a diff may compare (values not written and texts too large to diff hide none).
    hiddenSecrets: Math.max(
      hidden(valuesA) + hidden(a.manifest ?? ''),
      hidden(valuesB) + hidden(b.manifest ?? ''),
    ),
  };
}

/** How many redacted values a text holds; none in a text too large to diff, which is not read. */
function hidden(text: string): number {
  if (tooLargeToDiff('', text)) return 0;
  let n = 0;
  for (
    let i = text.indexOf(REDACTED);
    i !== -1;
    i = text.indexOf(REDACTED, i + REDACTED.length)
  )
    n++;
  return n;
}
