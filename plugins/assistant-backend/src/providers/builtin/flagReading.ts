/**
 * How kubectl reads the flags of a command line, for the builtin parser. Every flag is read here,
 * once, with its case kept (`-L` is not `-l`, `-a` not `-A`), before the question is lower-cased,
 * in each form kubectl accepts: `-n shop`, `-nshop`, `-n=shop`, `--namespace shop`,
 * `--namespace=shop` (a value in quotes may hold spaces: `-l 'a=b, c=d'`). Any other word that
 * starts with `-` is a problem that refuses the question, naming the flag: planned without it, the
 * command shown would not be the one typed. What a plan must hold for each flag read is checked
 * once it is planned (`honourFlags` in kubectlFlags.ts).
 */

/** An output format the question asks for: a flag (`-o yaml`, `--output=json`) or a word ("the yaml of"). */
export type OutputAsked = { format: string; flag: boolean };

/** What a flag means, whatever form it was given in. */
export type FlagName =
  | 'namespace'
  | 'all-namespaces'
  | 'selector'
  | 'output'
  | 'container'
  | 'tail'
  | 'previous'
  /** `-p`: `--previous` for logs, the body of a patch. */
  | 'p'
  | 'patch'
  | 'type'
  | 'all-containers'
  | 'replicas'
  | 'overwrite'
  | 'ignore-daemonsets'
  | 'delete-emptydir-data'
  | 'stdin'
  | 'tty'
  /** The words after `--`: the command exec runs. */
  | 'command';

/** A flag read: its meaning, how it was typed (without its value), and its value. */
export type ReadFlag = { name: FlagName; flag: string; value?: string };

/** A flag the parser cannot carry out exactly, and why, as a clause of a refusal. */
export type FlagProblem = { flag: string; why: string };

type FlagSpec = { name: FlagName; takesValue: boolean };

/** The flags the parser reads, by kubectl's long names. */
const LONG_FLAGS: Record<string, FlagSpec> = {
  '--namespace': { name: 'namespace', takesValue: true },
  '--all-namespaces': { name: 'all-namespaces', takesValue: false },
  '--selector': { name: 'selector', takesValue: true },
  '--output': { name: 'output', takesValue: true },
  '--container': { name: 'container', takesValue: true },
  '--tail': { name: 'tail', takesValue: true },
  '--previous': { name: 'previous', takesValue: false },
  // Its value, the JSON body, is read as the question's body.
  '--patch': { name: 'patch', takesValue: false },
  '--type': { name: 'type', takesValue: true },
  '--all-containers': { name: 'all-containers', takesValue: false },
  '--replicas': { name: 'replicas', takesValue: true },
  '--overwrite': { name: 'overwrite', takesValue: false },
  '--ignore-daemonsets': { name: 'ignore-daemonsets', takesValue: false },
  '--delete-emptydir-data': {
    name: 'delete-emptydir-data',
    takesValue: false,
  },
  '--stdin': { name: 'stdin', takesValue: false },
  '--tty': { name: 'tty', takesValue: false },
};

/** The flags the parser reads, by kubectl's one-letter names (case-sensitive, as kubectl's). */
const SHORT_FLAGS: Record<string, FlagSpec> = {
  n: { name: 'namespace', takesValue: true },
  A: { name: 'all-namespaces', takesValue: false },
  l: { name: 'selector', takesValue: true },
  o: { name: 'output', takesValue: true },
  c: { name: 'container', takesValue: true },
  p: { name: 'p', takesValue: false },
  i: { name: 'stdin', takesValue: false },
  t: { name: 'tty', takesValue: false },
};

/** kubectl's long name of each one-letter flag, for a refusal that names one typed in the other case. */
const SHORT_MEANINGS: Record<string, string> = {
  n: '--namespace',
  A: '--all-namespaces',
  l: '--selector',
  o: '--output',
  c: '--container',
  p: '--previous',
  i: '--stdin',
  t: '--tty',
  L: '--label-columns',
  R: '--recursive',
};

/** Flags that pick another cluster, kubeconfig or identity than the one the assistant runs with. */
const CONNECTION_FLAGS = new Set([
  '--context',
  '--cluster',
  '--kubeconfig',
  '--user',
  '--as',
  '--as-group',
  '--as-uid',
  '--token',
  '--server',
  '-s',
  '--username',
  '--password',
  '--certificate-authority',
  '--client-certificate',
  '--client-key',
  '--insecure-skip-tls-verify',
  '--tls-server-name',
]);

/** A namespace's or a container's name: a DNS label. */
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** One requirement of a label selector kubectl and the assistant read alike: `key`, `!key`, `key=value`, `key!=value`. */
const SELECTOR_PART =
  /^(?:!?[a-z0-9](?:[-a-z0-9_./]*[a-z0-9])?|[a-z0-9](?:[-a-z0-9_./]*[a-z0-9])?(?:==|!=|=)(?:[a-z0-9](?:[-a-z0-9_.]*[a-z0-9])?)?)$/i;

/** Most log lines and replicas a plan may ask for (the plan's schema). */
const MAX_TAIL_LINES = 10000;
const MAX_REPLICAS = 1000;

/**
 * `-o yaml`, `-oyaml`, `-o=json`, `--output json`, `-o jsonpath='{.items[*].x}'`: the flag and its
 * argument (quoted parts included). Read before the rest: its argument may hold braces, which
 * would read as a JSON body.
 */
const OUTPUT_FLAG =
  /(^|\s)(?:-o|--output)(?:\s*=\s*|\s+)?((?:[^\s'"]|'[^']*'|"[^"]*")+)/;

/** kubectl's output formats written `format=argument`. */
const FORMATS_WITH_ARGUMENT = new Set([
  'jsonpath',
  'jsonpath-file',
  'jsonpath-as-json',
  'custom-columns',
  'custom-columns-file',
  'go-template',
  'go-template-file',
  'template',
  'templatefile',
]);

/** A JSON object typed into the question: the body of a patch. */
const JSON_BODY = /(['"]?)(\{[\s\S]{0,4000}\})\1/;

/**
 * Characters that look like kubectl's `-` and are not it: the typographic dashes (‐ ‑ ‒ – — ―), the
 * minus sign (−) and their small and full-width forms. Editors and chat tools put them in place of
 * `-`; kubectl reads none of them as the start of a flag.
 */
const LOOKALIKE_DASH = /^[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/;

/** The leading dashes of a flag, kubectl's or look-alike ones (`--`, `-`, `——`, `−`). */
const LEADING_DASHES = /^[-\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]{1,2}/;

/** The flags of a question, as kubectl reads them. */
export class KubectlFlags {
  constructor(
    readonly read: ReadonlyArray<ReadFlag>,
    readonly problems: ReadonlyArray<FlagProblem>,
    /** The requirements of the selector flag (`-l a=b,c` → `a=b`, `c`), as typed. */
    readonly selector: ReadonlyArray<string> = [],
  ) {}

  get(name: FlagName): ReadFlag | undefined {
    return this.read.find(f => f.name === name);
  }

  value(name: FlagName): string | undefined {
    return this.get(name)?.value;
  }

  /** A flag's value as a number (checked to be a whole number when read). */
  number(name: FlagName): number | undefined {
    const value = this.value(name);
    return value === undefined ? undefined : Number(value);
  }

  /** These flags, with the flag words the question's own reading of its words found besides ("pods,-x"). */
  withStray(words: ReadonlyArray<string>): KubectlFlags {
    const stray = words.filter(isFlagWord);
    if (!stray.length) return this;
    return new KubectlFlags(
      this.read,
      [
        ...this.problems,
        ...stray
          .map(flagShown)
          // A look-alike dash is left in the words, lower-cased there ("﹘A" read again as "﹘a").
          .filter(
            flag =>
              !this.problems.some(
                p =>
                  p.flag === flag ||
                  (LOOKALIKE_DASH.test(flag) && p.flag.toLowerCase() === flag),
              ),
          )
          .map(flag => ({ flag, why: unreadWhy(flag) })),
      ],
      this.selector,
    );
  }

  /** The output format asked for with `-o`/`--output`. */
  get output(): OutputAsked | undefined {
    const format = this.value('output');
    return format === undefined ? undefined : { format, flag: true };
  }
}

/**
 * Whether a word of a question is read as a flag: it starts with `-`, or with a dash that looks like
 * it (a problem that refuses the question, naming it). A dash standing alone is punctuation.
 */
export function isFlagWord(word: string): boolean {
  if (word.startsWith('-')) return word !== '-';
  return LOOKALIKE_DASH.test(word) && word.length > 1;
}

/** How a flag is named in a refusal: as typed, never with a value that may be glued to it (`-pS3cret`). */
export function flagShown(word: string): string {
  const name = word.split('=')[0];
  const dashes = LEADING_DASHES.exec(name)?.[0].length ?? 1;
  if (
    name.length <= 2 ||
    /^[A-Za-z][A-Za-z-]{0,40}$/.test(name.slice(dashes))
  ) {
    return name;
  }
  return `${name.slice(0, dashes + 1)}…`;
}

/** Why the parser does not read a flag: a clause of a refusal. */
function unreadWhy(flag: string, letter?: string): string {
  const lookalike = LOOKALIKE_DASH.exec(flag);
  if (lookalike) {
    return `${flag} is typed with ${lookalike[0]}, and kubectl reads only - (a hyphen-minus) as the start of a flag: type it with -`;
  }
  if (letter === 'L') {
    return `${flag} is kubectl's --label-columns (columns to show), not -l (--selector): kubectl's flags are case-sensitive, and the assistant does not carry out ${flag}; ask with -l for a selector`;
  }
  if (letter && SHORT_MEANINGS[letter] && !SHORT_FLAGS[letter]) {
    return `${flag} is kubectl's ${SHORT_MEANINGS[letter]} (its flags are case-sensitive), which the assistant does not carry out: ask without it`;
  }
  const other =
    letter &&
    (letter === letter.toLowerCase()
      ? letter.toUpperCase()
      : letter.toLowerCase());
  if (other && SHORT_MEANINGS[other]) {
    return `kubectl has no ${flag} (its flags are case-sensitive: -${other} is ${SHORT_MEANINGS[other]}): ask with -${other} if you mean it`;
  }
  if (CONNECTION_FLAGS.has(flag)) {
    return `${flag} picks another cluster or identity, and the assistant runs on the cluster the question is asked about, with its own credentials: choose the cluster in the assistant and ask without ${flag}`;
  }
  if (flag === '--dry-run') {
    return 'the assistant does not carry out --dry-run: it shows its plan before anything runs, and runs it for real once you confirm it; ask without --dry-run';
  }
  if (flag === '--') {
    return '-- starts the command that kubectl exec runs, and only exec runs one: ask without it';
  }
  return `the assistant does not carry out ${flag}, and planned without it the command would not be the one you typed: ask without it`;
}

/** The value of a flag, with quoted parts that hold spaces joined up; `open` when a quote never closes. */
function quotedValue(
  first: string,
  words: ReadonlyArray<{ text: string; start: number }>,
  next: number,
  input: string,
): { value: string; used: number; open: boolean } {
  let quote: string | undefined;
  const scan = (part: string) => {
    for (const c of part) {
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') quote = c;
    }
  };
  scan(first);
  let value = first;
  let used = 0;
  while (quote) {
    const word = words[next + used];
    if (!word) return { value, used, open: true };
    const previous = words[next + used - 1];
    const part =
      input.slice(previous.start + previous.text.length, word.start) +
      word.text;
    scan(part);
    value += part;
    used++;
  }
  return { value, used, open: false };
}

/** Checks a flag's value; the reason when the parser cannot carry it out exactly. */
function valueProblem(spec: FlagSpec, flag: string, value: string): string {
  switch (spec.name) {
    case 'namespace':
    case 'container':
      return DNS_LABEL.test(value)
        ? ''
        : `${flag} needs a ${spec.name}'s name (lower-case letters, digits and "-"), as kubectl does`;
    case 'tail': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      return n >= 1 && n <= MAX_TAIL_LINES
        ? ''
        : `${flag} takes a number of lines from 1 to ${MAX_TAIL_LINES}: the assistant reads no more (nor the whole log)`;
    }
    case 'replicas': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      return n >= 0 && n <= MAX_REPLICAS
        ? ''
        : `${flag} takes a whole number of replicas from 0 to ${MAX_REPLICAS}`;
    }
    case 'type':
      return value === 'merge'
        ? ''
        : `the assistant sends a merge patch (--type=merge), not the patch type ${flag} gives: ask without ${flag}`;
    default:
      return '';
  }
}

/** Reads a selector flag's value into its requirements, or says why it cannot be read exactly. */
function selectorRequirements(
  flag: string,
  value: string,
  open: boolean,
): { parts: string[]; problem?: string } {
  if (!value || open) {
    return {
      parts: [],
      problem: `the selector after ${flag} cannot be read: give it as one word after the flag (quoted when it holds spaces), for example "${flag} app=web,tier=db"`,
    };
  }
  const parts = value
    .replace(/['"]/g, '')
    .split(',')
    .map(p => p.trim());
  const odd = parts.find(p => !SELECTOR_PART.test(p));
  if (odd !== undefined) {
    return {
      parts: [],
      problem: `the selector after ${flag} holds ${
        odd ? `"${odd}"` : 'an empty requirement (a comma too many)'
      }, which the assistant does not read as a label requirement (key, !key, key=value or key!=value): give those, separated by commas`,
    };
  }
  return { parts };
}

/** Sentence punctuation after a flag's value is no part of it ("-n shop?"); a selector keeps a last comma, refused as an empty requirement. */
const TRAILING = /[)\]?!;:.,]+$/;
const TRAILING_IN_SELECTOR = /[)\]?!;:.]+$/;

/**
 * Reads the flags of a question, as typed (case kept): the output flag first (its argument may
 * hold braces), then the JSON body of a patch, then every other word that starts with `-`.
 * Returns the flags, the body, and the question without either, for the rest to be read as words.
 */
export function readCommandLine(input: string): {
  flags: KubectlFlags;
  body?: string;
  rest: string;
} {
  const read: ReadFlag[] = [];
  const problems: FlagProblem[] = [];
  const selector: string[] = [];
  const problem = (flag: string, why: string) => {
    if (!problems.some(p => p.flag === flag && p.why === why)) {
      problems.push({ flag, why });
    }
  };
  const add = (name: FlagName, flag: string, value?: string) => {
    const earlier = read.find(f => f.name === name);
    if (!earlier) {
      read.push({ name, flag, ...(value !== undefined ? { value } : {}) });
    } else if (earlier.value !== value) {
      problem(
        flag,
        `${flag} is given twice, with different values: give it once`,
      );
    }
  };
  // A format that takes an argument (`jsonpath=…`, `custom-columns=…`) is named without it; any
  // other is kept whole, so `-o json=x` is no `-o json` (and is refused as a format not printed).
  const formatOf = (value: string) => {
    const format = value.replace(/['"]/g, '').toLowerCase();
    const head = format.split('=')[0];
    return FORMATS_WITH_ARGUMENT.has(head) ? head : format;
  };

  let text = input;
  const output = OUTPUT_FLAG.exec(text);
  if (output) {
    add('output', '-o', formatOf(output[2]));
    text = `${text.slice(0, output.index)}${output[1]}${text.slice(
      output.index + output[0].length,
    )}`;
  }
  const json = JSON_BODY.exec(text);
  let body: string | undefined;
  if (json) {
    body = json[2];
    text = text.replace(json[0], ' ');
  }

  const words = [...text.matchAll(/\S+/g)].map(m => ({
    text: m[0],
    start: m.index!,
  }));
  const removed = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    // Punctuation around a word is no part of it: "(-n shop)". A value glued to its flag is read
    // from the word as typed (`-la=b,` keeps its last comma, as `-l a=b,` does).
    const bare = words[i].text.replace(/^[(\[]+/, '');
    const word = bare.replace(TRAILING, '');
    if (!isFlagWord(word)) continue;
    if (!word.startsWith('-')) {
      // A look-alike dash: no flag as typed, and read as `-` one the question may not mean. Left
      // in the words (what else was asked is still said in the refusal).
      const shown = flagShown(word);
      problem(shown, unreadWhy(shown));
      continue;
    }
    removed.add(i);
    if (word === '--') {
      // kubectl reads no flag after `--`: the rest is the command exec runs.
      const after = words.slice(i + 1);
      after.forEach((_, j) => removed.add(i + 1 + j));
      add(
        'command',
        '--',
        after.map(w => w.text.replace(/['"]/g, '')).join(' '),
      );
      break;
    }
    /** Reads the value of a flag that takes one: glued to it (`-nshop`, `-n=shop`, `--tail=20`) or the next word. */
    const takeValue = (spec: FlagSpec, flag: string, glued?: string) => {
      let first = glued;
      let used = 0;
      if (first === undefined) {
        const next = words[i + 1]?.text;
        if (next !== undefined && !next.startsWith('-')) {
          first = next;
          used = 1;
        }
      }
      if (first === undefined) {
        problem(
          flag,
          spec.name === 'selector'
            ? selectorRequirements(flag, '', false).problem!
            : `${flag} needs a value after it, as kubectl does`,
        );
        return;
      }
      const quoted = quotedValue(first, words, i + 1 + used, text);
      for (let j = 1; j <= used + quoted.used; j++) removed.add(i + j);
      i += used + quoted.used;
      if (spec.name === 'selector') {
        const { parts, problem: why } = selectorRequirements(
          flag,
          quoted.value.replace(TRAILING_IN_SELECTOR, ''),
          quoted.open,
        );
        if (why) {
          problem(flag, why);
        } else {
          add('selector', flag, parts.join(','));
          if (!selector.length) selector.push(...parts);
        }
        return;
      }
      // The shell takes the quotes away: `-n 'shop'` is `-n shop`.
      const value = quoted.value.replace(/['"]/g, '').replace(TRAILING, '');
      const why = valueProblem(spec, flag, value);
      if (why) problem(flag, why);
      else
        add(spec.name, flag, spec.name === 'output' ? formatOf(value) : value);
    };

    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word : word.slice(0, eq);
      const glued = eq === -1 ? undefined : bare.slice(eq + 1);
      const spec = LONG_FLAGS[name];
      if (!spec) {
        const shown = flagShown(name);
        problem(shown, unreadWhy(shown));
      } else if (spec.takesValue) {
        takeValue(spec, name, glued);
      } else if (
        glued === undefined ||
        glued.replace(TRAILING, '') === 'true' ||
        (spec.name === 'patch' && glued === '')
      ) {
        add(spec.name, name);
      } else {
        problem(
          name,
          `${name} takes no value but true: ask with ${name} alone, or without it`,
        );
      }
      continue;
    }
    // One-letter flags, as kubectl reads them: `-it` is `-i -t`; a letter that takes a value takes
    // the rest of the word (`-lapp=web`, `-l=app=web`) or the next word.
    const letters = word.slice(1);
    for (let k = 0; k < letters.length; k++) {
      const letter = letters[k];
      const spec = SHORT_FLAGS[letter];
      if (!spec) {
        // `-L`, `-N shop`: named alone, with what the other case means; `-all-namespaces` as typed.
        const alone = word.length === 2 || SHORT_MEANINGS[letter] !== undefined;
        const shown = alone || k > 0 ? `-${letter}` : flagShown(word);
        problem(shown, unreadWhy(shown, alone ? letter : undefined));
        break;
      }
      const flag = `-${letter}`;
      if (spec.takesValue) {
        const glued = bare.slice(k + 2).replace(/^=/, '');
        takeValue(spec, flag, glued === '' ? undefined : glued);
        break;
      }
      if (letters[k + 1] === '=') {
        problem(flag, `${flag} takes no value: ask with ${flag} alone`);
        break;
      }
      add(spec.name, flag);
    }
  }
  const rest = words
    .filter((_, i) => !removed.has(i))
    .map(w => w.text)
    .join(' ');
  return {
    flags: new KubectlFlags(read, problems, selector),
    ...(body !== undefined ? { body } : {}),
    rest,
  };
}
