import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findInstallTimeInputs } from './installTimeInputs';

/** Templates written to hide calls from a scan that does not read actions as Go's template lexer does. */
describe('findInstallTimeInputs on templates that hide their calls', () => {
  let root: string;
  const scan = async (template: string) => {
    await fs.mkdir(path.join(root, 'templates'), { recursive: true });
    await fs.writeFile(path.join(root, 'templates', 'hook.yaml'), template);
    return findInstallTimeInputs(root);
  };
  const calls = async (template: string) =>
    (await scan(template)).calls.map(c => c.fn).sort();
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'inputs-hostile-'));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it.each([
    [
      '"}}" in a string',
      '{{- $m := list "}}" (lookup "v1" "ConfigMap" .Release.Namespace "mode") (randAlphaNum 3) -}}\nkind: Job\n',
      ['lookup', 'randAlphaNum'],
    ],
    [
      'an escaped quote and "}}" in a string',
      'x: {{ list "a\\"}}" (randAlpha 3) }}\n',
      ['randAlpha'],
    ],
    [
      '"}}" in a raw string spanning lines',
      'x: {{ list `a\n}}` (tpl .Values.t .) }}\n',
      ['tpl'],
    ],
    [
      'a quote in a character constant',
      `x: {{ list '"' (lookup "v1" "Secret" "" "s") '"' }}\n`,
      ['lookup'],
    ],
    [
      'an escaped quote in a character constant',
      `x: {{ list '\\'' "x" (now) '\\'' }}\n`,
      ['now'],
    ],
    [
      'a comment that ends with a trim marker, then a call',
      '{{- /* "}}" */ -}}{{ uuidv4 }}\n',
      ['uuidv4'],
    ],
    [
      'an action across lines with "}}" in a string',
      '{{ $x := dict\n  "a" "}}"\n  "b" (genPrivateKey "rsa") }}\n',
      ['genPrivateKey'],
    ],
  ])('finds calls after %s', async (_what, template, expected) => {
    expect(await calls(template)).toEqual(expected);
  });

  it('still ignores names inside strings, raw strings, character constants and comments', async () => {
    expect(
      await calls(
        'a: {{ "lookup }}" }}\nb: {{ `tpl\n}}` }}\nc: {{/* now }} */}}\nd: {{ printf "%c" \'l\' }}\n',
      ),
    ).toEqual([]);
  });

  it('counts a file that defines a named template with block as one any template may include', async () => {
    expect(
      (await scan('{{- block "pw" . }}{{ randAlphaNum 8 }}{{- end }}\n'))
        .namedTemplateFiles,
    ).toEqual(['templates/hook.yaml']);
  });

  it.each([
    ['an unterminated action', 'x: {{ lookup "v1" "Secret" "" "s"\n'],
    [
      'an unterminated string',
      'x: {{ list "}}\n" (lookup "v1" "S" "" "s") }}\n',
    ],
    ['an unterminated raw string', 'x: {{ list `}} (now) }}\n'],
    ['an unclosed comment', 'x: {{/* }}\n{{ now }}\n'],
    ['a comment that does not end the action', 'x: {{/* c */ now }}\n'],
  ])(
    'refuses a template with %s, which it cannot read as helm would',
    async (_what, template) => {
      const e = await scan(template).then(
        () => undefined,
        err => err,
      );
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(
        /^Chart refused: templates\/hook\.yaml line \d+: .* \(helm cannot parse it either\)$/,
      );
    },
  );
});
