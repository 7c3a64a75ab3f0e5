import {
  REDACTED,
  forEachSecretValue,
  redactKubeObject,
  redactText,
  redactValues,
  type TextRedactionOptions,
} from '.';

/**
 * The Vault Agent Injector's `vault.hashicorp.com/agent-inject-secret-<name>` annotation names the
 * Vault path of a secret (`database/creds/readonly`): where it is kept, not its value, as a
 * `secretKeyRef` names a Secret's key. It is shown, or a change that points a pod at another
 * secret (production's database credentials) is confirmed without seeing it. A value that is no
 * Vault path under that key, and every other annotation whose key names a secret, stay hidden.
 */
const PATH = 'database/creds/readonly';
const KEY = 'vault.hashicorp.com/agent-inject-secret-db';
const NOT_A_PATH = 'hvs.CAESIJ0123456789abcdefXYZ';

describe('the Vault path an annotation names', () => {
  it('is shown in an object, a plan or chart values, and is no secret value to remove elsewhere', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'api',
        annotations: {
          [KEY]: PATH,
          'vault.hashicorp.com/agent-inject-secret-cache': NOT_A_PATH,
          'my-api-key': 'abc123xyz',
        },
      },
    };
    expect(redactKubeObject(pod).metadata.annotations).toEqual({
      [KEY]: PATH,
      'vault.hashicorp.com/agent-inject-secret-cache': REDACTED,
      'my-api-key': REDACTED,
    });
    expect(
      redactValues({
        podAnnotations: { [KEY]: PATH, [`${KEY}-2`]: NOT_A_PATH },
      }),
    ).toEqual({ podAnnotations: { [KEY]: PATH, [`${KEY}-2`]: REDACTED } });
    const secrets: string[] = [];
    forEachSecretValue({ [KEY]: PATH, [`${KEY}-2`]: NOT_A_PATH }, v =>
      secrets.push(v),
    );
    expect(secrets).toEqual([NOT_A_PATH]);
  });

  it.each<TextRedactionOptions>([
    {},
    { keys: 'any-word', midLineValues: 'line', placeholder: '***' },
  ])('is shown in text: %j', rules => {
    const placeholder = rules.placeholder ?? REDACTED;
    // A secret named so that every rule reads its key as a secret's (`…-token`).
    const TOKEN_KEY = 'vault.hashicorp.com/agent-inject-secret-api-token';
    for (const text of [
      `Annotations:  ${TOKEN_KEY}: ${PATH}`,
      `{"metadata":{"annotations":{"${TOKEN_KEY}":"${PATH}"}}}`,
      `kubectl annotate deployment/api '${TOKEN_KEY}=${PATH}' --overwrite -n prod`,
      `kubectl annotate deployment/api ${TOKEN_KEY}=${PATH} -n prod`,
      `Annotations:  ${KEY}: ${PATH}`,
    ])
      expect(redactText(text, rules)).toBe(text);
    // Not a Vault path, or not that annotation: hidden as before.
    for (const [text, secret] of [
      [`${TOKEN_KEY}: ${NOT_A_PATH}`, NOT_A_PATH],
      [`${TOKEN_KEY}: "a/b c"`, 'a/b c'],
      [`{"${TOKEN_KEY}":"${PATH} x"}`, `${PATH} x`],
      [`vault.example.com/agent-inject-secret-token: ${PATH}`, PATH],
      [`vault.hashicorp.com/agent-inject-token: ${PATH}`, PATH],
    ])
      expect({ text, out: redactText(text, rules) }).toEqual({
        text,
        out: text.replace(secret, placeholder),
      });
  });
});
