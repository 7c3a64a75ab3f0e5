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
      // A patch of a Deployment, as the assistant records it, and the command that sends it.
      expect(redactText(VOLUMES, rules)).toBe(VOLUMES);
      const command = `kubectl patch deployment/billing-api -n shop --type merge -p '${VOLUMES}'`;
      expect(redactText(command, rules)).toBe(command);
      // A Pod's spec, a CronJob's, an Ingress's TLS.
      for (const text of [
        '{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db"}}]}}',
        '{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"billing-db","items":[{"key":"password","path":"pw"}]}}]}}}}}}',
        '{"spec":{"tls":[{"hosts":["shop.example.com"],"secretName":"shop-tls"}]}}',
      ])
        expect(redactText(text, rules)).toBe(text);
    },
  );

  it.each(every)(
    'still hides a value where Kubernetes reads no reference, or what is not a name: %j',
    rules => {
      const placeholder = rules.placeholder ?? REDACTED;
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
      ]) {
        const out = redactText(text, rules);
        expect([text, out.includes(secret)]).toEqual([text, false]);
        expect(out).toContain(placeholder);
      }
    },
  );
});
