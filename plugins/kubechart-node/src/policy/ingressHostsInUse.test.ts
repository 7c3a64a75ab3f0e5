import { ConfigReader } from '@backstage/config';
import { PolicyEngine, formatPolicyFailures } from './PolicyEngine';
import { IngressHostsInUse, KubeObject, PolicyScope } from './types';

/*
 * Without kubechart.policy.ingressHostDomain, hosts are not tied to namespaces: what keeps one tenant
 * off another's host is the cluster itself. ingress-nginx merges the Ingresses of one host across
 * namespaces (and Gateway API the routes of one hostname), so an Ingress of tenant acme for
 * `pay.example.com/login` takes that path of tenant rival's `pay.example.com`. The `ingress-host` rule
 * refuses a host that an object of another namespace already holds, from the hosts the engine read
 * from the cluster when it checked the run (`ingressHostsInUse`), and refuses every host when they
 * could not be read.
 */

const RULE = 'ingress-host';
const acme: PolicyScope = {
  namespaces: ['tenant-acme'],
  defaultNamespace: 'tenant-acme',
};
const backend = { service: { name: 'web', port: { number: 80 } } };
const login = {
  paths: [{ path: '/login', pathType: 'Prefix', backend }],
};
const ingress = (spec: any, metadata: any = {}): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'steal', ...metadata },
  spec,
});
const ingressFor = (...hosts: string[]) =>
  ingress({ rules: hosts.map(host => ({ host, http: login })) });
const route = (hostnames: string[], kind = 'HTTPRoute'): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind,
  metadata: { name: 'steal' },
  spec: {
    parentRefs: [{ name: 'shared-gateway', namespace: 'gateway' }],
    hostnames,
    rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
  },
});
const held = (...entries: Array<[string, string]>): IngressHostsInUse => ({
  hosts: entries.map(([host, namespace]) => ({ host, namespace })),
});
const rivalPay = held(['pay.example.com', 'tenant-rival']);

const plain = new PolicyEngine();

/** The messages of the rule's failures (empty: judged and passed). */
const refusals = (
  objects: KubeObject[],
  ingressHostsInUse: IngressHostsInUse | undefined,
  engine = plain,
  scope = acme,
) => {
  const judged = engine
    .check(objects, { scope, ingressHostsInUse })
    .results.filter(r => r.ruleId === RULE);
  expect(judged.length).toBeGreaterThan(0);
  return judged.filter(r => !r.passed).map(r => r.message);
};

describe('ingress-host without a domain: hosts other namespaces hold', () => {
  it("refuses an Ingress for a path of another namespace's host, blocking the run, without naming that namespace", () => {
    const report = plain.check([ingressFor('pay.example.com')], {
      scope: acme,
      ingressHostsInUse: rivalPay,
    });
    expect(report.blocking).toBe(true);
    const failed = report.results.filter(r => r.ruleId === RULE && !r.passed);
    expect(failed).toEqual([
      expect.objectContaining({
        severity: 'error',
        object: expect.objectContaining({ kind: 'Ingress', name: 'steal' }),
        message:
          'host "pay.example.com" (spec.rules[0].host) is already claimed by an Ingress, route or ListenerSet of another namespace: the shared ingress controller would send part of its traffic here',
      }),
    ]);
    expect(failed[0].fix).toMatch(/a host of your own/);
    expect(formatPolicyFailures(report)).not.toContain('tenant-rival');
  });

  it('compares hosts case-insensitively, in every place an object claims one', () => {
    const inUse = held(['PAY.example.com', 'tenant-rival']);
    expect(refusals([ingressFor('pay.EXAMPLE.com')], inUse)).toEqual([
      expect.stringMatching(
        /^host "pay\.EXAMPLE\.com" \(spec\.rules\[0\]\.host\) is already claimed/,
      ),
    ]);
    expect(
      refusals(
        [
          ingress({
            rules: [{ host: 'mine.example.com', http: login }],
            tls: [{ hosts: ['pay.example.com'], secretName: 'cert' }],
          }),
        ],
        inUse,
      ),
    ).toEqual([expect.stringMatching(/\(spec\.tls\[0\]\.hosts\[0\]\)/)]);
    expect(
      refusals(
        [
          ingress(
            { rules: [{ host: 'mine.example.com', http: login }] },
            {
              annotations: {
                'nginx.ingress.kubernetes.io/server-alias':
                  'www.example.com, pay.example.com',
              },
            },
          ),
        ],
        inUse,
      ),
    ).toEqual([
      expect.stringMatching(
        /^host "pay\.example\.com" \(annotation nginx\.ingress\.kubernetes\.io\/server-alias\) is already claimed/,
      ),
    ]);
    for (const kind of ['HTTPRoute', 'GRPCRoute', 'TLSRoute']) {
      expect(refusals([route(['pay.example.com'], kind)], inUse)).toEqual([
        expect.stringMatching(/\(spec\.hostnames\[0\]\) is already claimed/),
      ]);
    }
    expect(
      refusals(
        [
          {
            apiVersion: 'gateway.networking.x-k8s.io/v1alpha1',
            kind: 'ListenerSet',
            metadata: { name: 'steal' },
            spec: {
              parentRef: { name: 'shared-gateway', namespace: 'gateway' },
              listeners: [
                {
                  name: 'pay',
                  port: 443,
                  protocol: 'HTTPS',
                  hostname: 'pay.example.com',
                },
              ],
            },
          },
        ],
        inUse,
      ),
    ).toEqual([
      expect.stringMatching(/\(spec\.listeners\[0\]\.hostname\) is already/),
    ]);
  });

  it("passes a host held only in the object's own namespace (a tenant changing its own Ingress), and hosts no one holds", () => {
    expect(
      refusals(
        [ingressFor('pay.example.com')],
        held(['pay.example.com', 'tenant-acme']),
      ),
    ).toEqual([]);
    expect(refusals([ingressFor('shop.example.com')], rivalPay)).toEqual([]);
    expect(refusals([ingressFor('shop.example.com')], held())).toEqual([]);
    // The namespace the object lands in decides: its own, else the run's.
    expect(
      refusals(
        [
          ingress(
            { rules: [{ host: 'pay.example.com', http: login }] },
            {
              namespace: 'tenant-rival',
            },
          ),
        ],
        rivalPay,
        plain,
        {
          namespaces: ['tenant-acme', 'tenant-rival'],
          defaultNamespace: 'tenant-acme',
        },
      ),
    ).toEqual([]);
    // Held in two namespaces, its own among them: another still holds it.
    expect(
      refusals(
        [ingressFor('pay.example.com')],
        held(
          ['pay.example.com', 'tenant-acme'],
          ['pay.example.com', 'tenant-rival'],
        ),
      ),
    ).toEqual([expect.stringMatching(/is already claimed/)]);
  });

  it("refuses a name another namespace's wildcard matches, and a wildcard under it, but not the wildcard's parent", () => {
    const open = new PolicyEngine({ allowCatchAllIngress: true });
    const wild = held(['*.example.com', 'tenant-rival']);
    for (const host of [
      'pay.example.com',
      'a.pay.example.com',
      '*.pay.example.com',
      '*.example.com',
    ]) {
      expect(refusals([ingressFor(host)], wild, open)).toEqual([
        expect.stringMatching(/is already claimed/),
      ]);
    }
    expect(refusals([ingressFor('example.com')], wild, open)).toEqual([]);
    expect(refusals([ingressFor('pay.example.org')], wild, open)).toEqual([]);
    // A wildcard of this tenant above another's name takes none of that name's traffic (the
    // exact name wins), only hosts no one claims, which allowCatchAllIngress lets it take.
    expect(refusals([ingressFor('*.example.com')], rivalPay, open)).toEqual([]);
  });

  it('refuses every host when the hosts in use could not be read, or a run was checked without them (fail closed)', () => {
    expect(
      refusals([ingressFor('shop.example.com')], {
        unreadable: 'the cluster answered 403',
      }),
    ).toEqual([
      'host "shop.example.com" (spec.rules[0].host) cannot be checked against the hosts other namespaces hold: the cluster answered 403',
    ]);
    expect(refusals([ingressFor('shop.example.com')], undefined)).toEqual([
      expect.stringMatching(
        /^host "shop\.example\.com" \(spec\.rules\[0\]\.host\) cannot be checked against the hosts other namespaces hold: they were not read from the cluster for this check/,
      ),
    ]);
    // A check of objects alone (no run scope: nothing is applied) does not compare them.
    const alone = plain
      .check([ingressFor('pay.example.com')], { namespace: 'tenant-acme' })
      .results.filter(r => r.ruleId === RULE);
    expect(alone.map(r => r.passed)).toEqual([true]);
  });

  it('needs no hosts in use with a domain: each namespace has hosts of its own', () => {
    const withDomain = new PolicyEngine({
      ingressHostDomain: 'apps.example.com',
    });
    expect(
      refusals(
        [ingressFor('pay.tenant-acme.apps.example.com')],
        undefined,
        withDomain,
      ),
    ).toEqual([]);
    expect(withDomain.needsIngressHostsInUse([ingressFor('a.b.c')])).toBe(
      false,
    );
    expect(plain.needsIngressHostsInUse([ingressFor('a.b.c')])).toBe(true);
    expect(plain.needsIngressHostsInUse([route(['a.b.c'])])).toBe(true);
    expect(
      plain.needsIngressHostsInUse([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
        ingress({ defaultBackend: backend }),
      ]),
    ).toBe(false);
  });
});

describe('ingress-host blocks in every mode', () => {
  const engineFrom = (policy: Record<string, any>) =>
    PolicyEngine.fromConfig(new ConfigReader({ kubechart: { policy } }));

  it.each(['warn', 'off'])(
    'blocks a stolen host and a catch-all with mode %s, as an error',
    mode => {
      const engine = engineFrom({ mode });
      const report = engine.check(
        [ingressFor('pay.example.com'), ingress({ defaultBackend: backend })],
        { scope: acme, ingressHostsInUse: rivalPay },
      );
      expect(report.blocking).toBe(true);
      expect(
        report.results
          .filter(r => r.ruleId === RULE && !r.passed)
          .map(r => [r.severity, r.message.slice(0, 30)]),
      ).toEqual([
        ['error', 'host "pay.example.com" (spec.r'],
        ['error', 'spec.defaultBackend catches ev'],
      ]);
    },
  );

  it.each(['warning', 'info', 'off'])(
    'refuses kubechart.policy.rules.ingress-host: %s at start-up',
    severity => {
      expect(() => engineFrom({ rules: { [RULE]: severity } })).toThrow(
        `kubechart.policy.rules.ingress-host cannot be set to ${severity}: policy rule ingress-host blocks in every mode`,
      );
    },
  );
});
