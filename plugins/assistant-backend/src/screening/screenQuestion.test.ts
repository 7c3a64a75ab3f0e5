import { superLinearScans } from '@internal/kube-sim/testUtils';
import { screenQuestion, withoutSecretValues } from './screenQuestion';

// Written before free-text secrets were screened; the code of then passed all
// 21 questions and refused 1 of the 10 secrets ("credential = letmein123").
/** Questions about Secrets that must pass through untouched. */
const MUST_PASS = [
  'is the password secret mounted in pod checkout-web-7d9f',
  'which pods use secret db-password',
  'show me the token expiry of service account builder',
  'describe secret db-password in payments',
  'list secrets in shop',
  'get secret api-token -o yaml in payments',
  'which deployments mount the secret payments-db-credentials',
  'delete secret old-token-2023 in shop',
  'how many keys does secret registry-credentials have',
  'is the token secret for service account default in kube-system still there',
  'show secrets of type kubernetes.io/service-account-token',
  'when was secret tls-cert-2024 created',
  'which pods reference the secret named password in shop',
  'label secret api-key-v2 in payments rotated=true',
  'does the service account deployer have a token secret',
  'why is checkout-web failing, is the secret password wrong',
  'show events for secret db-password-v3 in shop',
  'my password secret is missing in payments, which pods use it',
  'the secret payments-api-key is not mounted, why',
  'list pods where the api key secret is stale',
  'describe the credential secret gitlab-registry-creds2 in ci',
];
/** Questions holding a secret value in free text: must be refused. */
const MUST_REFUSE = [
  'my password is hunter2secret',
  'the token is abc123def456ghi789',
  'the db password is Sup3rS3cretValue, why does checkout-web fail',
  'api key ghp_16C7e42F292c6912E7710c838347Ae178B4a please check',
  'use token eyJhbGciOiJIUzI1NiJ9x9y8z7 to query pods',
  'password Pa55word2024 for postgres is not working in shop',
  'the secret is s3cr3t-v4lu3-99 and the pod still crashes',
  'my api-key is AKIAIOSFODNN7EXAMPLE',
  'credential = letmein123 does not work',
  'private key is MIIEvQIBADANBgkqhkiG9w0 for the tls secret',
];

describe('secret values typed in a question', () => {
  it.each(MUST_PASS)('passes a question about Secrets untouched: %s', q => {
    expect(withoutSecretValues(q)).toBe(q);
  });

  it.each(MUST_REFUSE)('hides a value told in words: %s', q => {
    const recorded = withoutSecretValues(q);
    expect(recorded).not.toBe(q);
    expect(recorded).toContain('***');
  });

  it('records what was said around the value, without the value', () => {
    expect(withoutSecretValues('my password is hunter2secret')).toBe(
      'my password is ***',
    );
    expect(
      withoutSecretValues(
        'api key ghp_16C7e42F292c6912E7710c838347Ae178B4a please check',
      ),
    ).toBe('api key *** please check');
    expect(withoutSecretValues('db-password=Hunter2Secret')).toBe(
      'db-password=***',
    );
  });

  it('hides a secret value assigned after another assignment, as before', () => {
    expect(withoutSecretValues('a=token=xyz')).toBe('a=token=***');
    expect(withoutSecretValues('x=y/password=abc')).toBe('x=y/password=***');
    expect(withoutSecretValues('token="abc"password=xyz')).toBe(
      'token=***password=***',
    );
    expect(withoutSecretValues("run with API_KEY: 's3cr3t v' now")).toBe(
      'run with API_KEY: *** now',
    );
    expect(withoutSecretValues('replicas=3 token=, ok')).toBe(
      'replicas=3 token=, ok',
    );
  });

  it('hides the value of every key the plan’s redaction hides (the shared key rule)', () => {
    for (const [question, recorded] of [
      ['annotate deployment x signing-key=Hunter2xyz9Q', 'signing-key=***'],
      ['annotate deployment x authorization=Bearer', 'authorization=***'],
      ['label deployment x ssh-key=abc123', 'ssh-key=***'],
      ['annotate deployment x session-cookie=abc123', 'session-cookie=***'],
      ['annotate deployment x db.pass=abc123', 'db.pass=***'],
      ['annotate deployment x example.com/signing-key=abc123', 'key=***'],
      ['annotate deployment x vault.example.com/token=abc123', 'token=***'],
      [
        `patch deployment x '{"metadata":{"annotations":{"signing-key":"abc123"}}}'`,
        `"signing-key":***}}}'`,
      ],
    ]) {
      expect(withoutSecretValues(question)).toContain(recorded);
      expect(withoutSecretValues(question)).not.toContain('abc123');
    }
    // Keys that name no secret are kept with their values.
    for (const question of [
      'annotate deployment x owner=team-shop',
      'label deployment x tier=web bypass=yes',
      `patch deployment x '{"spec":{"replicas":3}}'`,
      'get pods -l app.kubernetes.io/name=checkout',
      // A key's prefix names an API group, not a secret.
      'label clusterrole x rbac.authorization.k8s.io/aggregate-to-view=true',
    ]) {
      expect(withoutSecretValues(question)).toBe(question);
    }
  });

  /** Questions of `n` characters (2,000, the longest) made of the words and separators the rules look for. */
  const HOSTILE = [
    (n: number) => 'password is '.repeat(n / 12 + 1),
    (n: number) => 'token '.repeat(n / 6 + 1),
    (n: number) => 'token'.repeat(n / 5),
    (n: number) => 'password'.repeat(n / 8),
    (n: number) => 'api-key'.repeat(n / 7 + 1),
    (n: number) => 'private_key'.repeat(n / 11 + 1),
    (n: number) => `${'token'.repeat(n / 5 - 1)}=`,
    (n: number) => 'a='.repeat(n / 2),
    (n: number) => 'token='.repeat(n / 6 + 1),
    (n: number) => 'token="'.repeat(n / 7 + 1),
    (n: number) => "token: '".repeat(n / 8),
    (n: number) => `token${' '.repeat(n - 10)}=x`,
    (n: number) => 'secret is '.repeat(n / 10),
    (n: number) => '{'.repeat(n),
    (n: number) => "'".repeat(n),
    (n: number) => "{'".repeat(n / 2),
    (n: number) => 'and '.repeat(n / 4),
    (n: number) => 'and then '.repeat(n / 9 + 1),
    (n: number) => 'ignore '.repeat(n / 7 + 1),
    (n: number) => 'delete, '.repeat(n / 8),
    (n: number) => '> '.repeat(n / 2),
    (n: number) => 'a.'.repeat(n / 2),
  ].map(questionOf => (n: number) => questionOf(n).slice(0, n));

  it('screens the longest hostile question in linear time', () => {
    const screen = (question: string) => {
      withoutSecretValues(question);
      screenQuestion(question);
    };
    // Counted, not timed: ten times the question costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a scan restarted at each near miss costs
    // a hundred times.
    expect(superLinearScans(HOSTILE, screen, { size: 200, shown: 24 })).toEqual(
      [],
    );
  });
});
