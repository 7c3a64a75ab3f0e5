import { REDACTED, redactSecrets } from './redact';

/**
 * The assistant records in its `question` and `execution` events the plan and the command as it
 * showed them to the user, who confirmed them: its own rules have hidden the secret values as
 * `***` and shown the keys of a patch that name a label, a taint or a key of a ConfigMap or Secret
 * (a toleration's, a selector requirement's, a key reference's, a projected item's). The trail
 * must record those as shown, or it does not say which change was confirmed; a secret value the
 * same event holds is still hidden.
 */
describe('redactSecrets: a patch as the assistant showed it', () => {
  /** The event's metadata for a patch of deployment web, with its command as kubectl takes it. */
  const shownPatch = (body: unknown) => {
    const patch = JSON.stringify(body);
    return {
      plan: {
        verb: 'patch',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        patch,
      },
      command: `kubectl patch deployment/web --context sim -n shop --type merge -p '${patch}'`,
    };
  };
  const podTemplate = (spec: unknown) => ({
    spec: { template: { spec } },
  });

  it.each([
    [
      'which taints a deployment tolerates, and where it is placed',
      podTemplate({
        tolerations: [
          {
            key: 'node-role.kubernetes.io/control-plane',
            operator: 'Exists',
            effect: 'NoSchedule',
          },
          { key: '', operator: 'Exists' },
          {
            key: 'dedicated',
            operator: 'Equal',
            value: 'gpu',
            effect: 'NoExecute',
            tolerationSeconds: 30,
          },
        ],
        nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      }),
    ],
    [
      'which namespaces a NetworkPolicy admits',
      {
        spec: {
          ingress: [
            {
              from: [
                {
                  namespaceSelector: {
                    matchExpressions: [
                      {
                        key: 'kubernetes.io/metadata.name',
                        operator: 'NotIn',
                        values: ['kube-system'],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      },
    ],
    [
      'node affinity, pod anti-affinity and spread constraints',
      podTemplate({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    {
                      key: 'kubernetes.io/hostname',
                      operator: 'In',
                      values: ['cp-1'],
                    },
                  ],
                  matchFields: [
                    { key: 'metadata.name', operator: 'In', values: ['cp-1'] },
                  ],
                },
              ],
            },
          },
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 100,
                podAffinityTerm: {
                  labelSelector: { matchLabels: { app: 'web' } },
                  topologyKey: 'topology.kubernetes.io/zone',
                },
              },
            ],
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { app: 'web' } },
                topologyKey: 'kubernetes.io/hostname',
              },
            ],
          },
        },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: 'DoNotSchedule',
          },
        ],
      }),
    ],
    [
      'which ConfigMap and Secret keys a deployment reads',
      podTemplate({
        containers: [
          {
            name: 'app',
            env: [
              {
                name: 'LOG_LEVEL',
                valueFrom: {
                  configMapKeyRef: { name: 'settings', key: 'log-level' },
                },
              },
              {
                name: 'DB_PASSWORD',
                valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
              },
            ],
          },
        ],
        volumes: [
          {
            name: 'conf',
            configMap: {
              name: 'settings',
              items: [{ key: 'app.yaml', path: 'conf/app.yaml' }],
            },
          },
          { name: 'creds', secret: { secretName: 'db', optional: true } },
        ],
      }),
    ],
  ])('records %s as shown', (_what, body) => {
    const meta = shownPatch(body);
    expect(redactSecrets(meta)).toEqual(meta);
  });

  it('still hides the secret values of the same event', () => {
    const SECRET = 'sk-live-1234567890abcdef';
    const meta = shownPatch(
      podTemplate({
        tolerations: [
          { key: 'dedicated', operator: 'Exists' },
          // Not a toleration: a field of no such shape beside `key`.
          { key: SECRET, operator: 'Exists', token: 'x' },
        ],
        // A requirement's `key` that is no label key; a `key` alone; one under a secret's name.
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: `a b=${SECRET}`, operator: 'Exists' },
                  ],
                },
              ],
            },
          },
        },
        containers: [
          {
            name: 'app',
            env: [{ name: 'API_TOKEN', value: SECRET }],
            args: ['--api-key', SECRET],
          },
        ],
        apiKey: { matchExpressions: [{ key: SECRET, operator: 'Exists' }] },
        other: { key: SECRET },
      }),
    );
    const out = redactSecrets(meta) as typeof meta;
    expect(JSON.stringify(out)).not.toContain(SECRET);
    // What is a structural key is still shown beside them.
    expect(out.plan.patch).toContain('{"key":"dedicated","operator":"Exists"}');
    expect(out.command).toContain('{"key":"dedicated","operator":"Exists"}');
    expect(out.plan.patch).toContain(`{"key":"${REDACTED}"}`);
  });
});

describe('redactSecrets: an annotation naming a Vault path, as the assistant showed it', () => {
  it('records the path, and still hides what is no path', () => {
    const KEY = 'vault.hashicorp.com/agent-inject-secret-api-token';
    const meta = {
      plan: {
        verb: 'annotate',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        annotations: { [KEY]: 'database/creds/prod-admin' },
      },
      command: `kubectl annotate deployment/web '${KEY}=database/creds/prod-admin' --overwrite -n shop`,
    };
    expect(redactSecrets(meta)).toEqual(meta);
    const token = 'hvs.CAESIJ0123456789abcdefXYZ';
    const hidden = redactSecrets({
      plan: { ...meta.plan, annotations: { [KEY]: token } },
      command: `kubectl annotate deployment/web '${KEY}=${token}' -n shop`,
    });
    expect(JSON.stringify(hidden)).not.toContain(token);
  });
});
