import { withoutSecretValues } from './screenQuestion';

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

  it('stays fast on the longest hostile question', () => {
    const question = 'password is '.repeat(170).slice(0, 2000);
    const started = performance.now();
    withoutSecretValues(question);
    withoutSecretValues('token '.repeat(400));
    expect(performance.now() - started).toBeLessThan(50);
  });
});
