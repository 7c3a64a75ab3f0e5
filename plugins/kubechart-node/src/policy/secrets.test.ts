import { costOf } from '@internal/kube-sim/testUtils';
import {
  DEFAULT_SECRET_KEY_NAMES,
  isSecretName,
  nameWords,
  secretValueKind,
} from './secrets';

const defaults = { keyNames: DEFAULT_SECRET_KEY_NAMES, ignoreKeys: [] };

describe('secret names: whole words, not substrings', () => {
  it.each([
    'password',
    'DB_PASSWORD',
    'dbPassword',
    'api_key',
    'API-KEY',
    'apiKey',
    'apikey',
    'secret_token',
    'GITHUB_TOKEN',
    'aws.secret.access.key',
    'clientSecret',
    'AWS_SECRET_ACCESS_KEY',
    'PRIVATE_KEY',
    'SENTRY_DSN',
  ])('%s is secret', name => expect(isSecretName(name, defaults)).toBe(true));

  it.each([
    'monkey',
    'cache_key_prefix',
    'primary_key',
    'keyboard',
    'tokenizer',
    'secretary_name',
    'passwordless_login',
    'color',
    'KEY_ID_COLUMN',
  ])('%s is not secret', name =>
    expect(isSecretName(name, defaults)).toBe(false),
  );

  it('splits camelCase, acronyms and separators', () => {
    expect(nameWords('APIKey')).toEqual(['api', 'key']);
    expect(nameWords('db.adminPassword2')).toEqual([
      'db',
      'admin',
      'password',
      '2',
    ]);
    expect(isSecretName('adminPassword2', defaults)).toBe(true);
    expect(nameWords('x-auth_TOKEN')).toEqual(['x', 'auth', 'token']);
  });

  it('honours configured names and ignored keys', () => {
    const custom = { keyNames: ['pin code'], ignoreKeys: ['token'] };
    expect(isSecretName('PIN_CODE', custom)).toBe(true);
    expect(isSecretName('password', custom)).toBe(false);
    expect(isSecretName('token', { ...defaults, ignoreKeys: ['TOKEN'] })).toBe(
      false,
    );
  });
});

describe('secret values', () => {
  it('names the kind of secret, never the value', () => {
    expect(
      secretValueKind('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb...'),
    ).toBe('a PEM private key');
    expect(secretValueKind('-----BEGIN EC PRIVATE KEY-----')).toBe(
      'a PEM private key',
    );
    expect(secretValueKind('mysql://root:toor@10.0.0.5/db')).toBe(
      'a password in a URL',
    );
    expect(
      secretValueKind(
        'https://hooks.slack.com/services/T0000AAAA/B0000BBBB/abcdefghijklmnop',
      ),
    ).toBe('a Slack webhook URL');
    expect(secretValueKind('--db-password=correcthorse')).toBe(
      'a password assignment',
    );
  });

  it('finds a URL password holding /, ? or #, and leaves a port followed by a path alone', () => {
    for (const v of [
      'https://app:s3cr3t/value@charts.example.com/index.yaml',
      'redis://:s3cr3t#value@redis:6379/0',
      'amqp://app:a?b@mq:5672',
    ]) {
      expect([v, secretValueKind(v)]).toEqual([v, 'a password in a URL']);
    }
    for (const v of [
      'https://api.example.com:8443/users?email=a@b.example',
      'http://web:80/mail/to@example.com',
      'https://host:443#frag@x',
    ]) {
      expect([v, secretValueKind(v)]).toEqual([v, undefined]);
    }
  });

  it('leaves references, certificates and ordinary text alone', () => {
    for (const v of [
      'postgres://app:$(DB_PASSWORD)@db/app',
      'postgres://app:${DB_PASSWORD}@db/app',
      'postgres://app@db/app',
      '-----BEGIN CERTIFICATE-----\nMIIB',
      'password=',
      'https://example.com/path:with:colons',
      'eyJ is how JSON in base64 starts',
      'AKIA-not-a-key',
    ]) {
      expect(secretValueKind(v)).toBeUndefined();
    }
  });

  it('scans hostile input in linear time', () => {
    // Each of about 200,000 characters, and of a tenth of that: ten times the text costs about ten
    // times the work (characters read and searched, what regular expressions span included), where
    // a scan that starts again at each near miss costs a hundred times.
    const hostile: Record<string, (n: number) => string> = {
      colons: n => 'a:'.repeat(n / 2),
      'a URL of colons': n => `postgres://${'u'.repeat(300)}:${':'.repeat(n)}`,
      'a JSON Web Token of dots': n =>
        `eyJ${'a'.repeat(n / 2)}.eyJ${'.'.repeat(n / 2)}`,
      'a PEM header of spaces': n => `-----BEGIN ${' '.repeat(n)}`,
      'Bearer over and over': n => 'Bearer '.repeat(n / 7),
      'password = over and over': n => 'password ='.repeat(n / 10),
      'schemes without a password': n => `${'x://'.repeat(n / 4)}@`,
    };
    const growth = Object.entries(hostile).map(([name, textOf]) => {
      const cost = (n: number) => {
        const text = textOf(n);
        return costOf(() => secretValueKind(text));
      };
      return [name, Math.round(cost(200_000) / cost(20_000))] as const;
    });
    expect(growth.filter(([, times]) => times >= 15)).toEqual([]);
  });
});
