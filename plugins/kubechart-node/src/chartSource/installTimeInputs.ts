import { InputError } from '@backstage/errors';
import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Template functions whose result can differ between two renders of the same chart with the same
 * values: cluster state (`lookup`), DNS (`getHostByName`), text evaluated as a template (`tpl`, which
 * may call any of these), the clock (`date` and its kin read it when not given a time), randomness
 * (salts and IVs too: `bcrypt`, `htpasswd`, `encryptAES`), key generation and map order (`keys`,
 * `values`, except piped straight into `sortAlpha`: `keys $m | sortAlpha`, `sortAlpha (keys $m)`).
 * sprig's non-repeatable functions, helm's `lookup` and `tpl`.
 * @public
 */
export const INSTALL_TIME_FUNCTIONS = [
  'lookup',
  'getHostByName',
  'tpl',
  'now',
  'ago',
  'date',
  'dateInZone',
  'date_in_zone',
  'htmlDate',
  'htmlDateInZone',
  'dateModify',
  'date_modify',
  'mustDateModify',
  'must_date_modify',
  'durationRound',
  'randAlphaNum',
  'randAlpha',
  'randNumeric',
  'randAscii',
  'randInt',
  'randBytes',
  'uuidv4',
  'shuffle',
  'keys',
  'values',
  'bcrypt',
  'htpasswd',
  'encryptAES',
  'genPrivateKey',
  'genCA',
  'genCAWithKey',
  'genSelfSignedCert',
  'genSelfSignedCertWithKey',
  'genSignedCert',
  'genSignedCertWithKey',
] as const;

/** What {@link findInstallTimeInputs} found in a chart's templates. @public */
export type InstallTimeInputs = {
  /** Calls of {@link INSTALL_TIME_FUNCTIONS}: the function and the file (relative to the chart). */
  calls: Array<{ fn: string; file: string }>;
  /**
   * Template files that spell `helm.sh/hook`. Not every template that may render a hook: its
   * annotation may be built at render time (`printf "helm.sh/%s" "hook"`).
   */
  hookTemplates: string[];
  /** Template files that define named templates, which any template (a hook too) may include. */
  namedTemplateFiles: string[];
  /** Parts of the chart that could not be read (packaged subcharts): treated as using everything. */
  unreadable: string[];
};

const MAX_FILES = 2000;
const MAX_BYTES = 20 * 1024 * 1024;
const MAX_DEPTH = 5;
// A call is a function name inside a template action, not a field (`.Values.lookup`) or variable.
const FUNCTION_RE = new RegExp(
  `(?<![\\w.$-])(${INSTALL_TIME_FUNCTIONS.join('|')})(?![\\w-])`,
  'g',
);
// `keys` or `values` of one variable or field piped straight into `sortAlpha` (`keys $m | sortAlpha`,
// `sortAlpha (keys $m)`) renders in one order: exactly these forms are not counted as calls.
const OPERAND = String.raw`(?:\$\w*(?:\.\w+)*|(?:\.\w+)+|\.)`;
const SORTED_RE = new RegExp(
  String.raw`(?<![\w.$-])(?:(?:keys|values)\s+${OPERAND}\s*\|\s*sortAlpha|sortAlpha\s*\(\s*(?:keys|values)\s+${OPERAND}\s*\))(?![\w-])`,
  'g',
);
const DEFINE_RE = /^(?:define|block)\b/;

const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * The actions of a template, their string and character literals blanked (`""`) and comments
 * dropped, as Go's text/template lexer reads them (helm's default `{{ }}`): an
 * action ends at the first `}}` outside double-quoted strings (with escapes), raw strings and
 * character constants; `{{/* … *\/}}` (trim markers allowed) is a comment. What Go's lexer refuses
 * (an unterminated action, string or comment) is an InputError, so nothing is read differently.
 */
function templateActions(text: string, file: string): string[] {
  const actions: string[] = [];
  const fail = (at: number, why: string): never => {
    const line = text.slice(0, at).split('\n').length;
    throw new InputError(
      `Chart refused: ${file} line ${line}: ${why} (helm cannot parse it either)`,
    );
  };
  // The right delimiter at `i`, with its trim marker (" -}}"): the index after it, else -1.
  const rightDelimEnd = (i: number) => {
    if (text.startsWith('}}', i)) return i + 2;
    if (isSpace(text[i]) && text.startsWith('-}}', i + 1)) return i + 4;
    return -1;
  };
  let pos = 0;
  for (;;) {
    const start = text.indexOf('{{', pos);
    if (start < 0) return actions;
    let i = start + 2;
    if (text[i] === '-' && isSpace(text[i + 1])) i += 2;
    if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) fail(start, 'unclosed comment');
      const end = rightDelimEnd(close + 2);
      if (end < 0) fail(start, 'comment ends before closing delimiter');
      actions.push('');
      pos = end;
      continue;
    }
    let code = '';
    let depth = 0;
    for (;;) {
      if (i >= text.length) fail(start, 'unclosed action');
      if (text.startsWith('}}', i)) {
        if (depth > 0) fail(start, 'unclosed left paren');
        i += 2;
        break;
      }
      const c = text[i];
      if (c === '"' || c === "'") {
        // A string or character constant: backslash escapes; a newline or the end is an error.
        let j = i + 1;
        while (text[j] !== c) {
          if (text[j] === '\\') j++;
          if (j >= text.length || text[j] === '\n')
            fail(
              start,
              c === '"'
                ? 'unterminated quoted string'
                : 'unterminated character constant',
            );
          j++;
        }
        code += '""';
        i = j + 1;
      } else if (c === '`') {
        const close = text.indexOf('`', i + 1);
        if (close < 0) fail(start, 'unterminated raw quoted string');
        code += '""';
        i = close + 1;
      } else {
        if (c === '(') depth++;
        if (c === ')' && --depth < 0) fail(start, 'unexpected right paren');
        code += c;
        i++;
      }
    }
    actions.push(code);
    pos = i;
  }
}

const readDir = (dir: string): Promise<Dirent[]> =>
  fs
    .readdir(dir, { withFileTypes: true })
    .then(entries =>
      entries.sort((a, b) => Number(a.name > b.name) - Number(a.name < b.name)),
    )
    .catch(() => []);

/**
 * Reads every template of an unpacked chart and its subcharts (each `templates/` helm parses) for
 * calls of {@link INSTALL_TIME_FUNCTIONS}, hook annotations and named template definitions (`define`,
 * `block`; shared by every template of the chart), reading actions as Go's template lexer does. A
 * packaged subchart (`charts/*.tgz`) is listed as unreadable. A template the lexer cannot read (an
 * unterminated action, string or comment) is an InputError, as are more than 2,000 files or 20 MiB.
 * @public
 */
export async function findInstallTimeInputs(
  chartDir: string,
): Promise<InstallTimeInputs> {
  const out: InstallTimeInputs = {
    calls: [],
    hookTemplates: [],
    namedTemplateFiles: [],
    unreadable: [],
  };
  let files = 0;
  let bytes = 0;
  const seen = new Set<string>();
  const readTemplates = async (dir: string): Promise<void> => {
    for (const e of await readDir(dir)) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await readTemplates(full);
        continue;
      }
      if (!e.isFile()) continue;
      files++;
      bytes += (await fs.stat(full)).size;
      if (files > MAX_FILES || bytes > MAX_BYTES) {
        throw new InputError(
          `The chart's templates hold more than ${MAX_FILES} files or ${MAX_BYTES} bytes`,
        );
      }
      const file = path.relative(chartDir, full);
      const text = await fs.readFile(full, 'utf8');
      if (text.includes('helm.sh/hook')) out.hookTemplates.push(file);
      const actions = templateActions(text, file);
      if (actions.some(a => DEFINE_RE.test(a.trimStart())))
        out.namedTemplateFiles.push(file);
      for (const action of actions) {
        for (const m of action.replace(SORTED_RE, ' ').matchAll(FUNCTION_RE)) {
          const key = `${m[1]}\0${file}`;
          if (!seen.has(key)) {
            seen.add(key);
            out.calls.push({ fn: m[1], file });
          }
        }
      }
    }
  };
  const visitChart = async (dir: string, depth: number): Promise<void> => {
    await readTemplates(path.join(dir, 'templates'));
    for (const s of await readDir(path.join(dir, 'charts'))) {
      const full = path.join(dir, 'charts', s.name);
      if (s.isDirectory() && depth < MAX_DEPTH)
        await visitChart(full, depth + 1);
      else if (s.isDirectory() || /\.tgz$/.test(s.name)) {
        out.unreadable.push(path.relative(chartDir, full));
      }
    }
  };
  await visitChart(chartDir, 0);
  return out;
}
