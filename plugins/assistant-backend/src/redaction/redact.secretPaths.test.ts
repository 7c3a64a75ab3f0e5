import { Plan, renderKubectl } from '@kubechart/plugin-assistant-common';
import { forTheBrowser } from '../service/AssistantService';
import { redactObject } from './redact';

/**
 * `vault.hashicorp.com/agent-inject-secret-<name>` names the Vault path of the secret the Vault
 * Agent Injector renders into a pod: a reference, as a `secretKeyRef` is, not the secret. Shown as
 * `***`, a user confirmed an annotation pointing a pod at production's database credentials without
 * seeing it, and read a pod's annotations without learning which secrets it is given. Its
 * `agent-inject-template-<name>` (a template that may hold text of its own) is left to the rules
 * of every other annotation.
 */
describe('the Vault path an annotation names', () => {
  const KEY = 'vault.hashicorp.com/agent-inject-secret-db';

  it('is shown in the plan and command a user confirms, and in the explanation', () => {
    const plan: Plan = {
      verb: 'annotate',
      resource: 'deployments',
      name: 'web',
      namespace: 'shop',
      annotations: { [KEY]: 'database/creds/prod-admin' },
    };
    const out = forTheBrowser({
      plan,
      command: renderKubectl(plan),
      explanation: `Annotates web with ${KEY}=database/creds/prod-admin.`,
    });
    expect(out.command).toBe(
      `kubectl annotate deployment/web ${KEY}=database/creds/prod-admin --overwrite -n shop`,
    );
    expect(out.explanation).toContain('database/creds/prod-admin');
    // Under that key, a value that is no Vault path is hidden as any secret-looking one is.
    const token = 'hvs.CAESIJ0123456789abcdefXYZ';
    const odd = forTheBrowser({
      plan: { ...plan, annotations: { [KEY]: token } },
      command: 'x',
      explanation: `Sets ${KEY}=${token}.`,
    });
    expect(JSON.stringify(odd)).not.toContain(token);
  });

  it('is shown among the annotations of an object read', () => {
    const pod = redactObject({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-0',
        annotations: {
          'vault.hashicorp.com/agent-inject': 'true',
          [KEY]: 'database/creds/readonly',
          'vault.hashicorp.com/agent-inject-secret-cache': 'Pa55-not-a-path',
          'my-api-key': 'abc123xyz',
        },
      },
    });
    expect(pod.metadata.annotations).toEqual({
      'vault.hashicorp.com/agent-inject': 'true',
      [KEY]: 'database/creds/readonly',
      'vault.hashicorp.com/agent-inject-secret-cache': '***',
      'my-api-key': '***',
    });
  });
});
