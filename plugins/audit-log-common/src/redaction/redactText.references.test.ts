import { REDACTED, redactText, type TextRedactionOptions } from '.';

/** The audit trail's rules (whole and cut), and those of tool output. */
const every: TextRedactionOptions[] = [
  {},
  { keys: 'any-word', midLineValues: 'line', placeholder: '***' },
];

const VOLUMES =
  '{"spec":{"template":{"spec":{"volumes":[{"name":"creds","secret":{"secretName":"billing-db","optional":false,"defaultMode":420,"items":[{"key":"password","path":"db/pw","mode":256}]}},{"name":"all","projected":{"sources":[{"secret":{"name":"billing-tls","items":[{"key":"tls.key","path":"tls.key"}]}}]}}],"imagePullSecrets":[{"name":"regcred"}],"containers":[{"name":"api","envFrom":[{"secretRef":{"name":"api-env"}}]}]}}}}';

describe('the names a Kubernetes reference holds, in JSON text', () => {
  it.each(every)(
    'keeps the Secret a volume, a projection and a pull secret refer to, at the paths Kubernetes reads them: %j',
    rules => {
      const placeholder = rules.placeholder ?? REDACTED;
      // The keys of the items a Secret projects stay hidden: text cannot tell them from secrets.
      const recorded = VOLUMES.replace(
        /"key":"[^"]*"/g,
        `"key":"${placeholder}"`,
      );
      // A patch of a Deployment, as the assistant records it, and the command that sends it.
      expect(redactText(VOLUMES, rules)).toBe(recorded);
      const command = `kubectl patch deployment/billing-api -n shop --type merge -p '${VOLUMES}'`;
      expect(redactText(command, rules)).toBe(
        `kubectl patch deployment/billing-api -n shop --type merge -p '${recorded}'`,
      );
      // A Pod's spec, a CronJob's, an Ingress's TLS.
      for (const text of [
        '{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db"}}]}}',
        '{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db","optional":true}}]}}}}}}',
        '{"spec":{"tls":[{"hosts":["shop.example.com"],"secretName":"shop-tls"}]}}',
        ' {"spec": {"volumes": [{"secret": {"secretName": "billing-db", "defaultMode": 256}}]}}',
      ])
        expect(redactText(text, rules)).toBe(text);
    },
  );

  it.each(every)(
    'still hides a value where Kubernetes reads no reference, or what is not a name: %j',
    rules => {
      const placeholder = rules.placeholder ?? REDACTED;
      const shown: string[] = [];
      for (const [text, secret] of [
        // Not under a volume: a ConfigMap's data, an annotation, a Secret's data.
        ['{"data":{"secret":{"key":"hunter2"}}}', 'hunter2'],
        [
          '{"metadata":{"annotations":{"secret":"{\\"secretName\\":\\"hunter2\\"}"}}}',
          'hunter2',
        ],
        ['{"volumes":[{"secret":{"items":[{"key":"hunter2"}]}}]}', 'hunter2'],
        // A volume's secret that is not a mapping, and a key that is not a name.
        [
          '{"spec":{"template":{"spec":{"volumes":[{"secret":"hunter2"}]}}}}',
          'hunter2',
        ],
        [
          '{"spec":{"volumes":[{"secret":{"secretName":"db","items":[{"key":"correct horse","path":"pw"}]}}]}}',
          'correct horse',
        ],
        // Anything else a volume's secret holds.
        [
          '{"spec":{"volumes":[{"secret":{"secretName":"db","password":"hunter2"}}]}}',
          'hunter2',
        ],
        // Whatever the key of a volume's secret's first member: only a reference's fields are.
        [
          '{"spec":{"volumes":[{"secret":{"secretName":"db","note":"a","other":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        [
          '{"spec":{"volumes":[{"secret":{"content":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        [
          '{"spec":{"volumes":[{"secret":{"secretName":"db"},"secret":{"content":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        [
          '{"spec":{"volumes":[{"secret":{"items":[{"blob":"hunter2xyz","key":"pw"}]}}]}}',
          'hunter2xyz',
        ],
        // A key written with escapes is not a reference's field.
        [
          '{"spec":{"volumes":[{"secret":{"secret\\u004eame":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        [
          '{"spec":{"volumes":[{"s\\u0065cret":{"secretName":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        // YAML flow text: its values are not JSON names.
        [
          '{spec: {volumes: [{secret: {secretName: hunter2xyz}}]}}',
          'hunter2xyz',
        ],
        // The key of an item a Secret projects: text cannot tell it from a secret (a custom
        // resource's `spec.volumes[].secret.items[].key` looks the same).
        [
          '{"apiVersion":"example.com/v1","kind":"PaymentGateway","spec":{"volumes":[{"secret":{"secretName":"gw","items":[{"key":"sk_live_51Habc123","path":"k"}]}}]}}',
          'sk_live_51Habc123',
        ],
        // JSON that only looks like an object's: on a line of a list, in a YAML block scalar or
        // a quoted YAML value, past a `}` in a YAML single-quoted string.
        [
          '{"data":{"list":[\n{"spec":{"volumes":[{"secret":{"secretName":"hunter2xyz"}}]}}]}}',
          'hunter2xyz',
        ],
        [
          'data:\n  config.json: |\n    {"spec":{"volumes":[{"secret":{"secretName":"hunter2xyz"}}]}}',
          'hunter2xyz',
        ],
        [
          'config: \'{"spec":{"volumes":[{"secret":{"secretName":"hunter2xyz"}}]}}\'',
          'hunter2xyz',
        ],
        [
          '{"spec":{"x":{"note":\'}\',"volumes":[{"secret":{"secretName":"hunter2xyz"}}]}}}',
          'hunter2xyz',
        ],
      ]) {
        const out = redactText(text, rules);
        if (out.includes(secret) || !out.includes(placeholder)) shown.push(out);
      }
      expect(shown).toEqual([]);
      // Hidden whole, its brackets kept.
      expect(
        redactText(
          '{"spec":{"volumes":[{"name":"t","secret":{"secretName":"db","content":"hunter2xyz"}}]}}',
          rules,
        ),
      ).toBe(`{"spec":{"volumes":[{"name":"t","secret":${placeholder}}]}}`);
    },
  );
});
