import { ConfigReader } from '@backstage/config';
import { PolicyEngine } from './PolicyEngine';
import { KubeObject, PolicyScope } from './types';

/*
 * A tenant's Service may not take traffic meant for others: not by naming the addresses it takes
 * (spec.externalIPs, CVE-2020-8554; spec.loadBalancerIP), not by hand-written Endpoints or
 * EndpointSlices, not by a Service type the platform did not allow. These rules guard a trust
 * boundary: they block in every policy mode, as the rbac-* rules do. Written from the rules'
 * definitions (README: `service-external-ips`, `service-endpoints`, `service-type`).
 */

const scope: PolicyScope = {
  namespaces: ['tenant-acme'],
  defaultNamespace: 'tenant-acme',
};
const MODES = ['enforce', 'warn', 'off'] as const;

const service = (spec: any, name = 'grab'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec,
});
/** What the attack review applied: every pod connecting to 10.96.0.1:443 (the API server) reached acme. */
const stealing = service({
  selector: { app: 'none' },
  ports: [{ port: 443 }],
  externalIPs: ['203.0.113.10', '10.96.0.1'],
});
const endpoints: KubeObject = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'grab' },
  subsets: [{ addresses: [{ ip: '10.244.1.7' }], ports: [{ port: 8080 }] }],
};
const endpointSlice: KubeObject = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'grab-1',
    labels: { 'kubernetes.io/service-name': 'grab' },
  },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.244.1.7'] }],
  ports: [{ port: 8080 }],
};

/** `<rule> <severity>: <message>` of each failed result of `ruleId` (all service rules when omitted). */
const refusals = (
  engine: PolicyEngine,
  objects: KubeObject[],
  ruleId?: string,
) =>
  engine
    .check(objects, { scope })
    .results.filter(
      r =>
        !r.passed &&
        (ruleId ? r.ruleId === ruleId : r.ruleId.startsWith('service-')),
    )
    .map(r => `${r.ruleId} ${r.severity}: ${r.message}`);

const EXTERNAL_IPS_REFUSAL =
  'service-external-ips error: spec.externalIPs names "203.0.113.10", "10.96.0.1": every node sends connections to these addresses (on the Service\'s ports) to this Service, from every pod of the cluster too, whoever the addresses belong to (CVE-2020-8554)';

describe('service-external-ips: a Service names no address it takes traffic for', () => {
  it('refuses spec.externalIPs in enforce, warn and off mode, naming the field and the addresses', () => {
    for (const mode of MODES) {
      const report = new PolicyEngine({ mode }).check([stealing], { scope });
      expect({
        mode,
        blocking: report.blocking,
        errors: report.summary.errors,
        refused: refusals(new PolicyEngine({ mode }), [stealing]),
      }).toEqual({
        mode,
        blocking: true,
        errors: 1,
        refused: [EXTERNAL_IPS_REFUSAL],
      });
    }
  });

  it('refuses spec.loadBalancerIP and what it cannot read; passes a Service that names no address', () => {
    const engine = new PolicyEngine({
      allowedServiceTypes: ['ClusterIP', 'LoadBalancer'],
    });
    expect(
      refusals(engine, [
        service({ type: 'LoadBalancer', loadBalancerIP: '203.0.113.10' }),
      ]),
    ).toEqual([
      'service-external-ips error: spec.loadBalancerIP names "203.0.113.10": it asks the load balancer for that address, whoever it was meant for',
    ]);
    expect(
      refusals(engine, [service({ externalIPs: '203.0.113.10' })]),
    ).toEqual(['service-external-ips error: spec.externalIPs is not a list']);
    const many = Array.from({ length: 25 }, (_, i) => `203.0.113.${i}`);
    expect(refusals(engine, [service({ externalIPs: many })])).toEqual([
      expect.stringMatching(
        /^service-external-ips error: spec\.externalIPs names "203\.0\.113\.0", .*"203\.0\.113\.9", …and 15 more: every node/,
      ),
    ]);
    for (const spec of [
      { ports: [{ port: 80 }] },
      { ports: [{ port: 80 }], externalIPs: [], loadBalancerIP: '' },
      { type: 'LoadBalancer', externalIPs: null, loadBalancerIP: null },
    ]) {
      const report = engine.check([service(spec)], { scope });
      expect(
        report.results
          .filter(r => r.ruleId === 'service-external-ips')
          .map(r => r.passed),
      ).toEqual([true]);
    }
  });

  it('allows them with kubechart.policy.allowServiceExternalIPs, and an exception exempts one Service with its reason', () => {
    const allowing = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: { policy: { allowServiceExternalIPs: true } },
      }),
    );
    expect(
      refusals(allowing, [
        stealing,
        service({ loadBalancerIP: '203.0.113.10' }, 'lb'),
      ]),
    ).toEqual([]);
    expect(
      refusals(PolicyEngine.fromConfig(new ConfigReader({ kubechart: {} })), [
        stealing,
      ]),
    ).toEqual([EXTERNAL_IPS_REFUSAL]);

    const exempting = new PolicyEngine({
      mode: 'warn',
      exceptions: [
        {
          rule: 'service-external-ips',
          namespace: 'tenant-acme',
          name: 'grab',
          reason: 'acme owns 203.0.113.10 (PLAT-7)',
        },
      ],
    });
    const report = exempting.check([stealing], { scope });
    expect(report.blocking).toBe(false);
    expect(
      report.results.find(r => r.ruleId === 'service-external-ips')?.exempt,
    ).toEqual({ reason: 'acme owns 203.0.113.10 (PLAT-7)' });
  });
});

describe('service-endpoints: the manifests write no Endpoints or EndpointSlices', () => {
  it('refuses hand-written Endpoints and EndpointSlices in enforce, warn and off mode', () => {
    for (const mode of MODES) {
      const engine = new PolicyEngine({ mode });
      const selectorless = service({ ports: [{ port: 80 }] });
      expect({
        mode,
        blocking: engine.check([selectorless, endpoints], { scope }).blocking,
        endpoints: refusals(engine, [selectorless, endpoints]),
        slice: refusals(engine, [selectorless, endpointSlice]),
      }).toEqual({
        mode,
        blocking: true,
        endpoints: [
          "service-endpoints error: Endpoints are Kubernetes' to write from a Service's selector: written by hand, they send the Service's traffic to any address they name, another tenant's pods included",
        ],
        slice: [
          "service-endpoints error: an EndpointSlice is Kubernetes' to write from a Service's selector: written by hand, it sends the Service's traffic to any address it names, another tenant's pods included",
        ],
      });
    }
  });

  it('leaves kinds of those names in other API groups alone', () => {
    const engine = new PolicyEngine();
    const others = [
      { ...endpoints, apiVersion: 'example.com/v1' },
      { ...endpointSlice, apiVersion: 'example.com/v1' },
    ];
    expect(
      engine
        .check(others, { namespace: 'tenant-acme' })
        .results.filter(r => r.ruleId === 'service-endpoints'),
    ).toEqual([]);
  });
});

describe('service-type blocks in every mode', () => {
  it('refuses an ExternalName under warn and a NodePort under off, as under enforce', () => {
    const externalName = service(
      { type: 'ExternalName', externalName: 'web.tenant-b' },
      'other-web',
    );
    const nodePort = service({ type: 'NodePort', ports: [{ port: 80 }] });
    for (const mode of MODES) {
      const engine = new PolicyEngine({ mode });
      const report = engine.check([externalName, nodePort], { scope });
      expect({ mode, blocking: report.blocking }).toEqual({
        mode,
        blocking: true,
      });
      expect(
        refusals(engine, [externalName, nodePort], 'service-type'),
      ).toEqual([
        'service-type error: type ExternalName is not allowed',
        'service-type error: type NodePort is not allowed',
      ]);
    }
    // A platform team that allows a type allows it in every mode.
    expect(
      refusals(
        new PolicyEngine({
          mode: 'warn',
          allowedServiceTypes: ['ClusterIP', 'ExternalName'],
        }),
        [externalName],
      ),
    ).toEqual([]);
  });

  it('refuses config that would make the service rules advice', () => {
    for (const id of [
      'service-type',
      'service-external-ips',
      'service-endpoints',
    ]) {
      for (const severity of ['warning', 'info', 'off'] as const) {
        expect(
          () => new PolicyEngine({ severities: { [id]: severity } }),
        ).toThrow(
          `kubechart.policy.rules.${id} cannot be set to ${severity}: policy rule ${id} blocks in every mode`,
        );
      }
    }
  });
});
