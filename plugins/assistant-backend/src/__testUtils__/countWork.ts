/** What {@link workOf} counted. */
export type Work = {
  /** Characters of strings read, searched or copied, regular expressions' included. */
  characters: number;
  /** Executions of regular expressions. */
  regexExecutions: number;
  /** The longest text a regular expression was executed on. */
  longestRegexInput: number;
};

type Method = (this: any, ...args: any[]) => any;
type Cost = (self: any, args: any[], result: any, lastIndex: number) => number;

const originalIndexOf = String.prototype.indexOf;

/**
 * Runs `fn` and counts the work it does on strings meanwhile: the cost of a scan, counted instead of
 * timed, so that a loaded machine counts what an idle one does.
 *
 * - A character read by index through a method (`charCodeAt`, `codePointAt`, `charAt`, `at`): one.
 * - A search (`indexOf`, `lastIndexOf`, `includes`, `startsWith`, `endsWith`, and `replace`,
 *   `replaceAll` or `split` by a string): the characters from where it starts to where it stops.
 * - A copy (`slice`, `substring`, `substr`, `toLowerCase`, `toUpperCase`, `trim…`): the characters
 *   copied.
 * - An execution of a regular expression (`exec`, which `test`, `match`, `matchAll`, `search`,
 *   `split` and `replace` by a regular expression call): one execution, and the characters from
 *   where it starts to the end of its match, or to the end of the text when it finds none (one
 *   when a sticky one fails).
 *
 * Not seen: reads of `text[i]` (the scans here read characters through methods too), and what a
 * regular expression does within one execution beyond the characters it spans (its backtracking).
 */
export function workOf(fn: () => unknown): Work {
  const { work, restore } = counting();
  try {
    fn();
  } finally {
    restore();
  }
  return work;
}

/** {@link workOf} of asynchronous work: counts until the promise `fn` returns settles. */
export async function workOfAsync(fn: () => Promise<unknown>): Promise<Work> {
  const { work, restore } = counting();
  try {
    await fn();
  } finally {
    restore();
  }
  return work;
}

/** Counts from now on, as {@link workOf} tells, until `restore` is called. */
function counting(): { work: Work; restore: () => void } {
  const work: Work = {
    characters: 0,
    regexExecutions: 0,
    longestRegexInput: 0,
  };
  const strings = String.prototype as unknown as Record<string, Method>;
  const regexps = RegExp.prototype as unknown as Record<string, Method>;
  const saved: Array<[Record<string, Method>, string, Method]> = [];
  const install = (
    target: Record<string, Method>,
    name: string,
    cost: Cost,
  ) => {
    const original = target[name];
    saved.push([target, name, original]);
    target[name] = function counted(this: any, ...args: any[]) {
      const lastIndex =
        target === regexps && (this?.global || this?.sticky)
          ? this.lastIndex
          : 0;
      const result = original.apply(this, args);
      work.characters += Math.max(0, cost(this, args, result, lastIndex));
      return result;
    };
  };
  const length = (self: unknown) => String(self).length;
  const start = (value: unknown, self: unknown) =>
    Math.min(Math.max(0, Math.trunc(Number(value)) || 0), length(self));
  /** From `from` to the end of `needle` found at `found`, or to the end of the text. */
  const searched = (self: unknown, from: number, found: number, needle: any) =>
    (found < 0 ? length(self) : found + String(needle).length) - from;

  for (const name of ['charCodeAt', 'codePointAt', 'charAt', 'at'])
    install(strings, name, () => 1);
  install(strings, 'indexOf', (self, [needle, from], found) =>
    searched(self, start(from, self), found, needle),
  );
  install(strings, 'includes', (self, [needle, from]) =>
    searched(
      self,
      start(from, self),
      originalIndexOf.call(String(self), String(needle), start(from, self)),
      needle,
    ),
  );
  install(strings, 'lastIndexOf', (self, [, from], found) => {
    const end = from === undefined ? length(self) : start(from, self) + 1;
    return end - Math.max(0, found);
  });
  install(strings, 'startsWith', (_self, [needle]) => String(needle).length);
  install(strings, 'endsWith', (_self, [needle]) => String(needle).length);
  for (const name of ['replace', 'replaceAll', 'split'])
    install(strings, name, (self, [pattern]) =>
      typeof pattern === 'string' ? length(self) : 0,
    );
  for (const name of [
    'slice',
    'substring',
    'substr',
    'toLowerCase',
    'toUpperCase',
    'trim',
    'trimStart',
    'trimEnd',
  ])
    install(strings, name, (_self, _args, result) => length(result));
  install(regexps, 'exec', (self: RegExp, [input], match, lastIndex) => {
    work.regexExecutions++;
    work.longestRegexInput = Math.max(work.longestRegexInput, length(input));
    if (match) return Math.max(1, match.index + match[0].length - lastIndex);
    return self.sticky ? 1 : length(input) - lastIndex;
  });
  const restore = () => {
    for (const [target, name, original] of saved.reverse())
      target[name] = original;
  };
  return { work, restore };
}

/** The work of `fn` as one number: characters, regular expression executions included. */
export const costOf = (fn: () => unknown) => workOf(fn).characters;
