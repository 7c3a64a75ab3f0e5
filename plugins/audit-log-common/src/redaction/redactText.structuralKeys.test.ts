import { REDACTED, redactText, type TextRedactionOptions } from '.';
import { keepStructuralKeys, structuralKeySteps } from './structuralKeys';

/** The audit trail's rules, and those of tool output. */
const every: TextRedactionOptions[] = [
  {},
  { keys: 'any-word', midLineValues: 'line', placeholder: '***' },
];

/** A patch of a Deployment's pod template, as the assistant shows it and the trail records it. */
const PLACEMENT = JSON.stringify({
  spec: {
    template: {
      spec: {
        tolerations: [
          {
            key: 'node-role.kubernetes.io/control-plane',
            operator: 'Exists',
            effect: 'NoSchedule',
          },
          { key: '', operator: 'Exists' },
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
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: { app: 'web' } },
                topologyKey: 'kubernetes.io/hostname',
                matchLabelKeys: ['pod-template-hash'],
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

describe('structural keys in JSON text', () => {
  it.each(every)(
    'keeps the taints, label keys and ConfigMap keys a patch names, and its command: %j',
    rules => {
      expect(redactText(PLACEMENT, rules)).toBe(PLACEMENT);
      const command = `kubectl patch deployment/web -n shop --type merge -p '${PLACEMENT}'`;
      expect(redactText(command, rules)).toBe(command);
      // Written with blanks, and a NetworkPolicy's selector.
      for (const text of [
        ' {"spec": {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]}}',
        '{"spec":{"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"Exists"}]}}]}]}}',
      ])
        expect(redactText(text, rules)).toBe(text);
    },
  );

  it.each(every)(
    'still hides a value under such a key where no such structure holds it: %j',
    rules => {
      const placeholder = rules.placeholder ?? REDACTED;
      const SECRET = 'sk-live-1234567890abcdef';
      const shown: string[] = [];
      for (const text of [
        // A field of no toleration beside `key`, and a `key` alone.
        `{"spec":{"tolerations":[{"key":"${SECRET}","operator":"Exists","token":"x"}]}}`,
        `{"spec":{"tolerations":[{"key":"${SECRET}"}]}}`,
        `{"data":{"key":"${SECRET}"}}`,
        `{"other":{"key":"${SECRET}","operator":"Exists"}}`,
        // Items of no ConfigMap's, a key reference outside an env entry's `valueFrom`.
        `{"items":[{"key":"${SECRET}","path":"p"}]}`,
        `{"spec":{"configMap":{"items":[{"key":"${SECRET}","note":"p"}]}}}`,
        // Below a key that names a secret.
        `{"apiKey":{"matchExpressions":[{"key":"${SECRET}","operator":"Exists"}]}}`,
        `{"spec":{"token":[{"tolerations":[{"key":"${SECRET}","operator":"Exists"}]}]}}`,
        // No label key, an escaped key, YAML flow text, a mapping over lines.
        `{"spec":{"tolerations":[{"key":"a b=${SECRET}","operator":"Exists"}]}}`,
        `{"spec":{"tolerations":[{"k\\u0065y":"${SECRET}","operator":"Exists"}]}}`,
        `{spec: {tolerations: [{key: ${SECRET}, operator: Exists}]}}`,
        `{"spec":{"tolerations":[{"key":"${SECRET}",\n"operator":"Exists"}]}}`,
        `{"spec":{"topologySpreadConstraints":[{"topologyKey":"${SECRET}","extra":1}]}}`,
        // JSON that only looks like an object's: in a quoted YAML value.
        `config: '{"tolerations":[{"key":"${SECRET}","operator":"Exists"}]}'`,
      ]) {
        const out = redactText(text, rules);
        if (out.includes(SECRET) || !out.includes(placeholder)) shown.push(out);
      }
      expect(shown).toEqual([]);
    },
  );

  it('reads each mapping once, however many keys it holds (linear)', () => {
    const size = 50_000;
    const fill = (unit: string) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const hostile = [
      `{"tolerations":[${fill('{"key":"a","operator":"Exists"},')}`,
      `{"tolerations":[{"operator":"Exists",${fill('"key":"a",')}`,
      `{"tolerations":[{"operator":"Exists","value":"${fill('a')}","key":"a"`,
      `{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"a",${fill(
        '"labelSelector":{"matchExpressions":[{"operator":"In","key":"a"}]},',
      )}`,
      `{"podAffinityTerm":{"topologyKey":"a","namespaces":[${fill('"a",')}`,
      fill('{"matchExpressions":[{"key":"a","operator":"In",'),
    ];
    const costs: string[] = [];
    for (const text of hostile) {
      for (const rules of every) {
        const before = structuralKeySteps();
        redactText(text, rules);
        const read = structuralKeySteps() - before;
        // A mapping read again for each key it holds would be read thousands of times here.
        if (read > 20 * text.length)
          costs.push(`${text.slice(0, 30)}…: ${read} for ${text.length}`);
      }
    }
    expect(costs).toEqual([]);
  });
});

describe('keepStructuralKeys', () => {
  it('puts back the structural keys a redaction by key hid, not the rest', () => {
    const body = JSON.parse(PLACEMENT);
    const hidden = JSON.parse(PLACEMENT.replace(/"key":"[^"]*"/g, '"key":"x"'));
    expect(keepStructuralKeys(body, hidden)).toEqual(body);
    // What the caller's text rules would hide is not put back.
    const tolerations = [{ key: 'dedicated', operator: 'Exists' }];
    expect(
      keepStructuralKeys(
        { tolerations },
        { tolerations: [{ key: '***' }] },
        {
          shows: text => text !== 'dedicated',
        },
      ),
    ).toEqual({ tolerations: [{ key: '***' }] });
  });
});
