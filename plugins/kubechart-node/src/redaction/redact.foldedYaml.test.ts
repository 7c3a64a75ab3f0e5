import yaml from 'js-yaml';
import {
  collectSecretValues,
  createTextRedactor,
  redactManifest,
} from './redact';

/**
 * go-yaml (helm's `toYaml`, in helm 3 and helm 4 alike) folds a scalar longer than its width of 80
 * columns at a space: the space becomes a line break and the indentation of the next line (in a
 * double-quoted scalar followed by `\` when the next character is a space too). A secret with
 * spaces that a chart writes into a config file that way is hidden all the same, and only where
 * the folded text reads as the secret.
 */
describe('a known secret folded over lines by helm toYaml', () => {
  const values = {
    config: {
      db: {
        host: 'db.shop.svc',
        password:
          'correct horse battery staple orbit lantern meadow quartz violet harbor sundial',
      },
      smtp: {
        password:
          '#relay: correct horse battery staple orbit lantern meadow quartz violet harbor',
      },
      vault: {
        token:
          'tab\there and then a long tail of words to fold over the width of twooo  lines',
      },
      url: 'postgres://app:correct horse battery staple orbit lantern meadow quartz violet harbor sundial@db:5432/app',
    },
  };
  /**
   * Verbatim `helm template` output (v3.18.0 and v4.1.4 write the same) of
   * `config.yaml: |` + `{{- toYaml .Values.config | nindent 4 }}` with the values above: a plain,
   * a single-quoted and a double-quoted scalar folded (the last at two spaces, as `\ `), and the
   * password folded elsewhere within a URL.
   */
  const manifest = [
    '---',
    '# Source: app/templates/cm.yaml',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: app-config',
    'data:',
    '  config.yaml: |',
    '    db:',
    '      host: db.shop.svc',
    '      password: correct horse battery staple orbit lantern meadow quartz violet harbor',
    '        sundial',
    '    smtp:',
    "      password: '#relay: correct horse battery staple orbit lantern meadow quartz violet",
    "        harbor'",
    '    url: postgres://app:correct horse battery staple orbit lantern meadow quartz violet',
    '      harbor sundial@db:5432/app',
    '    vault:',
    '      token: "tab\\there and then a long tail of words to fold over the width of twooo',
    '        \\ lines"',
    '',
  ].join('\n');
  const scrub = createTextRedactor(collectSecretValues(values), {
    keyValuePairs: false,
  });

  it('hides it in the manifest a run keeps, and nothing else of the file', () => {
    const out = redactManifest(manifest, { scrub });
    for (const word of ['staple', 'sundial', 'harbor', 'twooo', 'lines'])
      expect(out).not.toContain(word);
    expect(yaml.load(out)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-config' },
      data: {
        'config.yaml': [
          'db:',
          '  host: db.shop.svc',
          '  password: ***',
          'smtp:',
          "  password: '***'",
          'url: postgres://app:***@db:5432/app',
          'vault:',
          '  token: "***"',
          '',
        ].join('\n'),
      },
    });
  });

  it('hides it in free text (helm output quoting the file)', () => {
    const text = [
      'Error: config.yaml:',
      '      password: correct horse battery staple orbit lantern meadow quartz violet harbor',
      '        sundial',
      'is not valid',
    ].join('\n');
    expect(createTextRedactor(collectSecretValues(values))(text)).toBe(
      ['Error: config.yaml:', '      password: ***', 'is not valid'].join('\n'),
    );
  });

  it('hides only text that reads as the secret where go-yaml folds, not words a line break parts elsewhere', () => {
    const secret = 'correct horse battery staple';
    const own = createTextRedactor([secret], { keyValuePairs: false });
    for (const text of [
      // A blank line between: two paragraphs, not one folded scalar.
      'correct horse\n\n  battery staple',
      // A space left before the break: go-yaml folds at the space, it does not keep it.
      'correct horse \n  battery staple',
    ])
      expect(own(text)).toBe(text);
    expect(own('correct horse\n  battery staple')).toBe('***');
    // Two spaces: a plain scalar is not folded there, a double-quoted one is, keeping the second as `\ `.
    const two = createTextRedactor(['correct  horse battery'], {
      keyValuePairs: false,
    });
    expect(two('correct\n    horse battery')).toBe(
      'correct\n    horse battery',
    );
    expect(two('"correct\n    \\ horse battery"')).toBe('"***"');
  });
});
