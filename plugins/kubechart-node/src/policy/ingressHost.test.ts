import { ConfigReader } from '@backstage/config';
import { PolicyEngine, formatPolicyFailures } from './PolicyEngine';
import { KubeObject, PolicyScope } from './types';
import { countingReads } from '@internal/kube-sim/testUtils';

/*
 * The shared ingress controller publishes every tenant's Ingress and Gateway API route: a host of
 * another tenant, a wildcard or a catch-all there captures that tenant's traffic. Written from the
 * rule's definition (README: `ingress-host`).
 */

const RULE = 'ingress-host';
const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
};
const backend = { service: { name: 'web', port: { number: 80 } } };
const paths = { paths: [{ path: '/', pathType: 'Prefix', backend }] };

const ingress = (spec: any, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web' },
  spec,
  ...extra,
});
const ingressFor = (...hosts: string[]) =>
  ingress({ rules: hosts.map(host => ({ host, http: paths })) });
const route = (spec: any, kind = 'HTTPRoute'): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind,
  metadata: { name: 'web' },
  spec: {
    parentRefs: [{ name: 'shared-gateway', namespace: 'gateway' }],
    rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
    ...spec,
  },
});

const plain = new PolicyEngine();
/** A cluster where no other namespace holds a host (see ingressHostsInUse.test.ts for those that do). */
const noHostsInUse = { hosts: [] };
const withDomain = new PolicyEngine({ ingressHostDomain: 'apps.example.com' });

/** The messages of the rule's failures on the objects (empty: judged and passed). */
const refusals = (engine: PolicyEngine, objects: KubeObject[], s = scope) => {
  const judged = engine
    .check(objects, { scope: s, ingressHostsInUse: noHostsInUse })
    .results.filter(r => r.ruleId === RULE);
  expect(judged.length).toBeGreaterThan(0);
  return judged.filter(r => !r.passed).map(r => r.message);
};

describe('ingress-host: catch-alls and wildcards, with or without a domain', () => {
  it.each([plain, withDomain])(
    'refuses an Ingress rule without a host and spec.defaultBackend, blocking the run with a reason and a fix',
    engine => {
      const report = engine.check(
        [
          ingress({
            defaultBackend: backend,
            rules: [{ http: paths }],
          }),
        ],
        { scope },
      );
      expect(report.blocking).toBe(true);
      const failed = report.results.filter(r => r.ruleId === RULE && !r.passed);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        severity: 'error',
        object: { kind: 'Ingress', name: 'web' },
      });
      expect(failed[0].message).toMatch(
        /spec\.defaultBackend catches every request/,
      );
      expect(failed[0].message).toMatch(
        /spec\.rules\[0\] has no host: it matches requests for every host/,
      );
      expect(failed[0].fix).toMatch(/allowCatchAllIngress/);
      expect(formatPolicyFailures(report)).toContain(
        '[ingress-host] Ingress/web',
      );
    },
  );

  it('takes an empty or null host, and a null defaultBackend, as what the API server stores', () => {
    expect(
      refusals(plain, [ingress({ rules: [{ host: '', http: paths }] })]),
    ).toEqual([expect.stringMatching(/spec\.rules\[0\] has no host/)]);
    expect(
      refusals(plain, [ingress({ rules: [{ host: null, http: paths }] })]),
    ).toEqual([expect.stringMatching(/spec\.rules\[0\] has no host/)]);
    expect(
      refusals(plain, [
        ingress({
          defaultBackend: null,
          rules: [{ host: 'a.b', http: paths }],
        }),
      ]),
    ).toEqual([]);
  });

  it('refuses the spec.backend of an older Ingress version, and a TLS entry without hosts', () => {
    expect(
      refusals(plain, [
        {
          apiVersion: 'extensions/v1beta1',
          kind: 'Ingress',
          metadata: { name: 'old' },
          spec: { backend: { serviceName: 'web', servicePort: 80 } },
        },
      ]),
    ).toEqual([expect.stringMatching(/spec\.backend catches every request/)]);
    expect(
      refusals(plain, [
        ingress({
          rules: [{ host: 'shop.example.com', http: paths }],
          tls: [{ secretName: 'cert' }],
        }),
      ]),
    ).toEqual([
      expect.stringMatching(
        /spec\.tls\[0\] lists no hosts: it applies to the ingress controller's default \(wildcard\) host/,
      ),
    ]);
  });

  it.each([plain, withDomain])(
    'refuses a Gateway API route without hostnames (HTTPRoute, GRPCRoute, TLSRoute)',
    engine => {
      for (const kind of ['HTTPRoute', 'GRPCRoute', 'TLSRoute']) {
        expect(refusals(engine, [route({}, kind)])).toEqual([
          expect.stringMatching(
            /it has no hostnames: it matches every host of the Gateway listeners it attaches to/,
          ),
        ]);
        expect(refusals(engine, [route({ hostnames: [] }, kind)])).toEqual([
          expect.stringMatching(/it has no hostnames/),
        ]);
      }
    },
  );

  it('without a domain, refuses every wildcard host and lets precise hosts pass', () => {
    expect(refusals(plain, [ingressFor('*.example.com')])).toEqual([
      expect.stringMatching(
        /host "\*\.example\.com" \(spec\.rules\[0\]\.host\) is a wildcard: it matches hosts of other tenants/,
      ),
    ]);
    expect(refusals(plain, [ingressFor('*')])).toEqual([
      expect.stringMatching(
        /host "\*" \(spec\.rules\[0\]\.host\) is a wildcard/,
      ),
    ]);
    expect(
      refusals(plain, [
        ingress({
          rules: [{ host: 'shop.example.com', http: paths }],
          tls: [{ hosts: ['*.example.com'], secretName: 'cert' }],
        }),
      ]),
    ).toEqual([
      expect.stringMatching(
        /host "\*\.example\.com" \(spec\.tls\[0\]\.hosts\[0\]\) is a wildcard/,
      ),
    ]);
    expect(refusals(plain, [route({ hostnames: ['*.Example.com'] })])).toEqual([
      expect.stringMatching(
        /host "\*\.Example\.com" \(spec\.hostnames\[0\]\) is a wildcard/,
      ),
    ]);
    expect(
      refusals(plain, [
        ingress({
          rules: [{ host: 'shop.example.com', http: paths }],
          tls: [{ hosts: ['shop.example.com'], secretName: 'cert' }],
        }),
        route({ hostnames: ['shop.example.com'] }),
      ]),
    ).toEqual([]);
  });

  it('refuses hosts it cannot classify exactly: trailing dots, IP literals, bad labels, non-ASCII look-alikes', () => {
    for (const host of [
      'shop.example.com.',
      '10.0.0.1',
      '127.1',
      '2130706433',
      '0x7f000001',
      'shop.0x7f',
      '[::1]',
      '::1',
      'shop.example.com:443',
      'shop..example.com',
      '.example.com',
      '-shop.example.com',
      'shop-.example.com',
      'shop_x.example.com',
      'shop example.com',
      ' shop.example.com',
      'shop.*.example.com',
      '*shop.example.com',
      '**.example.com',
      // Cyrillic "е", and the Kelvin sign that lower-cases to an ASCII "k"
      'shоp.example.com',
      'team-\u212a.example.com',
      `${'a'.repeat(64)}.example.com`,
      `${'a.'.repeat(127)}com`,
    ]) {
      expect({ host, refused: refusals(plain, [ingressFor(host)]) }).toEqual({
        host,
        refused: [
          expect.stringMatching(/is not a DNS name the rule can check/),
        ],
      });
    }
    expect(refusals(plain, [ingressFor('xn--shp-ork.example.com')])).toEqual(
      [],
    );
  });

  it('refuses what is not shaped as the API reads it, naming the field', () => {
    expect(refusals(plain, [ingress({ rules: 'all' })])).toEqual([
      'spec.rules is not a list',
    ]);
    expect(refusals(plain, [ingress({ rules: ['x'] })])).toEqual([
      'spec.rules[0] is not a mapping',
    ]);
    expect(
      refusals(plain, [ingress({ rules: [{ host: 42, http: paths }] })]),
    ).toEqual([
      expect.stringMatching(/spec\.rules\[0\]\.host is not a string/),
    ]);
    expect(
      refusals(plain, [
        ingress({
          rules: [{ host: 'a.example.com', http: paths }],
          tls: [{ hosts: 'a.example.com' }],
        }),
      ]),
    ).toEqual(['spec.tls[0].hosts is not a list']);
    expect(refusals(plain, [route({ hostnames: 'a.example.com' })])).toEqual([
      'spec.hostnames is not a list',
    ]);
    expect(refusals(plain, [ingress('x')])).toEqual(['spec is not a mapping']);
  });

  it('leaves kinds of the same name in other API groups alone', () => {
    const other = (kind: string): KubeObject => ({
      apiVersion: 'example.com/v1',
      kind,
      metadata: { name: 'x' },
      spec: {},
    });
    const results = plain
      .check([other('Ingress'), other('HTTPRoute')], { scope })
      .results.filter(r => r.ruleId === RULE);
    expect(results).toEqual([]);
  });

  it('judges the hosts of an ingress-nginx server-alias annotation as hosts the Ingress claims', () => {
    const aliased = (alias: unknown) =>
      ingress(
        { rules: [{ host: 'web.team-a.apps.example.com', http: paths }] },
        {
          metadata: {
            name: 'web',
            annotations: { 'nginx.ingress.kubernetes.io/server-alias': alias },
          },
        } as any,
      );
    expect(
      refusals(withDomain, [aliased('shop.team-b.apps.example.com')]),
    ).toEqual([
      expect.stringMatching(
        /host "shop\.team-b\.apps\.example\.com" \(annotation nginx\.ingress\.kubernetes\.io\/server-alias\) is not under this tenant's subdomain team-a\.apps\.example\.com/,
      ),
    ]);
    expect(refusals(plain, [aliased('a.example.com, *.example.com')])).toEqual([
      expect.stringMatching(/host "\*\.example\.com" .*is a wildcard/),
    ]);
    expect(refusals(plain, [aliased('~^.*$')])).toEqual([
      expect.stringMatching(/is not a DNS name the rule can check/),
    ]);
    expect(
      refusals(withDomain, [
        aliased('www.team-a.apps.example.com,team-a.apps.example.com'),
      ]),
    ).toEqual([]);
  });

  it('says how many more it found instead of listing thousands of refusals, in linear time', () => {
    const many = (n: number) =>
      countingReads(
        ingress({ rules: Array.from({ length: n }, () => ({ http: paths })) }),
      );
    const large = many(50_000);
    const messages = refusals(plain, [large.value]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/and 49990 more$/);
    expect(messages[0].length).toBeLessThan(2_000);
    // Ten times the rules: about ten times the reads of the object (each rule against each, a hundred).
    const small = many(5_000);
    refusals(plain, [small.value]);
    expect(large.reads() / small.reads()).toBeLessThan(15);
  });
});

describe('ingress-host with kubechart.policy.ingressHostDomain', () => {
  it("passes hosts at and under the tenant's own subdomain, in any case", () => {
    expect(
      refusals(withDomain, [
        ingress({
          rules: [
            { host: 'team-a.apps.example.com', http: paths },
            { host: 'web.team-a.apps.example.com', http: paths },
            { host: '*.team-a.apps.example.com', http: paths },
            { host: 'API.Team-A.Apps.Example.COM', http: paths },
          ],
          tls: [{ hosts: ['*.team-a.apps.example.com'], secretName: 'c' }],
        }),
        route({ hostnames: ['a.b.team-a.apps.example.com'] }),
      ]),
    ).toEqual([]);
  });

  it("refuses another tenant's host, the domain itself, look-alike suffixes and wildcards above the tenant", () => {
    for (const host of [
      'team-b.apps.example.com',
      'web.team-b.apps.example.com',
      'apps.example.com',
      'x-team-a.apps.example.com',
      'team-a.apps.example.com.evil.io',
      'team-a.apps.example.community',
      '*.apps.example.com',
      'shop.example.com',
    ]) {
      expect({
        host,
        refused: refusals(withDomain, [ingressFor(host)]),
      }).toEqual({
        host,
        refused: [
          expect.stringMatching(
            /is not under this tenant's subdomain team-a\.apps\.example\.com/,
          ),
        ],
      });
    }
    expect(refusals(withDomain, [ingressFor('*')])).toEqual([
      expect.stringMatching(
        /host "\*" \(spec\.rules\[0\]\.host\) is not under this tenant's subdomain/,
      ),
    ]);
    expect(
      refusals(withDomain, [ingressFor('team-a.apps.example.com.')]),
    ).toEqual([expect.stringMatching(/is not a DNS name the rule can check/)]);
  });

  it('checks TLS hosts and route hostnames against the namespace the object lands in', () => {
    expect(
      refusals(withDomain, [
        ingress({
          rules: [{ host: 'web.team-a.apps.example.com', http: paths }],
          tls: [{ hosts: ['web.team-b.apps.example.com'], secretName: 'c' }],
        }),
      ]),
    ).toEqual([
      expect.stringMatching(
        /host "web\.team-b\.apps\.example\.com" \(spec\.tls\[0\]\.hosts\[0\]\) is not under/,
      ),
    ]);
    expect(
      refusals(withDomain, [route({ hostnames: ['team-b.apps.example.com'] })]),
    ).toEqual([expect.stringMatching(/spec\.hostnames\[0\]/)]);
    // Its own namespace, not the run's default one, decides (the run-scope rule decides where it may land).
    const inB = ingressFor('web.team-b.apps.example.com');
    inB.metadata!.namespace = 'team-b';
    expect(
      refusals(withDomain, [inB], {
        namespaces: ['team-a', 'team-b'],
        defaultNamespace: 'team-a',
      }),
    ).toEqual([]);
  });

  it('refuses hosts when it cannot tell the namespace the object lands in', () => {
    const report = withDomain.check([
      ingressFor('web.team-a.apps.example.com'),
    ]);
    expect(
      report.results.find(r => r.ruleId === RULE && !r.passed)?.message,
    ).toMatch(/the namespace it lands in is not known/);
  });
});

describe('ingress-host configuration', () => {
  const engineFrom = (policy: Record<string, string | boolean>) =>
    PolicyEngine.fromConfig(new ConfigReader({ kubechart: { policy } }));

  it('reads ingressHostDomain (any case) and allowCatchAllIngress from kubechart.policy', () => {
    const engine = engineFrom({ ingressHostDomain: 'Apps.Example.com' });
    expect(
      refusals(engine, [ingressFor('web.team-a.apps.example.com')]),
    ).toEqual([]);
    expect(
      refusals(engine, [ingressFor('web.team-b.apps.example.com')]),
    ).toEqual([expect.stringMatching(/not under this tenant's subdomain/)]);

    const open = engineFrom({ allowCatchAllIngress: true });
    expect(
      refusals(open, [
        ingress({
          defaultBackend: backend,
          rules: [{ http: paths }, { host: '*.example.com', http: paths }],
          tls: [{ secretName: 'c' }],
        }),
        route({}),
      ]),
    ).toEqual([]);
    // With a domain, every host written must still be the tenant's own: wildcards above it too.
    const openWithDomain = engineFrom({
      allowCatchAllIngress: true,
      ingressHostDomain: 'apps.example.com',
    });
    expect(
      refusals(openWithDomain, [
        ingress({ defaultBackend: backend, rules: [{ http: paths }] }),
      ]),
    ).toEqual([]);
    expect(
      refusals(openWithDomain, [ingressFor('*.apps.example.com')]),
    ).toEqual([expect.stringMatching(/not under this tenant's subdomain/)]);
  });

  it.each([
    '*.apps.example.com',
    'apps.example.com.',
    '.apps.example.com',
    '10.0.0.1',
    'apps example.com',
    'https://apps.example.com',
    '',
  ])('refuses ingressHostDomain %p at start-up', domain => {
    expect(() => engineFrom({ ingressHostDomain: domain })).toThrow(
      /kubechart\.policy\.ingressHostDomain/,
    );
  });

  it('can be exempted for one namespace, the result kept in the report with its reason', () => {
    const engine = new PolicyEngine({
      ingressHostDomain: 'apps.example.com',
      exceptions: [
        {
          rule: RULE,
          namespace: 'edge',
          reason: 'the platform edge routes every host (PLAT-7)',
        },
      ],
    });
    const edge: PolicyScope = {
      namespaces: ['edge'],
      defaultNamespace: 'edge',
    };
    const report = engine.check([ingress({ defaultBackend: backend })], {
      scope: edge,
    });
    expect(report.blocking).toBe(false);
    expect(
      report.results.find(r => r.ruleId === RULE)?.exempt?.reason,
    ).toContain('PLAT-7');
  });
});

describe('ingress-host: Gateway API TCPRoute, UDPRoute and ListenerSets', () => {
  const gatewayObject = (
    apiVersion: string,
    kind: string,
    spec: any,
  ): KubeObject => ({ apiVersion, kind, metadata: { name: 'edge' }, spec });
  const l4Route = (kind: string, spec: any = {}) =>
    gatewayObject('gateway.networking.k8s.io/v1alpha2', kind, {
      parentRefs: [{ name: 'shared-gateway', namespace: 'gateway' }],
      rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }],
      ...spec,
    });
  const listenerSets = [
    ['gateway.networking.x-k8s.io/v1alpha1', 'XListenerSet'],
    ['gateway.networking.x-k8s.io/v1alpha1', 'ListenerSet'],
  ];
  const listenerSet = (
    [apiVersion, kind]: string[],
    ...listeners: unknown[]
  ): KubeObject =>
    gatewayObject(apiVersion, kind, {
      parentRef: { name: 'shared-gateway', namespace: 'gateway' },
      listeners,
    });
  const https = (hostname?: unknown) => ({
    name: 'https',
    port: 443,
    protocol: 'HTTPS',
    ...(hostname === undefined ? {} : { hostname }),
  });

  it.each([plain, withDomain])(
    'refuses a TCPRoute or UDPRoute: without hostnames it takes every connection on its listener, blocking the run',
    engine => {
      for (const kind of ['TCPRoute', 'UDPRoute']) {
        const report = engine.check([l4Route(kind)], { scope });
        expect(report.blocking).toBe(true);
        expect(refusals(engine, [l4Route(kind)])).toEqual([
          `a ${kind} has no hostnames: it takes every connection on the port of the Gateway listener it attaches to, other tenants' included`,
        ]);
      }
    },
  );

  it('allows a TCPRoute or UDPRoute with allowCatchAllIngress, and leaves kinds of that name in other groups alone', () => {
    const open = new PolicyEngine({ allowCatchAllIngress: true });
    expect(refusals(open, [l4Route('TCPRoute'), l4Route('UDPRoute')])).toEqual(
      [],
    );
    const results = plain
      .check([gatewayObject('example.com/v1', 'TCPRoute', {})], { scope })
      .results.filter(r => r.ruleId === RULE);
    expect(results).toEqual([]);
  });

  it.each(listenerSets)(
    'judges the hostnames of a %s %s listener as a route’s hostnames',
    (apiVersion, kind) => {
      const of = (...listeners: unknown[]) =>
        listenerSet([apiVersion, kind], ...listeners);
      expect(refusals(plain, [of(https('shop.example.com'))])).toEqual([]);
      expect(refusals(plain, [of(https('*.example.com'))])).toEqual([
        expect.stringMatching(
          /host "\*\.example\.com" \(spec\.listeners\[0\]\.hostname\) is a wildcard/,
        ),
      ]);
      expect(
        refusals(withDomain, [
          of(
            https('web.team-a.apps.example.com'),
            https('team-a.apps.example.com'),
          ),
        ]),
      ).toEqual([]);
      expect(
        refusals(withDomain, [of(https('shop.team-b.apps.example.com'))]),
      ).toEqual([
        expect.stringMatching(
          /host "shop\.team-b\.apps\.example\.com" \(spec\.listeners\[0\]\.hostname\) is not under this tenant's subdomain team-a\.apps\.example\.com/,
        ),
      ]);
      expect(refusals(plain, [of(https('shop.example.com.'))])).toEqual([
        expect.stringMatching(/is not a DNS name the rule can check/),
      ]);
    },
  );

  it.each(listenerSets)(
    'refuses a %s %s listener without a hostname, or one whose protocol takes no hostname, as a catch-all',
    (apiVersion, kind) => {
      const of = (...listeners: unknown[]) =>
        listenerSet([apiVersion, kind], ...listeners);
      for (const engine of [plain, withDomain]) {
        expect(refusals(engine, [of(https()), of(https(''))])).toEqual([
          "spec.listeners[0] has no hostname: it takes every host on port 443 of the Gateway, other tenants' included",
          "spec.listeners[0] has no hostname: it takes every host on port 443 of the Gateway, other tenants' included",
        ]);
        // Gateway API ignores the hostname of a TCP or UDP listener.
        expect(
          refusals(engine, [
            of({
              name: 'db',
              port: 5432,
              protocol: 'TCP',
              hostname: 'db.team-a.apps.example.com',
            }),
          ]),
        ).toEqual([
          "spec.listeners[0] has protocol TCP, which takes no hostname: it takes every connection on port 5432 of the Gateway, other tenants' included",
        ]);
      }
      const open = new PolicyEngine({ allowCatchAllIngress: true });
      expect(
        refusals(open, [
          of(https(), { name: 'dns', port: 53, protocol: 'UDP' }),
        ]),
      ).toEqual([]);
    },
  );

  it('refuses a ListenerSet not shaped as the API reads it, naming the field', () => {
    const [xls] = listenerSets;
    expect(
      refusals(plain, [gatewayObject(xls[0], xls[1], { listeners: 'all' })]),
    ).toEqual(['spec.listeners is not a list']);
    expect(refusals(plain, [listenerSet(xls, 'x')])).toEqual([
      'spec.listeners[0] is not a mapping',
    ]);
    expect(refusals(plain, [listenerSet(xls, https(42))])).toEqual([
      'spec.listeners[0].hostname is not a string',
    ]);
    expect(
      refusals(plain, [
        listenerSet(xls, { name: 'x', port: 80, hostname: 'a.example.com' }),
      ]),
    ).toEqual(['spec.listeners[0].protocol is not a string']);
  });
});
