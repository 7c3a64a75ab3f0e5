import { ConfigReader } from '@backstage/config';
import { PolicyEngine } from './PolicyEngine';
import { KubeObject, PolicyScope } from './types';

/*
 * ingress-nginx reads an Ingress's `nginx.ingress.kubernetes.io/*` annotations (and, on older
 * controllers, `ingress.kubernetes.io/*`) into the configuration of the controller every tenant
 * shares: `auth-url` makes the controller, which every tenant's network policy admits, call any URL
 * (another tenant's Service included), `proxy-ssl-secret` and `auth-tls-secret` name a Secret of any
 * namespace, the snippets write nginx configuration (CVE-2021-25742). The `ingress-annotations`
 * rule allows only the annotations of an allow-list (extended by
 * `kubechart.policy.allowedIngressAnnotations`) and refuses every other one under those prefixes.
 */

const RULE = 'ingress-annotations';
const scope: PolicyScope = {
  namespaces: ['tenant-acme'],
  defaultNamespace: 'tenant-acme',
};
const ingress = (annotations: unknown): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web', annotations: annotations as any },
  spec: {
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'web', port: { number: 80 } } },
            },
          ],
        },
      },
    ],
  },
});
const engineFrom = (policy: Record<string, any>) =>
  PolicyEngine.fromConfig(new ConfigReader({ kubechart: { policy } }));
const plain = new PolicyEngine();

/** The messages of the rule's failures (empty: judged and passed). */
const refusals = (objects: KubeObject[], engine = plain) => {
  const judged = engine
    .check(objects, { scope, ingressHostsInUse: { hosts: [] } })
    .results.filter(r => r.ruleId === RULE);
  expect(judged.length).toBeGreaterThan(0);
  return judged.filter(r => !r.passed).map(r => r.message);
};

describe('ingress-annotations', () => {
  it('refuses the annotations of the attack, naming each and what it does, without their values', () => {
    const report = plain.check(
      [
        ingress({
          'nginx.ingress.kubernetes.io/auth-url':
            'http://web.tenant-rival.svc.cluster.local/admin',
          'nginx.ingress.kubernetes.io/proxy-ssl-secret':
            'tenant-rival/rival-tls',
        }),
      ],
      { scope, ingressHostsInUse: { hosts: [] } },
    );
    expect(report.blocking).toBe(true);
    const failed = report.results.filter(r => r.ruleId === RULE && !r.passed);
    expect(failed).toHaveLength(1);
    expect(failed[0].severity).toBe('error');
    expect(failed[0].message.split('; ')).toEqual([
      "annotation nginx.ingress.kubernetes.io/auth-url names a URL the shared ingress controller calls or sends clients to, another tenant's Service included",
      'annotation nginx.ingress.kubernetes.io/proxy-ssl-secret names a Secret the shared ingress controller reads, of any namespace',
    ]);
    expect(failed[0].message).not.toContain('tenant-rival');
    expect(failed[0].fix).toMatch(/allowedIngressAnnotations/);
  });

  it('refuses the snippets and every annotation that names a URL, Secret, Service or ConfigMap, under both prefixes', () => {
    for (const prefix of [
      'nginx.ingress.kubernetes.io/',
      'ingress.kubernetes.io/',
    ]) {
      for (const [name, what] of [
        ['configuration-snippet', /writes nginx configuration/],
        ['server-snippet', /writes nginx configuration/],
        ['auth-snippet', /writes nginx configuration/],
        ['modsecurity-snippet', /writes nginx configuration/],
        ['stream-snippet', /writes nginx configuration/],
        ['auth-signin', /names a URL/],
        ['mirror-target', /names a URL/],
        ['auth-tls-secret', /names a Secret/],
        ['auth-secret', /names a Secret/],
        ['default-backend', /names a Service/],
        ['fastcgi-params-configmap', /names a ConfigMap/],
        ['canary', /is not one of the ingress-nginx annotations/],
        [
          'some-future-annotation',
          /is not one of the ingress-nginx annotations/,
        ],
      ] as const) {
        const key = `${prefix}${name}`;
        const messages = refusals([ingress({ [key]: 'x' })]);
        expect(messages).toHaveLength(1);
        expect(messages[0].startsWith(`annotation ${key} `)).toBe(true);
        expect(messages[0]).toMatch(what);
      }
    }
  });

  it('passes the annotations of its allow-list and leaves other prefixes alone', () => {
    expect(
      refusals([
        ingress({
          'nginx.ingress.kubernetes.io/proxy-body-size': '8m',
          'nginx.ingress.kubernetes.io/ssl-redirect': 'true',
          'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
          'nginx.ingress.kubernetes.io/server-alias': 'www.shop.example.com',
          'ingress.kubernetes.io/proxy-read-timeout': '60',
          'cert-manager.io/cluster-issuer': 'letsencrypt',
          'kubernetes.io/ingress.class': 'nginx',
          'example.com/nginx.ingress.kubernetes.io/auth-url': 'x',
        }),
        ingress(undefined),
      ]),
    ).toEqual([]);
  });

  it('compares annotation names exactly: another case or extra characters are refused', () => {
    expect(
      refusals([
        ingress({ 'nginx.ingress.kubernetes.io/Proxy-Body-Size': '8m' }),
      ]),
    ).toEqual([expect.stringMatching(/is not one of the ingress-nginx/)]);
  });

  it('allows what kubechart.policy.allowedIngressAnnotations adds, by name or with a prefix', () => {
    const engine = engineFrom({
      allowedIngressAnnotations: [
        'rewrite-target',
        'nginx.ingress.kubernetes.io/canary',
      ],
    });
    expect(
      refusals(
        [
          ingress({
            'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
            'ingress.kubernetes.io/canary': 'true',
            'nginx.ingress.kubernetes.io/proxy-body-size': '8m',
          }),
        ],
        engine,
      ),
    ).toEqual([]);
    expect(
      refusals(
        [ingress({ 'nginx.ingress.kubernetes.io/auth-url': 'http://x' })],
        engine,
      ),
    ).toEqual([expect.stringMatching(/auth-url names a URL/)]);
  });

  it.each([
    'nginx.ingress.kubernetes.io/*',
    '*',
    'example.com/auth-url',
    'Auth-Url',
    '',
  ])('refuses allowedIngressAnnotations entry %p at start-up', entry => {
    expect(() => engineFrom({ allowedIngressAnnotations: [entry] })).toThrow(
      /kubechart\.policy\.allowedIngressAnnotations/,
    );
  });

  it.each(['warn', 'off'])('blocks in mode %s', mode => {
    const report = engineFrom({ mode }).check(
      [ingress({ 'nginx.ingress.kubernetes.io/server-snippet': 'x' })],
      { scope, ingressHostsInUse: { hosts: [] } },
    );
    expect(report.blocking).toBe(true);
  });
});
