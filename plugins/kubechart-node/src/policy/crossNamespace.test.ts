import { ConfigReader } from '@backstage/config';
import { PolicyEngine } from './PolicyEngine';
import { builtinIsNamespaced } from './scope';
import { KubeObject, PolicyScope } from './types';

/*
 * Operators' aggregated roles add their kinds to `admin`, so a tenant may create their namespaced
 * custom resources; some of them make the operator reach into other namespaces with its own rights.
 * The objects below follow the operators' documented CRD layouts: External Secrets
 * (`external-secrets.io`, `generators.external-secrets.io`), KEDA (`keda.sh`), the Prometheus
 * operator (`monitoring.coreos.com`), cert-manager (`cert-manager.io`), Argo CD (`argoproj.io`),
 * Flux (`*.toolkit.fluxcd.io`) and Kyverno (`kyverno.io`, `policies.kyverno.io`).
 */

/** Custom resources are namespaced here, as discovery would say of these kinds. */
const scope: PolicyScope = {
  namespaces: ['team-a'],
  defaultNamespace: 'team-a',
  isNamespaced: (apiVersion, kind) =>
    builtinIsNamespaced(apiVersion, kind) ?? true,
};
const engine = new PolicyEngine();
const allowing = (...allowCrossNamespace: string[]) =>
  new PolicyEngine({ allowCrossNamespace });

/** The messages of one rule's failures (empty: judged and passed); fails when the rule did not judge. */
const refusals = (
  ruleId: string,
  objects: KubeObject[],
  by: PolicyEngine = engine,
  s: PolicyScope = scope,
) => {
  const judged = by
    .check(objects, { scope: s })
    .results.filter(r => r.ruleId === ruleId);
  expect(judged.length).toBeGreaterThan(0);
  return judged.filter(r => !r.passed).map(r => r.message);
};
const object = (
  apiVersion: string,
  kind: string,
  spec: Record<string, unknown>,
  metadata: KubeObject['metadata'] = { name: 'x' },
): KubeObject => ({ apiVersion, kind, metadata, spec });

const allowHint = (key: string) =>
  `allow it with kubechart.policy.allowCrossNamespace "${key}"`;

describe('cross-namespace-secrets: External Secrets and KEDA objects that use the credentials of the whole cluster', () => {
  const RULE = 'cross-namespace-secrets';
  const externalSecret = (spec: Record<string, unknown>, version = 'v1') =>
    object(`external-secrets.io/${version}`, 'ExternalSecret', {
      refreshInterval: '1h',
      target: { name: 'db' },
      ...spec,
    });

  it('refuses, in every mode, an ExternalSecret reading through a ClusterSecretStore, naming the field and the store', () => {
    const stolen = externalSecret({
      secretStoreRef: { name: 'vault-all', kind: 'ClusterSecretStore' },
      data: [{ secretKey: 'password', remoteRef: { key: 'team-b/db' } }],
    });
    for (const mode of ['enforce', 'warn', 'off'] as const) {
      const report = new PolicyEngine({ mode }).check([stolen], { scope });
      const result = report.results.find(r => r.ruleId === RULE)!;
      expect([result.severity, result.passed, report.blocking]).toEqual([
        'error',
        false,
        true,
      ]);
      expect(result.message).toBe(
        `spec.secretStoreRef names ClusterSecretStore vault-all: a store of the whole cluster, whose credentials reach other tenants' secrets too; ${allowHint(
          'ClusterSecretStore.external-secrets.io/vault-all',
        )}`,
      );
      expect(result.fix).toMatch(/SecretStore of your own namespace/);
    }
  });

  it('reads every store and generator reference of v1 and v1beta1: data[].sourceRef, dataFrom[].sourceRef', () => {
    for (const version of ['v1', 'v1beta1']) {
      const messages = refusals(RULE, [
        externalSecret(
          {
            secretStoreRef: { name: 'own', kind: 'SecretStore' },
            data: [
              {
                secretKey: 'a',
                remoteRef: { key: 'a' },
                sourceRef: {
                  storeRef: { name: 'shared', kind: 'ClusterSecretStore' },
                },
              },
            ],
            dataFrom: [
              { extract: { key: 'b' } },
              {
                find: { name: { regexp: '.*' } },
                sourceRef: {
                  storeRef: { name: 'shared', kind: 'ClusterSecretStore' },
                },
              },
              {
                sourceRef: {
                  generatorRef: {
                    apiVersion: 'generators.external-secrets.io/v1alpha1',
                    kind: 'ClusterGenerator',
                    name: 'ecr',
                  },
                },
              },
            ],
          },
          version,
        ),
      ]);
      const store =
        "a store of the whole cluster, whose credentials reach other tenants' secrets too";
      expect(messages).toEqual([
        [
          `spec.data[0].sourceRef.storeRef names ClusterSecretStore shared: ${store}; ${allowHint(
            'ClusterSecretStore.external-secrets.io/shared',
          )}`,
          `spec.dataFrom[1].sourceRef.storeRef names ClusterSecretStore shared: ${store}; ${allowHint(
            'ClusterSecretStore.external-secrets.io/shared',
          )}`,
          `spec.dataFrom[2].sourceRef.generatorRef names ClusterGenerator ecr: a generator of the whole cluster, which makes credentials with the platform's own; ${allowHint(
            'ClusterGenerator.generators.external-secrets.io/ecr',
          )}`,
        ].join('; '),
      ]);
    }
  });

  it('passes stores and generators of the namespace: SecretStore written or left to its default, namespaced generators', () => {
    expect(
      refusals(RULE, [
        externalSecret({
          secretStoreRef: { name: 'own', kind: 'SecretStore' },
          data: [{ secretKey: 'a', remoteRef: { key: 'a' } }],
        }),
        externalSecret({
          secretStoreRef: { name: 'own' },
          dataFrom: [
            {
              sourceRef: {
                generatorRef: {
                  apiVersion: 'generators.external-secrets.io/v1alpha1',
                  kind: 'Password',
                  name: 'pw',
                },
              },
            },
            { sourceRef: { storeRef: { name: 'other-own' } } },
          ],
        }),
      ]),
    ).toEqual([]);
  });

  it('refuses a store kind it does not know, and references it cannot read, rather than guessing', () => {
    expect(
      refusals(RULE, [
        externalSecret({
          secretStoreRef: { name: 'x', kind: 'clustersecretstore' },
        }),
      ]),
    ).toEqual([
      'spec.secretStoreRef.kind is "clustersecretstore", which the policy does not know: give SecretStore or ClusterSecretStore',
    ]);
    expect(
      refusals(RULE, [
        externalSecret({ secretStoreRef: 'vault-all', data: 'all' }),
      ]),
    ).toEqual([
      'spec.secretStoreRef is not a mapping: the policy cannot read it; spec.data is not a list: the policy cannot read it',
    ]);
    // A name no Kubernetes object has is shown quoted and cut, not echoed whole into the report.
    const [long] = refusals(RULE, [
      externalSecret({
        secretStoreRef: {
          name: 'v'.repeat(100_000),
          kind: 'ClusterSecretStore',
        },
      }),
    ]);
    expect(long.length).toBeLessThan(600);
    expect(long).toContain(`names ClusterSecretStore "${'v'.repeat(80)}"…`);
  });

  it('refuses a PushSecret writing through a ClusterSecretStore, named or selected by label, or using a ClusterGenerator', () => {
    const push = object('external-secrets.io/v1alpha1', 'PushSecret', {
      refreshInterval: '10s',
      secretStoreRefs: [
        { name: 'own', kind: 'SecretStore' },
        { name: 'aws-all', kind: 'ClusterSecretStore' },
        {
          kind: 'ClusterSecretStore',
          labelSelector: { matchLabels: { shared: 'true' } },
        },
      ],
      selector: {
        generatorRef: {
          apiVersion: 'generators.external-secrets.io/v1alpha1',
          kind: 'ClusterGenerator',
          name: 'pw',
        },
      },
      data: [
        { match: { secretKey: 'a', remoteRef: { remoteKey: 'team-b/a' } } },
      ],
    });
    const [message] = refusals(RULE, [push]);
    expect(message).toContain(
      `spec.secretStoreRefs[1] names ClusterSecretStore aws-all: a store of the whole cluster, whose credentials reach other tenants' secrets too; ${allowHint(
        'ClusterSecretStore.external-secrets.io/aws-all',
      )}`,
    );
    expect(message).toContain(
      `spec.secretStoreRefs[2] selects ClusterSecretStores by label: stores of the whole cluster, whose credentials reach other tenants' secrets too; ${allowHint(
        'ClusterSecretStore.external-secrets.io/*',
      )}`,
    );
    expect(message).toContain(
      'spec.selector.generatorRef names ClusterGenerator pw',
    );
    expect(
      refusals(RULE, [
        object('external-secrets.io/v1alpha1', 'PushSecret', {
          secretStoreRefs: [{ name: 'own', kind: 'SecretStore' }],
          selector: { secret: { name: 'src' } },
        }),
      ]),
    ).toEqual([]);
  });

  it('refuses a KEDA ScaledObject or ScaledJob trigger authenticated by a ClusterTriggerAuthentication', () => {
    const scaled = (kind: string, authenticationRef: unknown) =>
      object('keda.sh/v1alpha1', kind, {
        scaleTargetRef: { name: 'worker' },
        triggers: [
          {
            type: 'aws-sqs-queue',
            metadata: { queueURL: 'https://sqs.example/q', queueLength: '5' },
            authenticationRef,
          },
        ],
      });
    expect(
      refusals(RULE, [
        scaled('ScaledObject', {
          name: 'platform-aws',
          kind: 'ClusterTriggerAuthentication',
        }),
      ]),
    ).toEqual([
      `spec.triggers[0].authenticationRef names ClusterTriggerAuthentication platform-aws: a trigger authentication of the whole cluster, whose credentials reach other tenants' queues and metrics too; ${allowHint(
        'ClusterTriggerAuthentication.keda.sh/platform-aws',
      )}`,
    ]);
    expect(
      refusals(RULE, [
        scaled('ScaledJob', {
          name: 'platform-aws',
          kind: 'ClusterTriggerAuthentication',
        }),
      ]),
    ).toHaveLength(1);
    expect(
      refusals(RULE, [
        scaled('ScaledObject', { name: 'own' }),
        scaled('ScaledJob', { name: 'own', kind: 'TriggerAuthentication' }),
      ]),
    ).toEqual([]);
  });

  it('allows the stores the platform names in kubechart.policy.allowCrossNamespace (or all of a kind with *), and no others', () => {
    const uses = (name: string) =>
      externalSecret({
        secretStoreRef: { name, kind: 'ClusterSecretStore' },
      });
    const one = PolicyEngine.fromConfig(
      new ConfigReader({
        kubechart: {
          policy: {
            allowCrossNamespace: [
              'ClusterSecretStore.external-secrets.io/tenant-vault',
            ],
          },
        },
      }),
    );
    expect(refusals(RULE, [uses('tenant-vault')], one)).toEqual([]);
    expect(refusals(RULE, [uses('vault-all')], one)).toHaveLength(1);
    const all = allowing('ClusterSecretStore.external-secrets.io/*');
    expect(refusals(RULE, [uses('vault-all')], all)).toEqual([]);
    // The other kinds stay refused.
    expect(
      refusals(
        RULE,
        [
          externalSecret({
            dataFrom: [
              {
                sourceRef: {
                  generatorRef: {
                    apiVersion: 'generators.external-secrets.io/v1alpha1',
                    kind: 'ClusterGenerator',
                    name: 'ecr',
                  },
                },
              },
            ],
          }),
        ],
        all,
      ),
    ).toHaveLength(1);
  });

  it('leaves kinds of the same name in other groups alone, and is exempted for one namespace by an exception', () => {
    const lookalike = object('example.com/v1', 'ExternalSecret', {
      secretStoreRef: { name: 'x', kind: 'ClusterSecretStore' },
    });
    expect(
      engine
        .check([lookalike], { scope })
        .results.filter(r => r.ruleId === RULE),
    ).toEqual([]);
    const exempted = new PolicyEngine({
      exceptions: [
        { rule: RULE, namespace: 'team-a', reason: 'platform sync (PLAT-7)' },
      ],
    }).check(
      [
        externalSecret({
          secretStoreRef: { name: 'vault-all', kind: 'ClusterSecretStore' },
        }),
      ],
      { scope },
    );
    expect(exempted.blocking).toBe(false);
    expect(exempted.results.find(r => r.ruleId === RULE)?.exempt).toEqual({
      reason: 'platform sync (PLAT-7)',
    });
  });
});

describe('cross-namespace-monitoring: Prometheus operator objects that scrape other namespaces', () => {
  const RULE = 'cross-namespace-monitoring';
  const serviceMonitor = (spec: Record<string, unknown>) =>
    object('monitoring.coreos.com/v1', 'ServiceMonitor', {
      selector: { matchLabels: { app: 'web' } },
      endpoints: [{ port: 'metrics', interval: '30s' }],
      ...spec,
    });
  const podMonitor = (spec: Record<string, unknown>) =>
    object('monitoring.coreos.com/v1', 'PodMonitor', {
      selector: { matchLabels: { app: 'web' } },
      podMetricsEndpoints: [{ port: 'metrics' }],
      ...spec,
    });

  it('refuses namespaceSelector.any and matchNames naming other namespaces, in ServiceMonitors and PodMonitors', () => {
    expect(
      refusals(RULE, [serviceMonitor({ namespaceSelector: { any: true } })]),
    ).toEqual([
      "spec.namespaceSelector.any is true: Prometheus would scrape the matching targets of every namespace, other tenants' included",
    ]);
    expect(
      refusals(RULE, [
        podMonitor({
          namespaceSelector: { matchNames: ['team-a', 'team-b', 'payments'] },
        }),
      ]),
    ).toEqual([
      'spec.namespaceSelector.matchNames names namespaces team-b, payments: Prometheus would scrape their targets; a monitor may only select its own namespace, team-a',
    ]);
  });

  it('passes a monitor of its own namespace: no selector, an empty one, or matchNames of the namespace only', () => {
    expect(
      refusals(RULE, [
        serviceMonitor({}),
        serviceMonitor({ namespaceSelector: {} }),
        podMonitor({
          namespaceSelector: { any: false, matchNames: ['team-a'] },
        }),
      ]),
    ).toEqual([]);
  });

  it('refuses matchNames when the namespace of the object is not known (a check without a namespace)', () => {
    const report = engine.check([
      serviceMonitor({ namespaceSelector: { matchNames: ['team-a'] } }),
    ]);
    expect(report.results.find(r => r.ruleId === RULE)?.message).toBe(
      'spec.namespaceSelector.matchNames names namespaces team-a: Prometheus would scrape their targets; a monitor may only select its own namespace, which is not known here',
    );
  });

  it('refuses relabelings that rewrite the address Prometheus scrapes before the scrape, not those after it', () => {
    const [message] = refusals(RULE, [
      serviceMonitor({
        endpoints: [
          {
            port: 'metrics',
            relabelings: [
              {
                sourceLabels: ['__meta_kubernetes_pod_name'],
                targetLabel: 'pod',
              },
              {
                targetLabel: '__address__',
                replacement: 'web.team-b.svc:9090',
              },
              { action: 'LabelMap', regex: '__meta_kubernetes_pod_label_(.+)' },
              {
                sourceLabels: ['__meta_kubernetes_pod_annotation_target'],
                regex: '(.+)',
                targetLabel: '${1}',
              },
              {
                action: 'keepequal',
                sourceLabels: ['x'],
                targetLabel: '__address__',
              },
            ],
            metricRelabelings: [{ action: 'labelmap', regex: 'x_(.+)' }],
          },
        ],
      }),
    ]);
    expect(message.split('; ')).toEqual([
      "spec.endpoints[0].relabelings[1] writes __address__: Prometheus would scrape whatever address it makes, other tenants' pods included",
      'spec.endpoints[0].relabelings[2] is a labelmap: before the scrape it could write __address__ from label names, and Prometheus would scrape whatever address that makes',
      'spec.endpoints[0].relabelings[3] writes the label its regex match names, "${1}", which could be __address__',
    ]);
    expect(
      refusals(RULE, [
        podMonitor({
          podMetricsEndpoints: [
            {
              port: 'metrics',
              relabelings: [{ action: 'frobnicate', targetLabel: 'x' }],
            },
          ],
        }),
      ]),
    ).toEqual([
      'spec.podMetricsEndpoints[0].relabelings[0].action is "frobnicate", which the policy does not know',
    ]);
  });

  it("refuses a ServiceMonitor endpoint reading the Prometheus server's files, which Prometheus sends to the target", () => {
    expect(
      refusals(RULE, [
        serviceMonitor({
          endpoints: [
            {
              port: 'metrics',
              bearerTokenFile:
                '/var/run/secrets/kubernetes.io/serviceaccount/token',
            },
            {
              port: 'https',
              scheme: 'https',
              tlsConfig: {
                caFile: '/etc/prometheus/ca.crt',
                keyFile: '/etc/prometheus/tls.key',
              },
            },
            {
              port: 'secured',
              bearerTokenSecret: { name: 'scrape', key: 'token' },
            },
          ],
        }),
      ]),
    ).toEqual([
      "spec.endpoints[0].bearerTokenFile, spec.endpoints[1].tlsConfig.caFile, spec.endpoints[1].tlsConfig.keyFile read files of the Prometheus server (its ServiceAccount token, its keys), which Prometheus would send to the target; use bearerTokenSecret, authorization or tlsConfig's Secret references of your own namespace",
    ]);
  });

  it('refuses every Probe and ScrapeConfig: they name the addresses Prometheus scrapes themselves', () => {
    expect(
      refusals(RULE, [
        object('monitoring.coreos.com/v1', 'Probe', {
          prober: { url: 'blackbox-exporter.monitoring.svc:19115' },
          module: 'http_2xx',
          targets: {
            ingress: {
              selector: { matchLabels: { app: 'web' } },
              namespaceSelector: { any: true },
            },
          },
        }),
      ]),
    ).toEqual([
      "a Probe has Prometheus scrape the prober it names (spec.prober.url) for the targets it names: addresses the policy cannot tie to the namespace; spec.targets.ingress.namespaceSelector.any is true: Prometheus would scrape the matching targets of every namespace, other tenants' included",
    ]);
    expect(
      refusals(RULE, [
        object('monitoring.coreos.com/v1alpha1', 'ScrapeConfig', {
          staticConfigs: [{ targets: ['web.team-b.svc:8080'] }],
        }),
      ]),
    ).toEqual([
      'a ScrapeConfig names the targets Prometheus scrapes itself (static addresses, service discovery of any namespace, files of the Prometheus server): addresses the policy cannot tie to the namespace',
    ]);
  });

  it('allows the forms a platform has made safe on its Prometheus: monitor-namespace-selectors, servicemonitor-files', () => {
    const selecting = serviceMonitor({ namespaceSelector: { any: true } });
    const reading = serviceMonitor({
      endpoints: [{ port: 'm', bearerTokenFile: '/t' }],
    });
    expect(
      refusals(RULE, [selecting], allowing('monitor-namespace-selectors')),
    ).toEqual([]);
    expect(
      refusals(RULE, [reading], allowing('monitor-namespace-selectors')),
    ).toHaveLength(1);
    expect(refusals(RULE, [reading], allowing('servicemonitor-files'))).toEqual(
      [],
    );
  });
});

describe('cross-namespace-certificates: cert-manager issuers of the whole cluster', () => {
  const RULE = 'cross-namespace-certificates';
  const certificate = (issuerRef: unknown, kind = 'Certificate') =>
    object('cert-manager.io/v1', kind, {
      secretName: 'web-tls',
      dnsNames: ['web.team-a.apps.example.com'],
      issuerRef,
    });

  it('refuses a Certificate or CertificateRequest issued by a ClusterIssuer, and passes an Issuer of the namespace', () => {
    expect(
      refusals(RULE, [
        certificate({
          name: 'letsencrypt',
          kind: 'ClusterIssuer',
          group: 'cert-manager.io',
        }),
      ]),
    ).toEqual([
      `spec.issuerRef names ClusterIssuer letsencrypt: an issuer of the whole cluster, which signs certificates for names other tenants use too; ${allowHint(
        'ClusterIssuer.cert-manager.io/letsencrypt',
      )}`,
    ]);
    expect(
      refusals(RULE, [
        certificate(
          { name: 'ca', kind: 'ClusterIssuer' },
          'CertificateRequest',
        ),
      ]),
    ).toHaveLength(1);
    expect(
      refusals(RULE, [
        certificate({ name: 'own' }),
        certificate({ name: 'own', kind: 'Issuer', group: 'cert-manager.io' }),
      ]),
    ).toEqual([]);
  });

  it('refuses an issuer of another group, whose scope it cannot tell, unless the platform allows it', () => {
    const pca = certificate({
      name: 'pca',
      kind: 'AWSPCAClusterIssuer',
      group: 'awspca.cert-manager.io',
    });
    expect(refusals(RULE, [pca])).toEqual([
      `spec.issuerRef names AWSPCAClusterIssuer pca of group awspca.cert-manager.io: the policy cannot tell whether that issuer is of the namespace or of the whole cluster; ${allowHint(
        'AWSPCAClusterIssuer.awspca.cert-manager.io/pca',
      )}`,
    ]);
    expect(
      refusals(
        RULE,
        [pca],
        allowing('AWSPCAClusterIssuer.awspca.cert-manager.io/pca'),
      ),
    ).toEqual([]);
    expect(
      refusals(RULE, [certificate({ name: 'x', kind: 'Issuers' })]),
    ).toEqual([
      'spec.issuerRef.kind is "Issuers", which the policy does not know: give Issuer or ClusterIssuer',
    ]);
  });

  it('refuses an Ingress or Gateway whose cert-manager annotations name a ClusterIssuer (cert-manager makes the Certificate from them)', () => {
    const annotated = (
      apiVersion: string,
      kind: string,
      annotations: Record<string, string>,
    ): KubeObject => ({
      apiVersion,
      kind,
      metadata: { name: 'web', annotations },
      spec: {},
    });
    expect(
      refusals(RULE, [
        annotated('networking.k8s.io/v1', 'Ingress', {
          'cert-manager.io/cluster-issuer': 'letsencrypt',
        }),
      ]),
    ).toEqual([
      `annotation cert-manager.io/cluster-issuer names ClusterIssuer letsencrypt: an issuer of the whole cluster, which signs certificates for names other tenants use too; ${allowHint(
        'ClusterIssuer.cert-manager.io/letsencrypt',
      )}`,
    ]);
    expect(
      refusals(RULE, [
        annotated('gateway.networking.k8s.io/v1', 'Gateway', {
          'cert-manager.io/issuer': 'ca',
          'cert-manager.io/issuer-kind': 'ClusterIssuer',
        }),
      ]),
    ).toEqual([
      `annotation cert-manager.io/issuer names ClusterIssuer ca: an issuer of the whole cluster, which signs certificates for names other tenants use too; ${allowHint(
        'ClusterIssuer.cert-manager.io/ca',
      )}`,
    ]);
    expect(
      refusals(RULE, [
        annotated('networking.k8s.io/v1', 'Ingress', {
          'cert-manager.io/issuer': 'own',
        }),
      ]),
    ).toEqual([]);
    // Allowed by name, in both places.
    const allowed = allowing('ClusterIssuer.cert-manager.io/letsencrypt');
    expect(
      refusals(
        RULE,
        [
          certificate({ name: 'letsencrypt', kind: 'ClusterIssuer' }),
          annotated('networking.k8s.io/v1', 'Ingress', {
            'cert-manager.io/cluster-issuer': 'letsencrypt',
          }),
        ],
        allowed,
      ),
    ).toEqual([]);
  });
});

describe("cross-namespace-gitops: Argo CD and Flux objects that deploy with the controller's rights or into other namespaces", () => {
  const RULE = 'cross-namespace-gitops';
  const kustomization = (spec: Record<string, unknown>) =>
    object('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', {
      interval: '10m',
      path: './deploy',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'app' },
      ...spec,
    });
  const helmRelease = (spec: Record<string, unknown>) =>
    object('helm.toolkit.fluxcd.io/v2', 'HelmRelease', {
      interval: '10m',
      chart: {
        spec: {
          chart: 'web',
          sourceRef: { kind: 'HelmRepository', name: 'charts' },
        },
      },
      ...spec,
    });

  it('refuses every Argo CD Application and ApplicationSet unless the platform allows them', () => {
    const application = object('argoproj.io/v1alpha1', 'Application', {
      project: 'default',
      source: { repoURL: 'https://git.example.com/app.git', path: 'deploy' },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: 'team-a',
      },
    });
    const set = object('argoproj.io/v1alpha1', 'ApplicationSet', {
      generators: [{ list: { elements: [] } }],
      template: { spec: application.spec },
    });
    expect(refusals(RULE, [application])).toEqual([
      `an Argo CD Application deploys what its source holds with Argo CD's own rights, into the namespaces its destination and its manifests name; allow it with kubechart.policy.allowCrossNamespace "argocd-applications"`,
    ]);
    expect(refusals(RULE, [set])).toHaveLength(1);
    expect(
      refusals(RULE, [application, set], allowing('argocd-applications')),
    ).toEqual([]);
  });

  it('refuses a Flux Kustomization or HelmRelease without serviceAccountName (the controller applies as itself)', () => {
    expect(refusals(RULE, [kustomization({})])).toEqual([
      'spec.serviceAccountName is not set: the controller would apply with its own ServiceAccount, which may write to every namespace; allow it with kubechart.policy.allowCrossNamespace "flux-default-service-account" when the controllers run with --default-service-account',
    ]);
    expect(refusals(RULE, [helmRelease({})])).toHaveLength(1);
    expect(
      refusals(
        RULE,
        [kustomization({}), helmRelease({})],
        allowing('flux-default-service-account'),
      ),
    ).toEqual([]);
    expect(
      refusals(RULE, [
        kustomization({ serviceAccountName: 'app', targetNamespace: 'team-a' }),
        helmRelease({
          serviceAccountName: 'app',
          targetNamespace: 'team-a',
          storageNamespace: 'team-a',
        }),
      ]),
    ).toEqual([]);
  });

  it('refuses the namespace fields of Flux objects that name another namespace, each by its path', () => {
    expect(
      refusals(RULE, [
        kustomization({
          serviceAccountName: 'app',
          targetNamespace: 'team-b',
          sourceRef: {
            kind: 'GitRepository',
            name: 'app',
            namespace: 'flux-system',
          },
          dependsOn: [{ name: 'infra' }, { name: 'db', namespace: 'team-b' }],
          healthChecks: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              namespace: 'team-b',
            },
          ],
        }),
      ]),
    ).toEqual([
      'spec.targetNamespace names namespace team-b, not team-a; spec.sourceRef.namespace names namespace flux-system, not team-a; spec.dependsOn[1].namespace names namespace team-b, not team-a; spec.healthChecks[0].namespace names namespace team-b, not team-a',
    ]);
    expect(
      refusals(RULE, [
        helmRelease({
          serviceAccountName: 'app',
          storageNamespace: 'kube-system',
          chart: {
            spec: {
              chart: 'web',
              sourceRef: {
                kind: 'HelmRepository',
                name: 'charts',
                namespace: 'flux-system',
              },
            },
          },
        }),
        helmRelease({
          serviceAccountName: 'app',
          chart: undefined,
          chartRef: { kind: 'OCIRepository', name: 'web', namespace: 'team-b' },
        }),
      ]),
    ).toEqual([
      'spec.storageNamespace names namespace kube-system, not team-a; spec.chart.spec.sourceRef.namespace names namespace flux-system, not team-a',
      'spec.chartRef.namespace names namespace team-b, not team-a',
    ]);
  });

  it('refuses Flux notification and image automation references to other namespaces', () => {
    expect(
      refusals(RULE, [
        object('notification.toolkit.fluxcd.io/v1beta3', 'Alert', {
          providerRef: { name: 'slack' },
          eventSources: [
            { kind: 'HelmRelease', name: '*' },
            { kind: 'HelmRelease', name: '*', namespace: 'team-b' },
          ],
        }),
        object('notification.toolkit.fluxcd.io/v1', 'Receiver', {
          type: 'github',
          secretRef: { name: 'token' },
          resources: [
            { kind: 'GitRepository', name: 'app', namespace: 'team-b' },
          ],
        }),
        object('image.toolkit.fluxcd.io/v1beta2', 'ImagePolicy', {
          imageRepositoryRef: { name: 'web', namespace: 'team-b' },
          policy: { semver: { range: '1.x' } },
        }),
        object('image.toolkit.fluxcd.io/v1beta2', 'ImageUpdateAutomation', {
          sourceRef: {
            kind: 'GitRepository',
            name: 'app',
            namespace: 'team-b',
          },
        }),
      ]),
    ).toEqual([
      'spec.eventSources[1].namespace names namespace team-b, not team-a',
      'spec.resources[0].namespace names namespace team-b, not team-a',
      'spec.imageRepositoryRef.namespace names namespace team-b, not team-a',
      'spec.sourceRef.namespace names namespace team-b, not team-a',
    ]);
  });
});

describe('cross-namespace-policy-exceptions: Kyverno PolicyExceptions', () => {
  const RULE = 'cross-namespace-policy-exceptions';
  const exception = (apiVersion: string) =>
    object(apiVersion, 'PolicyException', {
      exceptions: [
        { policyName: 'disallow-privileged', ruleNames: ['privileged'] },
      ],
      match: {
        any: [{ resources: { kinds: ['Pod'], namespaces: ['team-b'] } }],
      },
    });

  it('refuses a PolicyException of either Kyverno API unless the platform allows them', () => {
    for (const apiVersion of ['kyverno.io/v2', 'policies.kyverno.io/v1alpha1'])
      expect(refusals(RULE, [exception(apiVersion)])).toEqual([
        'a Kyverno PolicyException exempts the resources it matches, in any namespace, from the platform\'s policies; allow it with kubechart.policy.allowCrossNamespace "kyverno-policy-exceptions" when Kyverno reads exceptions only from the platform\'s namespace',
      ]);
    expect(
      refusals(
        RULE,
        [exception('kyverno.io/v2')],
        allowing('kyverno-policy-exceptions'),
      ),
    ).toEqual([]);
  });
});

describe('kubechart.policy.allowCrossNamespace and the rules that block in every mode', () => {
  it('refuses, at start-up, an entry it cannot read, naming it and what it takes', () => {
    for (const entry of [
      'ClusterIssuer',
      'clusterissuer.cert-manager.io/x',
      'ClusterIssuer.cert-manager.io/',
      'ClusterIssuer.cert-manager.io/Le*',
      'argocd',
    ])
      expect(() => allowing(entry)).toThrow(
        `kubechart.policy.allowCrossNamespace[0] "${entry}" is neither a form (monitor-namespace-selectors, servicemonitor-files, argocd-applications, flux-default-service-account, kyverno-policy-exceptions) nor an object of the whole cluster written <Kind>.<group>/<name> (or /* for every one), e.g. ClusterIssuer.cert-manager.io/letsencrypt`,
      );
  });

  it('cannot be turned off or made advice', () => {
    for (const id of [
      'cross-namespace-secrets',
      'cross-namespace-monitoring',
      'cross-namespace-certificates',
      'cross-namespace-gitops',
      'cross-namespace-policy-exceptions',
    ])
      expect(() => new PolicyEngine({ severities: { [id]: 'off' } })).toThrow(
        `kubechart.policy.rules.${id} cannot be set to off: policy rule ${id} blocks in every mode`,
      );
  });
});
