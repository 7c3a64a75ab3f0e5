import yaml from 'js-yaml';
import {
  collectSecretValues,
  createTextRedactor,
  redactManifest,
  redactValues,
} from './redact';

/**
 * A known secret is found in the forms a chart writes it in (URL-encoded into a DSN, trimmed of
 * the newline of the file it was read from), and what a run's values view hides by its text rules
 * (a URL's password, a `db.password=` pair) counts as known: a manifest rendered from the values
 * shows none of it, and nothing else of the manifest's own text is hidden.
 */
describe('the forms of a known secret', () => {
  const secret = "Kn0wn+pass/word@x y!*'()";
  const scrub = createTextRedactor([secret], { keyValuePairs: false });

  it.each([
    [
      'helm urlquery (Go QueryEscape)',
      'Kn0wn%2Bpass%2Fword%40x+y%21%2A%27%28%29',
    ],
    ['Go PathEscape', 'Kn0wn+pass%2Fword@x%20y%21%2A%27%28%29'],
    ['encodeURIComponent', encodeURIComponent(secret)],
  ])('hides it written by %s', (_how, encoded) => {
    expect(scrub(`postgres://app:${encoded}@db:5432/app`)).toBe(
      'postgres://app:***@db:5432/app',
    );
  });

  it('hides a secret given with a trailing newline where a chart trimmed it', () => {
    const trimmed = createTextRedactor(['Tr1mmed-T0ken\n'], {
      keyValuePairs: false,
    });
    expect(trimmed('client: Tr1mmed-T0ken')).toBe('client: ***');
    expect(trimmed('client: "  Tr1mmed-T0ken  "')).toBe('client: "  ***  "');
  });

  it('leaves text without the secret as it is', () => {
    expect(scrub('postgres://app:other%2Bpass@db:5432/app')).toBe(
      'postgres://app:other%2Bpass@db:5432/app',
    );
  });
});

/**
 * What helm's `toJson`/`toPrettyJson` (Go's `json.Marshal`: `&`, `<`, `>`, U+2028 and U+2029 as
 * `\u` escapes) and `toYaml` (go-yaml: single-quoted with `'` doubled, or double-quoted with YAML's
 * escapes) write of a known secret is hidden too, and so is the JSON form quoted once more
 * (`| toJson | quote`, `toJson` of a JSON string).
 */
describe('the helm toJson and toYaml forms of a known secret', () => {
  const scrubFor = (secret: string) =>
    createTextRedactor([secret], { keyValuePairs: false });

  it.each([
    [
      'toJson with & < >',
      'S3cr&t<pa>ssword',
      '{"db":{"password":"S3cr\\u0026t\\u003cpa\\u003essword"}}',
      '{"db":{"password":"***"}}',
    ],
    [
      'toJson with U+2028 and a quote',
      'Line\u2028"Sep"-pass',
      '{"p":"Line\\u2028\\"Sep\\"-pass"}',
      '{"p":"***"}',
    ],
    [
      'toJson of a JSON string (nested once)',
      'S3cr&t<pa>ssword',
      '"{\\"password\\":\\"S3cr\\\\u0026t\\\\u003cpa\\\\u003essword\\"}"',
      '"{\\"password\\":\\"***\\"}"',
    ],
    [
      'toYaml single-quoted',
      "it's-#S3cret: x",
      "password: 'it''s-#S3cret: x'",
      "password: '***'",
    ],
    [
      'toYaml double-quoted (bell, escape, DEL, emoji)',
      'B3ll\u0007Esc\u001bDel\u007f\u{1F600}"\\',
      'password: "B3ll\\aEsc\\eDel\\x7F\\U0001F600\\"\\\\"',
      'password: "***"',
    ],
  ])('hides it written by %s', (_how, secret, written, shown) => {
    expect(scrubFor(secret)(written)).toBe(shown);
  });

  it('hides a password with & < > written by toJson | quote into a ConfigMap', () => {
    // Verbatim `helm template` (v3.18) output.
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: x',
      'data:',
      '  config.json: "{\\"db\\":{\\"password\\":\\"S3cr\\\\u0026t\\\\u003cpa\\\\u003essword\\"}}"',
      '',
    ].join('\n');
    const scrub = createTextRedactor(
      collectSecretValues({ database: { password: 'S3cr&t<pa>ssword' } }),
      { keyValuePairs: false },
    );
    const out = redactManifest(manifest, { scrub });
    expect(out).not.toContain('u003essword');
    expect(yaml.load(out)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { 'config.json': '{"db":{"password":"***"}}' },
    });
  });

  it("hides a password with ' written by toYaml into a ConfigMap", () => {
    // Verbatim `helm template` (v3.18) output.
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: x',
      'data:',
      '  config.yaml: |',
      '    db:',
      "      password: 'it''s-#S3cret: x'",
      '',
    ].join('\n');
    const scrub = createTextRedactor(
      collectSecretValues({ database: { password: "it's-#S3cret: x" } }),
      { keyValuePairs: false },
    );
    const out = redactManifest(manifest, { scrub });
    expect(out).not.toContain('S3cret');
    expect(yaml.load(out)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { 'config.yaml': "db:\n  password: '***'\n" },
    });
  });
});

describe('collectSecretValues', () => {
  const values = {
    externalUrl: 'https://svc:UrlPassw0rd-1@api.example.com/v1',
    extraConfig: 'db.password=CfgPassw0rd-1',
    config: 'db:\n  host: db\n  password: Yaml-Passw0rd-1\n',
    args: ['--token', 'Arg-T0ken-1', '--verbose'],
    database: { password: 'Keyed-Passw0rd-1' },
    note: 'hello world',
    flags: '--authentication-token-webhook=true',
  };

  it('holds what the values view hides, and only that', () => {
    expect(collectSecretValues(values).sort()).toEqual(
      [
        'Arg-T0ken-1',
        'CfgPassw0rd-1',
        'Keyed-Passw0rd-1',
        'UrlPassw0rd-1',
        'Yaml-Passw0rd-1',
      ].sort(),
    );
    const shown = JSON.stringify(redactValues(values));
    for (const s of collectSecretValues(values)) expect(shown).not.toContain(s);
  });

  it('gives a URL password that holds the text after it exactly', () => {
    // The first password holds `@h`, the text that follows it as shown.
    const text = 'a=https://u:p@h1-2@h b=https://v:q9-zz@h';
    expect(redactValues({ text }).text).toBe(
      'a=https://u:***@h b=https://v:***@h',
    );
    expect(collectSecretValues({ text }).sort()).toEqual(['p@h1-2', 'q9-zz']);
  });

  it('hides them in a manifest rendered from the values, keeping its own text', () => {
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: settings',
      'data:',
      '  EXTERNAL_URL: https://svc:UrlPassw0rd-1@api.example.com/v1',
      '  app.properties: db.password=CfgPassw0rd-1',
      '  template: "password: ${DB_PASSWORD}"',
      '  ARGS: --token-file /var/run/token --authentication-token-webhook=true',
      '',
    ].join('\n');
    const scrub = createTextRedactor(collectSecretValues(values), {
      keyValuePairs: false,
    });
    expect(yaml.load(redactManifest(manifest, { scrub }))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: {
        EXTERNAL_URL: 'https://svc:***@api.example.com/v1',
        'app.properties': 'db.password=***',
        template: 'password: ${DB_PASSWORD}',
        ARGS: '--token-file /var/run/token --authentication-token-webhook=true',
      },
    });
  });
});
