import { planSchema, type Plan } from './plan';
import { renderKubectl } from './renderKubectl';
import { hiddenCharacters } from './hiddenCharacters';
import { HIDING_TEXT, LEGIT_TEXT } from './hiddenCharacters.cases';

const MESSAGE =
  /^holds an invisible or direction-changing character \(U\+([0-9A-F]{4,6})\), which would show the command differently from what runs$/;

const annotate = (note: string): Plan => ({
  verb: 'annotate',
  resource: 'deployments',
  name: 'web',
  namespace: 'shop',
  annotations: { note },
});
const patch = (text: string): Plan => ({
  verb: 'patch',
  resource: 'deployments',
  name: 'web',
  namespace: 'shop',
  patch: text,
});
const exec = (arg: string): Plan => ({
  verb: 'exec',
  resource: 'pods',
  name: 'web-1',
  namespace: 'shop',
  command: ['sh', '-c', arg],
});

describe('hiddenCharacters', () => {
  it.each(LEGIT_TEXT)('finds none in %s', (_, text) => {
    expect(hiddenCharacters(text)).toEqual([]);
  });

  it.each(HIDING_TEXT)('finds %s', (_, text, code) => {
    const [first] = hiddenCharacters(text);
    expect(
      first.char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0'),
    ).toBe(code.padStart(4, '0'));
    expect(text.slice(first.index, first.index + first.char.length)).toBe(
      first.char,
    );
  });

  it('finds each of several, with where it is', () => {
    expect(hiddenCharacters('a\u200D\u200Db\r\u{E0067}')).toEqual([
      { index: 1, char: '\u200D' },
      { index: 2, char: '\u200D' },
      { index: 4, char: '\r' },
      { index: 5, char: '\u{E0067}' },
    ]);
  });
});

describe('planSchema and text a person reads', () => {
  it.each(LEGIT_TEXT)(
    'takes %s in an annotation value, an exec command and a patch',
    (_, text) => {
      for (const plan of [annotate(text), exec(text), patch(text)]) {
        const parsed = planSchema.safeParse(plan);
        expect(parsed.error?.issues).toBeUndefined();
      }
    },
  );

  it('takes a JSON patch with Windows line endings', () => {
    const parsed = planSchema.safeParse(
      patch('{\r\n  "metadata": {"labels": {"a": "b"}}\r\n}\r\n'),
    );
    expect(parsed.success).toBe(true);
  });

  it.each(HIDING_TEXT)(
    'refuses %s in an annotation value, an exec command and a patch, naming it',
    (_, text, code) => {
      for (const [plan, path] of [
        [annotate(text), 'annotations.note'],
        [exec(text), 'command.2'],
        [patch(text), 'patch'],
      ] as const) {
        const parsed = planSchema.safeParse(plan);
        expect(parsed.success).toBe(false);
        const issue = parsed.error!.issues[0];
        expect(issue.path.join('.')).toBe(path);
        expect(issue.message).toMatch(MESSAGE);
        expect(MESSAGE.exec(issue.message)![1]).toBe(code.padStart(4, '0'));
      }
    },
  );

  it('takes none of them in a cluster name', () => {
    for (const text of ['prod 👨\u200D👩\u200D👧', 'prod\u00AD', 'prod\r\n']) {
      expect(
        planSchema.safeParse({
          verb: 'get',
          resource: 'pods',
          namespace: 'shop',
          cluster: text,
        }).success,
      ).toBe(false);
    }
  });
});

/**
 * What bash reads from `$'…'` quoting with the escapes renderKubectl writes,
 * as bytes: `\xHH` is a byte in any locale (`\uHHHH` is not in the C locale).
 */
function bashReads(quoted: string): string {
  const body = Array.from(/^\$'(.*)'$/s.exec(quoted)![1]);
  const simple: Record<string, string> = {
    '\\': '\\',
    "'": "'",
    t: '\t',
    n: '\n',
    r: '\r',
  };
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      bytes.push(...Buffer.from(body[i], 'utf8'));
    } else if (body[i + 1] in simple) {
      bytes.push(simple[body[++i]].charCodeAt(0));
    } else if (body[i + 1] === 'x') {
      bytes.push(parseInt(body.slice(i + 2, i + 4).join(''), 16));
      i += 3;
    } else {
      throw new Error(`\\${body[i + 1]} is not read the same in every locale`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('renderKubectl and the characters a plan may hold', () => {
  it.each<[string, string, string]>([
    [
      'an emoji family',
      'family 👨\u200D👩\u200D👧',
      "$'note=family 👨\\xe2\\x80\\x8d👩\\xe2\\x80\\x8d👧'",
    ],
    ['Persian', 'می\u200Cخواهم', "$'note=می\\xe2\\x80\\x8cخواهم'"],
    ['a soft hyphen', 'Ver\u00ADsicherung', "$'note=Ver\\xc2\\xadsicherung'"],
    ['Windows line endings', "it's\r\nok", "$'note=it\\'s\\r\\nok'"],
    [
      "England's flag",
      '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
      "$'note=\u{1F3F4}\\xf3\\xa0\\x81\\xa7\\xf3\\xa0\\x81\\xa2\\xf3\\xa0\\x81\\xa5\\xf3\\xa0\\x81\\xae\\xf3\\xa0\\x81\\xa7\\xf3\\xa0\\x81\\xbf'",
    ],
  ])(
    'writes %s so the command shows each character, and a shell reads the value back',
    (_, text, arg) => {
      expect(planSchema.safeParse(annotate(text)).success).toBe(true);
      expect(renderKubectl(annotate(text))).toBe(
        `kubectl annotate deployment/web ${arg} --overwrite -n shop`,
      );
      expect(bashReads(arg)).toBe(`note=${text}`);
    },
  );
});
