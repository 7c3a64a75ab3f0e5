import type { PolicySeverity } from '@kubechart/plugin-kubechart-common';
import type { HostsHeld } from './rules/hostNames';

/** A Kubernetes object as parsed from YAML. @public */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: any;
};

/** How secrets are recognised by the `no-plain-secrets` and `no-secret-values` rules. @public */
export type SecretDetectionOptions = {
  /**
   * Words (or phrases of words, written `api_key`, `api key` or `apiKey`) that mark a key or env
   * name as secret when they appear as whole words of it: `DB_PASSWORD` and `dbPassword` contain
   * `password`; `monkey` and `cache_key_prefix` contain no listed word.
   */
  keyNames: string[];
  /** Exact names never treated as secret (e.g. `TOKEN_TTL`). Compared case-insensitively. */
  ignoreKeys: string[];
};

/** What a rule may look at besides the object it checks. @public */
export type PolicyContext = {
  /** Every object of the rendered manifest (e.g. to find a PodDisruptionBudget). */
  objects: KubeObject[];
  /** Registries images may come from (`registry.example.com`, `ghcr.io/acme`). Empty: any. */
  trustedRegistries: string[];
  /** Service types that are allowed (default `ClusterIP`, headless included; not `ExternalName`, which can point into another namespace). */
  allowedServiceTypes: string[];
  /**
   * Volume types a pod may use besides those Pod Security `restricted` allows
   * (`kubechart.policy.allowedVolumeTypes`, e.g. `nfs`); hostPath is the `host-path` rule's.
   */
  allowedVolumeTypes: string[];
  /**
   * The DNS name tenants' ingress hosts go under, lower-cased (`kubechart.policy.ingressHostDomain`):
   * an object's hosts must be `<namespace>.<domain>` or under it. Undefined: hosts are not tied to namespaces.
   */
  ingressHostDomain?: string;
  /** Whether Ingress rules without a host, default backends, routes without hostnames and (without a domain) wildcard hosts are allowed. */
  allowCatchAllIngress: boolean;
  /**
   * What operators' custom resources may reach past their namespace (`kubechart.policy.allowCrossNamespace`):
   * objects of the whole cluster as `<Kind>.<group>/<name>` or `<Kind>.<group>/*`
   * (`ClusterIssuer.cert-manager.io/letsencrypt`), and forms such as `flux-default-service-account`.
   */
  allowCrossNamespace: string[];
  /**
   * Without `ingressHostDomain`, in a check with a scope (a run, its preview): the hosts the cluster's
   * Ingresses, Gateway API routes and ListenerSets already hold, by namespace
   * ({@link PolicyCheckOptions.ingressHostsInUse}), or why they could not be read (`ingress-host` then
   * refuses every host). Undefined: hosts are not compared with the cluster's (a domain ties them to
   * namespaces; a check without a scope applies nothing).
   */
  hostsInUse?: HostsHeld | { unreadable: string };
  /**
   * The ingress-nginx annotations an Ingress may carry, by name after the prefix (`proxy-body-size`):
   * the built-in allow-list and `kubechart.policy.allowedIngressAnnotations`.
   */
  allowedIngressAnnotations: ReadonlySet<string>;
  /**
   * Whether a Service may name the addresses it takes traffic for, `spec.externalIPs` and
   * `spec.loadBalancerIP` (`kubechart.policy.allowServiceExternalIPs`, default false).
   */
  allowServiceExternalIPs: boolean;
  /** Secret names and values configuration. */
  secrets: SecretDetectionOptions;
  /** The namespace an object lands in: its own, else the run's default namespace (may be undefined). */
  namespaceOf(obj: KubeObject): string | undefined;
  /**
   * The ClusterRole KubeChart's deployer holds in each tenant namespace (`kubechart.tenant.deployer.clusterRole`,
   * default `admin`): a binding of it hands out what KubeChart deploys with.
   */
  deployerClusterRole: string;
};

/**
 * A chart policy rule. Add your own through `kubechartPolicyRulesExtensionPoint`.
 * @public
 */
export interface PolicyRule {
  /** Stable id used in config (`kubechart.policy.rules.<id>`) and in reports. */
  id: string;
  /** Severity unless config overrides it. */
  defaultSeverity: PolicySeverity;
  /**
   * A failure blocks in every policy mode (`off` included: the rule is judged then too), as `run-scope`
   * does: the rule guards a trust boundary, not advice. Its severity is `error`, whatever
   * `defaultSeverity` says, and config setting another is refused at start-up; an exception
   * (`kubechart.policy.exceptions`) still exempts one object, with its reason.
   */
  alwaysBlocks?: boolean;
  /** What a passing object satisfies, e.g. "containers run as non-root". */
  description: string;
  /** How to fix a violation, shown to the developer. */
  fix: string;
  /**
   * Checks one object. Returns `undefined` when the rule does not apply to it, an empty array when it
   * passes, or one message per violation.
   */
  check(object: KubeObject, context: PolicyContext): string[] | undefined;
}

/**
 * Where a run may write, computed by the engine before the policy runs. The `run-scope` rule
 * refuses every object outside it; that rule is blocking in every policy mode and cannot be
 * turned off or exempted by config.
 * @public
 */
export type PolicyScope = {
  /** Namespaces the run may write to. Objects without metadata.namespace land in defaultNamespace. */
  namespaces: string[];
  defaultNamespace: string;
  /** Cluster-scoped kinds this run may create, as "<group>/<Kind>" ("" group for core), e.g.
   * "apiextensions.k8s.io/CustomResourceDefinition"; the caller has already checked the permission. */
  allowedClusterScopedKinds?: string[];
  /** Whether a kind is namespaced (from discovery); undefined = unknown → refused (fail closed). When omitted,
   * a built-in table of the core/apps/batch/networking/policy/rbac/storage/apiextensions kinds is used. */
  isNamespaced?: (apiVersion: string, kind: string) => boolean | undefined;
  /**
   * Objects the run may not write, whatever their annotations: the tenant resources KubeChart keeps
   * in the namespace (quota, limit range, default-deny NetworkPolicy, every tenant resource provider's
   * objects). Only tenant runs change them; a chart or hook with the same kind, namespace and name
   * would replace them, so the `run-scope` rule refuses it.
   */
  protectedObjects?: ProtectedObject[];
};

/**
 * One object a run may not write, by kind, namespace and name (any API group: fail closed).
 * @public
 */
export type ProtectedObject = {
  kind: string;
  namespace: string;
  name: string;
};

/** Options of one policy check. @public */
export type PolicyCheckOptions = {
  /** The run's scope; when given, the `run-scope` rule checks every object against it. */
  scope?: PolicyScope;
  /**
   * Without a scope (a dry run such as `POST /policy/check`): the namespace objects without
   * `metadata.namespace` land in, for the rules that read it (`ingress-host`, exceptions, PDB matching).
   */
  namespace?: string;
  /**
   * The hosts the cluster's Ingresses, Gateway API routes and ListenerSets hold, read when the run is
   * checked: without `ingressHostDomain`, `ingress-host` refuses a host an object of another namespace
   * holds. With a scope and without them, every host an object claims is refused (they were not read).
   */
  ingressHostsInUse?: IngressHostsInUse;
};

/**
 * The hosts a cluster's Ingresses (rule hosts, TLS hosts, the ingress-nginx `server-alias`), Gateway API
 * routes (`hostnames`) and ListenerSets (listener `hostname`) hold, each with the object's namespace, as
 * read when a run is checked; or why they could not be read (then every host is refused: fail closed).
 * @public
 */
export type IngressHostsInUse =
  | { hosts: ReadonlyArray<{ host: string; namespace: string }> }
  | { unreadable: string };

/**
 * A platform team's exemption of one rule for one namespace and/or object, with the reason.
 * Exempted results stay in the report, marked `exempt`, and do not count as failures.
 * @public
 */
export type PolicyException = {
  /** The rule id (`host-path`, …). `run-scope` and `valid-object` cannot be exempted. */
  rule: string;
  /** Namespace the object lands in (its own, else the run's default namespace). */
  namespace?: string;
  /** Object kind, e.g. `DaemonSet`. */
  kind?: string;
  /** Object name; `*` matches any run of characters (`node-exporter-*`). */
  name?: string;
  /** Why the exemption is acceptable; shown in the report. Required. */
  reason: string;
};
