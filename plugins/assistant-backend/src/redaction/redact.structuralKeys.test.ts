import { Plan, renderKubectl } from '@kubechart/plugin-assistant-common';
import {
  REDACTED as AUDIT_PLACEHOLDER,
  redactText,
} from '@kubechart/plugin-audit-log-common';
import { forTheBrowser } from '../service/AssistantService';
import { redactPlan } from './redact';

/**
 * The command a user confirms (and the audit trail records) is the plan after `redactPlan`. A
 * Kubernetes field named `key` that names a label, a taint or a key of a ConfigMap or Secret (a
 * toleration's, a selector requirement's, a key reference's, a projected item's) is a name, not a
 * secret: it is shown, or the user confirms a change whose dangerous part is hidden.
 */
describe('redactPlan: structural Kubernetes keys are shown', () => {
  const shown = (plan: Plan) =>
    forTheBrowser({
      plan,
      command: renderKubectl(plan),
      explanation: 'Patches it.',
    });
  const patchOf = (resource: Plan['resource'], body: unknown): Plan => ({
    verb: 'patch',
    resource,
    name: 'web',
    namespace: 'shop',
    patch: JSON.stringify(body),
  });
  const shownPatch = (plan: Plan) => JSON.parse(redactPlan(plan).patch!);

  it('shows which taint a patched deployment tolerates', () => {
    const plan = patchOf('deployments', {
      spec: {
        template: {
          spec: {
            tolerations: [
              {
                key: 'node-role.kubernetes.io/control-plane',
                operator: 'Exists',
                effect: 'NoSchedule',
              },
            ],
            nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
          },
        },
      },
    });
    const out = shown(plan);
    expect(out.command).toContain(
      '"tolerations":[{"key":"node-role.kubernetes.io/control-plane"',
    );
    expect(out.plan!.patch).toBe(plan.patch);
  });

  it('shows a toleration of every taint (empty key) and its value', () => {
    const plan = patchOf('daemonsets', {
      spec: {
        template: {
          spec: {
            tolerations: [
              { key: '', operator: 'Exists' },
              {
                key: 'dedicated',
                operator: 'Equal',
                value: 'gpu',
                effect: 'NoExecute',
                tolerationSeconds: 30,
              },
            ],
          },
        },
      },
    });
    expect(redactPlan(plan).patch).toBe(plan.patch);
  });

  it('shows which namespaces a patched NetworkPolicy admits', () => {
    const plan: Plan = {
      verb: 'patch',
      resource: 'networkpolicies',
      name: 'deny-all',
      namespace: 'shop',
      patch:
        '{"spec":{"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"Exists"}]}}]}]}}',
    };
    expect(shown(plan).command).toContain(
      '"key":"kubernetes.io/metadata.name"',
    );
  });

  it('shows node affinity, pod anti-affinity and spread constraints', () => {
    const plan = patchOf('deployments', {
      spec: {
        template: {
          spec: {
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
                        {
                          key: 'metadata.name',
                          operator: 'In',
                          values: ['cp-1'],
                        },
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
          },
        },
      },
    });
    expect(redactPlan(plan).patch).toBe(plan.patch);
  });

  it('shows which ConfigMap and Secret keys a patch reads', () => {
    const body = {
      spec: {
        template: {
          spec: {
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
                    valueFrom: {
                      secretKeyRef: { name: 'db', key: 'password' },
                    },
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
            ],
          },
        },
      },
    };
    expect(redactPlan(patchOf('deployments', body)).patch).toBe(
      JSON.stringify(body),
    );
  });

  it('is recorded by the audit trail as it was shown', () => {
    // The trail's text rules (`redactText` with its defaults, as the audit-log auditor runs them on
    // every string of an event) keep the keys shown, so the trail says which change was confirmed.
    const plan = patchOf('deployments', {
      spec: {
        template: {
          spec: {
            tolerations: [
              {
                key: 'node-role.kubernetes.io/control-plane',
                operator: 'Exists',
                effect: 'NoSchedule',
              },
            ],
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
                    },
                  ],
                },
              },
            },
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'topology.kubernetes.io/zone',
                whenUnsatisfiable: 'DoNotSchedule',
              },
            ],
            containers: [
              {
                name: 'app',
                env: [
                  {
                    name: 'DB_PASSWORD',
                    valueFrom: {
                      secretKeyRef: { name: 'db', key: 'password' },
                    },
                  },
                  { name: 'API_TOKEN', value: 'sk-live-1234567890abcdef' },
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
            ],
          },
        },
      },
    });
    const out = shown(plan);
    // The secret value was hidden before it was shown: the trail hides its `***` again, as its
    // own placeholder, and changes nothing else.
    expect(out.command).toContain('"value":"***"');
    const recorded = (text: string) =>
      redactText(text).split(AUDIT_PLACEHOLDER).join('***');
    expect(recorded(out.command!)).toBe(out.command);
    expect(recorded(out.plan!.patch!)).toBe(out.plan!.patch);
  });

  it('still hides a secret held under `key` or `apiKey`', () => {
    const secrets = patchOf('configmaps', {
      data: { key: 'sk-live-1234567890abcdef' },
      spec: {
        key: 'sk-live-1234567890abcdef',
        apiKey: 'sk-live-1234567890abcdef',
        // Not a toleration or a selector requirement: fields of no such shape beside `key`.
        tolerations: [{ key: 'sk-live-1234567890abcdef', token: 'x' }],
        matchExpressions: [{ key: 'sk-live-1234567890abcdef' }],
        items: [{ key: 'sk-live-1234567890abcdef' }],
        secretKeyRef: { key: 'sk-live-1234567890abcdef' },
        other: { key: 'sk-live-1234567890abcdef', operator: 'Exists' },
        topologyKey: 'sk-live-1234567890abcdef',
      },
    });
    const out = shown(secrets);
    expect(out.command).not.toContain('sk-live');
    expect(shownPatch(secrets).spec.tolerations).toEqual([
      { key: '***', token: '***' },
    ]);
    // A key that is no label key, even where a toleration's stands.
    const odd = patchOf('deployments', {
      spec: {
        template: {
          spec: {
            tolerations: [{ key: 'a b=c; password=x', operator: 'Exists' }],
          },
        },
      },
    });
    expect(redactPlan(odd).patch).not.toContain('password=x');
  });

  it('removes no structural key from the explanation', () => {
    const plan = patchOf('deployments', {
      spec: {
        template: {
          spec: {
            tolerations: [
              {
                key: 'node-role.kubernetes.io/control-plane',
                operator: 'Exists',
              },
            ],
          },
        },
      },
    });
    const out = forTheBrowser({
      plan,
      command: renderKubectl(plan),
      explanation:
        'This tolerates node-role.kubernetes.io/control-plane so web can run there.',
    });
    expect(out.explanation).toContain('node-role.kubernetes.io/control-plane');
  });
});
