import yaml from 'js-yaml';

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

/**
 * Ten times the input, about ten times the work: runs `scan` on each text that `textsOf` makes at
 * `size` characters and at ten times that, and tells each text on which the larger one cost 15 times
 * the work or more ({@link costOf}, counted instead of timed), by its first `shown` characters and how
 * many times the work it cost. A linear scan costs about ten times; a quadratic one, or one restarted
 * at each near miss, a hundred. `[]` when every scan grows linearly.
 *
 * `textsOf` is either one function that makes every text of a size, or one function a text.
 */
export function superLinearScans(
  textsOf: ((size: number) => string[]) | Array<(size: number) => string>,
  scan: (text: string) => unknown,
  { size, shown = 12 }: { size: number; shown?: number },
): string[] {
  const texts =
    typeof textsOf === 'function'
      ? textsOf
      : (n: number) => textsOf.map(textOf => textOf(n));
  const small = texts(size);
  return texts(size * 10).flatMap((large, i) => {
    const times = costOf(() => scan(large)) / costOf(() => scan(small[i]));
    return times < 15
      ? []
      : [`${large.slice(0, shown)}…: ${Math.round(times)} times the work`];
  });
}

/**
 * `value` behind a proxy that counts every read of a field, at any depth (`reads`): what walking it
 * costs, counted instead of timed. The objects and arrays under it are proxied too, each once.
 */
export function countingReads<T extends object>(
  value: T,
): { value: T; reads: () => number } {
  let reads = 0;
  const proxies = new WeakMap<object, object>();
  const wrap = (target: any): any => {
    if (target === null || typeof target !== 'object') return target;
    const known = proxies.get(target);
    if (known) return known;
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        reads++;
        return wrap(Reflect.get(t, key, receiver));
      },
      has(t, key) {
        reads++;
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        reads++;
        return Reflect.ownKeys(t);
      },
      getOwnPropertyDescriptor(t, key) {
        reads++;
        return Reflect.getOwnPropertyDescriptor(t, key);
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };
  return { value: wrap(value), reads: () => reads };
}

/**
 * Counts the nodes js-yaml starts to read from now on (whatever listener the code under test gives
 * it), until `restore` is called.
 */
function countingYamlNodes(): { nodes: () => number; restore: () => void } {
  const loadAll = yaml.loadAll;
  let nodes = 0;
  const spy = jest
    .spyOn(yaml, 'loadAll')
    .mockImplementation((text: string, iterator?: any, options?: any) =>
      loadAll(text, iterator, {
        ...options,
        listener(event: 'open' | 'close', state: unknown) {
          if (event === 'open') nodes++;
          options?.listener?.(event, state);
        },
      } as yaml.LoadOptions),
    );
  return { nodes: () => nodes, restore: () => spy.mockRestore() };
}

/**
 * Runs `fn` and counts the nodes js-yaml starts to read meanwhile (whatever listener the code under
 * test gives it): the work a refusal cost, counted instead of timed.
 */
export function nodesReadBy(fn: () => unknown): {
  nodes: number;
  error?: Error;
} {
  const { nodes, restore } = countingYamlNodes();
  try {
    fn();
    return { nodes: nodes() };
  } catch (e) {
    return { nodes: nodes(), error: e as Error };
  } finally {
    restore();
  }
}

/**
 * {@link nodesReadBy} of asynchronous work: the nodes js-yaml starts to read until the promise `fn`
 * returns settles, and what it resolved to (a rejection is thrown on).
 */
export async function nodesReadByAsync<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; nodes: number }> {
  const { nodes, restore } = countingYamlNodes();
  try {
    const result = await fn();
    return { result, nodes: nodes() };
  } finally {
    restore();
  }
}
