import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import type {
  PolicyMode,
  PolicyReport,
  PolicyResult,
  PolicySeverity,
} from '@kubechart/plugin-kubechart-common';
import { parseYamlLimited } from '../yaml/parseYamlLimited';
import { manifestsRead } from '../yaml/manifestsInTurns';
import {
  MANIFEST_DOCUMENT_LIMITS,
  MANIFEST_REQUEST_LIMITS,
} from '../yaml/limits';
import { Pausable, runAtOnce, runInTurns } from '../yaml/turns';
import {
  MANDATORY_RULE_IDS,
  findException,
  validateExceptions,
} from './exceptions';
import { customResourceIdentityViolation } from './customResources';
import { capMessages } from './messages';
import { builtinPolicyRules } from './rules';
import { validateCrossNamespaceAllowances } from './rules/crossNamespace';
import { indexHostsHeld, normalizeIngressHostDomain } from './rules/hostNames';
import {
  DEFAULT_ALLOWED_INGRESS_ANNOTATIONS,
  ingressHostsOf,
  normalizeAllowedIngressAnnotation,
} from './rules/ingress';
import { DEFAULT_SECRET_KEY_NAMES } from './secrets';
import {
  DEFAULT_DEPLOYER_NAMESPACE,
  DEFAULT_DEPLOYER_SERVICE_ACCOUNT,
  RUN_SCOPE_RULE_ID,
  deployerIdentityViolation,
  deployerTokenSecretNames,
  protectedObjectViolation,
  scopeViolation,
} from './scope';
import {
  KubeObject,
  PolicyCheckOptions,
  PolicyContext,
  PolicyException,
  PolicyRule,
  SecretDetectionOptions,
} from './types';
import {
  VALID_OBJECT_RULE_ID,
  manifestObjects,
  objectProblems,
} from './validity';

/** Options of {@link PolicyEngine}. @public */
export type PolicyEngineOptions = {
  mode?: PolicyMode;
  /**
   * Per rule severity overrides; `off` disables a rule. `run-scope` and `valid-object` cannot be
   * overridden; a rule that blocks in every mode (`alwaysBlocks`: the `rbac-*` rules but
   * `rbac-pod-exec`, the `service-*` rules, `ingress-host`, `ingress-annotations`, `volume-types`) can only be set to `error`.
   */
  severities?: Record<string, PolicySeverity | 'off'>;
  trustedRegistries?: string[];
  allowedServiceTypes?: string[];
  /**
   * Volume types pods may use besides those Pod Security `restricted` allows (configMap, csi,
   * downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret): the
   * `volume-types` rule refuses others (`kubechart.policy.allowedVolumeTypes`, e.g. `nfs`). Default none.
   */
  allowedVolumeTypes?: string[];
  /**
   * The DNS name tenants' ingress hosts go under (`kubechart.policy.ingressHostDomain`, e.g.
   * `apps.example.com`): the `ingress-host` rule then allows an Ingress or route in namespace `team-a`
   * only hosts `team-a.apps.example.com` and names (or wildcards) under it. Default: none.
   */
  ingressHostDomain?: string;
  /**
   * Allow Ingress rules without a host, default backends, TLS entries without hosts, routes without
   * hostnames and, without `ingressHostDomain`, wildcard hosts (`kubechart.policy.allowCatchAllIngress`).
   * Default false: through a shared ingress controller each of them takes other tenants' traffic.
   */
  allowCatchAllIngress?: boolean;
  /**
   * ingress-nginx annotations an Ingress may carry beyond {@link DEFAULT_ALLOWED_INGRESS_ANNOTATIONS}
   * (`kubechart.policy.allowedIngressAnnotations`), each a name (`rewrite-target`) or key
   * (`nginx.ingress.kubernetes.io/rewrite-target`); the `ingress-annotations` rule refuses every other
   * one under those prefixes. Default: none.
   */
  allowedIngressAnnotations?: string[];
  /**
   * Allow Services to name the addresses they take traffic for: `spec.externalIPs` and
   * `spec.loadBalancerIP` (`kubechart.policy.allowServiceExternalIPs`). Default false: the proxy of
   * every node sends traffic for an external IP to the Service, from every pod too, whoever the
   * address belongs to (CVE-2020-8554). For a cluster of one tenant; exempt one Service instead.
   */
  allowServiceExternalIPs?: boolean;
  /**
   * What operators' custom resources may reach past their namespace (`kubechart.policy.allowCrossNamespace`,
   * judged by the `cross-namespace-*` rules): objects of the whole cluster the platform offers to tenants,
   * as `<Kind>.<group>/<name>` or `<Kind>.<group>/*` (`ClusterIssuer.cert-manager.io/letsencrypt`,
   * `ClusterSecretStore.external-secrets.io/tenant-vault`), and forms its operators are set up to make
   * safe (`monitor-namespace-selectors`, `servicemonitor-files`, `argocd-applications`,
   * `flux-default-service-account`, `kyverno-policy-exceptions`). Default: none. Another entry is refused.
   */
  allowCrossNamespace?: string[];
  /** Extra rules (from the extension point). */
  rules?: PolicyRule[];
  /** Exemptions of one rule for one namespace/object, each with a reason. */
  exceptions?: PolicyException[];
  /** Secret names; defaults to {@link DEFAULT_SECRET_KEY_NAMES} and no ignored keys. */
  secrets?: Partial<SecretDetectionOptions>;
  /**
   * The name of KubeChart's deployer (`kubechart.tenant.deployer.serviceAccount`, default
   * `kubechart-deployer`): its RoleBinding in a run's namespace, and the ServiceAccount it deployed as
   * there before deployers moved to `deployerNamespace`. With a scope, the `run-scope` rule refuses a
   * workload that runs as it or is given a token Secret of it, a token Secret for it, the
   * ServiceAccount itself, its RoleBinding and any binding naming it.
   */
  deployerServiceAccount?: string;
  /**
   * The ClusterRole KubeChart's deployer holds in each tenant namespace
   * (`kubechart.tenant.deployer.clusterRole`, default `admin`): `rbac-cluster-admin` refuses a binding
   * of it as it refuses one of `admin`, whatever it is configured to.
   */
  deployerClusterRole?: string;
  /**
   * The namespace of every deployer ServiceAccount (`kubechart.tenant.deployer.namespace`, default
   * `kubechart-deployers`): with a scope, the `run-scope` rule refuses a binding that grants rights to
   * any ServiceAccount of it, or to the group of them all.
   */
  deployerNamespace?: string;
};

/**
 * The most objects one policy check judges, the items of a List each counted (as many as the YAML
 * documents a manifest may hold). More is refused with an `InputError` naming the limit, by
 * {@link PolicyEngine.check}, {@link PolicyEngine.checkInTurns}, {@link PolicyEngine.checkYaml} and
 * {@link parseManifests} given `maxObjects: MAX_POLICY_OBJECTS` (what a policy check parses), so one
 * request cannot occupy the backend. Only a policy check is bounded so: reading a stored or reported
 * manifest (its drift, the secrets to hide of it, the objects to delete) reads all of its objects.
 * @public
 */
export const MAX_POLICY_OBJECTS = 1000;

/** Options of {@link parseManifests}. @public */
export type ParseManifestsOptions = {
  /**
   * Refuse (an `InputLimitError` of `maxObjects`) more objects than this, each item of a List
   * counted (and each entry of the `items` of any other document with them, as helm creates them),
   * as the text is read: what follows the first object over the limit, within a List too, is not
   * read.
   * `MAX_POLICY_OBJECTS` where the objects are for a policy check. Given, the text is also held to
   * {@link MANIFEST_REQUEST_LIMITS} (what a request brings). Default: no limit but the input limits
   * of the YAML itself and {@link MANIFEST_DOCUMENT_LIMITS}.
   */
  maxObjects?: number;
};

/**
 * Parses multi-document YAML into the objects helm (and kubectl) would create from it, reading it as
 * they do: YAML 1.1 (`yes`/`on` are `true`, `0644` is octal), empty documents dropped, the items of a
 * list (a `…List` kind with an `items` array) as objects of their own. Anything else is kept as it
 * is, so the policy reports it (`valid-object`) instead of silently skipping it: a document that is
 * not a mapping, and one with an `items` field that is not such a list (helm would create its items,
 * not the document). Not valid YAML, or over the input limits of `parseYamlLimited`, is an
 * `InputError`; so are more objects than `options.maxObjects`.
 * @public
 */
export function parseManifests(
  text: string,
  options: ParseManifestsOptions = {},
): KubeObject[] {
  // More objects than maxObjects are refused as they are read, before the rest of the text.
  const docs = parseYamlLimited(text, manifestsRead(options));
  return manifestObjects(docs);
}

const MANDATORY_RULES: Record<string, { description: string; fix: string }> = {
  [VALID_OBJECT_RULE_ID]: {
    description:
      'every rendered document is a well-formed Kubernetes object the policy can judge',
    fix: 'Fix the chart template so each document has apiVersion, kind, metadata.name and, for workloads, a pod template with named containers and images; security flags are true or false; items only in a List; no helm release records.',
  },
  [RUN_SCOPE_RULE_ID]: {
    description:
      'every object lands in a namespace the run may write to; cluster-scoped objects only when allowed; no workload holds the identity KubeChart deploys with; no object or hook replaces a tenant resource KubeChart keeps',
    fix: "Remove the object from the chart or manifests (or set its namespace to the run's namespace); cluster-scoped kinds need the platform team to allow them for this cluster; rename an object that has the kind and name of a tenant resource (kubechart-quota, kubechart-limits, kubechart-default-deny, the platform's own); run workloads as their own ServiceAccount, given no token Secret of the deployer.",
  },
};

const refOf = (obj: unknown, index: number): PolicyResult['object'] => {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    return { kind: 'Unknown', name: `document ${index + 1}` };
  const o = obj as KubeObject;
  const md = o.metadata && typeof o.metadata === 'object' ? o.metadata : {};
  return {
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : undefined,
    kind: typeof o.kind === 'string' && o.kind ? o.kind : 'Unknown',
    name:
      typeof md.name === 'string' && md.name
        ? md.name
        : String(md.generateName ?? `document ${index + 1}`),
    namespace: typeof md.namespace === 'string' ? md.namespace : undefined,
  };
};

/**
 * The values (mappings, lists, scalars) of an object over which {@link PolicyEngine.checkInTurns}
 * pauses between the rules judging it: all the rules together cost a smaller object about a
 * millisecond at most, a pause between each two of them would cost more.
 */
const LARGE_OBJECT_VALUES = 1000;

/** Whether `value` holds more than `max` values, itself included; counts no further than that. */
function holdsMoreThan(value: unknown, max: number): boolean {
  let left = max;
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (--left < 0) return true;
    if (!v || typeof v !== 'object') continue;
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      if (pending.length > left) return true;
      pending.push((v as any)[key]);
    }
  }
  return false;
}

/**
 * Checks rendered manifests against the chart policy: every rule on every object it applies to.
 * Two rules guard the run itself and block in every mode: `valid-object` (a document the policy
 * cannot judge is an error, never skipped) and `run-scope` (objects outside the run's scope). Rules
 * with `alwaysBlocks` (the `rbac-*` rules but `rbac-pod-exec`: what rights a chart grants; the
 * `service-*` rules, `ingress-host` and `ingress-annotations`: other tenants' traffic) block in every mode too, and are judged in mode `off`.
 * @public
 */
export class PolicyEngine {
  readonly mode: PolicyMode;
  private readonly severities: Record<string, PolicySeverity | 'off'>;
  private readonly trustedRegistries: string[];
  private readonly allowedServiceTypes: string[];
  private readonly allowedVolumeTypes: string[];
  private readonly ingressHostDomain: string | undefined;
  private readonly allowCatchAllIngress: boolean;
  private readonly allowCrossNamespace: string[];
  private readonly allowedIngressAnnotations: ReadonlySet<string>;
  private readonly allowServiceExternalIPs: boolean;
  private readonly rules: PolicyRule[];
  private readonly exceptions: PolicyException[];
  private readonly secrets: SecretDetectionOptions;
  private readonly deployerServiceAccount: string;
  private readonly deployerClusterRole: string;
  /** The ids of the rules that block in every mode (`PolicyRule.alwaysBlocks`). */
  private readonly alwaysBlocking: Set<string>;
  private readonly deployerNamespace: string;

  /** Reads `kubechart.policy` config. */
  static fromConfig(config: Config, extraRules: PolicyRule[] = []) {
    const c = config.getOptionalConfig('kubechart.policy');
    const sevConfig = c?.getOptionalConfig('rules');
    const severities: Record<string, PolicySeverity | 'off'> = {};
    for (const key of sevConfig?.keys() ?? []) {
      severities[key] = sevConfig!.getString(key) as PolicySeverity | 'off';
    }
    const exceptions = (c?.getOptionalConfigArray('exceptions') ?? []).map(
      e => ({
        rule: e.getString('rule'),
        namespace: e.getOptionalString('namespace'),
        kind: e.getOptionalString('kind'),
        name: e.getOptionalString('name'),
        reason: e.getString('reason'),
      }),
    );
    return new PolicyEngine({
      mode: (c?.getOptionalString('mode') as PolicyMode) ?? 'enforce',
      severities,
      trustedRegistries: c?.getOptionalStringArray('trustedRegistries') ?? [],
      allowedServiceTypes: c?.getOptionalStringArray('allowedServiceTypes'),
      allowedVolumeTypes: c?.getOptionalStringArray('allowedVolumeTypes'),
      ingressHostDomain: c?.getOptionalString('ingressHostDomain'),
      allowCatchAllIngress: c?.getOptionalBoolean('allowCatchAllIngress'),
      allowCrossNamespace: c?.getOptionalStringArray('allowCrossNamespace'),
      allowedIngressAnnotations: c?.getOptionalStringArray(
        'allowedIngressAnnotations',
      ),
      allowServiceExternalIPs: c?.getOptionalBoolean('allowServiceExternalIPs'),
      rules: extraRules,
      exceptions,
      secrets: {
        keyNames: c?.getOptionalStringArray('secrets.keyNames'),
        ignoreKeys: c?.getOptionalStringArray('secrets.ignoreKeys'),
      },
      deployerServiceAccount: config.getOptionalString(
        'kubechart.tenant.deployer.serviceAccount',
      ),
      deployerClusterRole: config.getOptionalString(
        'kubechart.tenant.deployer.clusterRole',
      ),
      deployerNamespace: config.getOptionalString(
        'kubechart.tenant.deployer.namespace',
      ),
    });
  }

  constructor(options: PolicyEngineOptions = {}) {
    this.mode = options.mode ?? 'enforce';
    if (!['enforce', 'warn', 'off'].includes(this.mode)) {
      throw new InputError(
        `Invalid kubechart.policy.mode "${this.mode}"; use enforce, warn or off`,
      );
    }
    this.severities = options.severities ?? {};
    for (const [id, s] of Object.entries(this.severities)) {
      if (MANDATORY_RULE_IDS.includes(id)) {
        throw new InputError(
          `Policy rule ${id} cannot be configured: it always blocks (it guards what a run may write)`,
        );
      }
      if (!['error', 'warning', 'info', 'off'].includes(s)) {
        throw new InputError(`Invalid severity "${s}" for policy rule ${id}`);
      }
    }
    this.trustedRegistries = options.trustedRegistries ?? [];
    // Not ExternalName by default: `web.other-tenant` resolves through the cluster's DNS search path
    // to another namespace's Service, which an Ingress of this tenant would then publish through the
    // shared ingress controller that every tenant's network policy admits.
    this.allowedServiceTypes = options.allowedServiceTypes ?? ['ClusterIP'];
    this.allowedVolumeTypes = options.allowedVolumeTypes ?? [];
    this.ingressHostDomain =
      options.ingressHostDomain === undefined
        ? undefined
        : normalizeIngressHostDomain(options.ingressHostDomain);
    this.allowCatchAllIngress = options.allowCatchAllIngress ?? false;
    this.allowCrossNamespace = validateCrossNamespaceAllowances(
      options.allowCrossNamespace,
    );
    this.allowedIngressAnnotations = new Set([
      ...DEFAULT_ALLOWED_INGRESS_ANNOTATIONS,
      ...(options.allowedIngressAnnotations ?? []).map(
        normalizeAllowedIngressAnnotation,
      ),
    ]);
    this.allowServiceExternalIPs = options.allowServiceExternalIPs ?? false;
    const ids = new Set<string>(MANDATORY_RULE_IDS);
    this.rules = [...builtinPolicyRules, ...(options.rules ?? [])].filter(r => {
      if (ids.has(r.id)) {
        throw new InputError(`Duplicate policy rule id "${r.id}"`);
      }
      ids.add(r.id);
      return true;
    });
    // A trust boundary is not advice: no severity but error, in no mode. A rule's own default is
    // raised to error (see severityOf); config that sets another is refused.
    this.alwaysBlocking = new Set();
    for (const rule of this.rules) {
      if (!rule.alwaysBlocks) continue;
      const configured = this.severities[rule.id];
      if (configured !== undefined && configured !== 'error') {
        throw new InputError(
          `kubechart.policy.rules.${rule.id} cannot be set to ${configured}: policy rule ${rule.id} blocks in every mode (it guards a trust boundary, not advice), so only error is accepted; exempt one object with kubechart.policy.exceptions`,
        );
      }
      this.alwaysBlocking.add(rule.id);
    }
    // A misspelt id meant to tighten a rule would otherwise change nothing, silently.
    for (const id of Object.keys(this.severities)) {
      if (!ids.has(id)) {
        throw new InputError(
          `kubechart.policy.rules.${id} names no policy rule; known rules: ${[
            ...ids,
          ]
            .filter(known => !MANDATORY_RULE_IDS.includes(known))
            .join(', ')}`,
        );
      }
    }
    this.exceptions = validateExceptions(options.exceptions ?? [], [...ids]);
    this.deployerServiceAccount =
      options.deployerServiceAccount ?? DEFAULT_DEPLOYER_SERVICE_ACCOUNT;
    this.deployerClusterRole = options.deployerClusterRole ?? 'admin';
    this.deployerNamespace =
      options.deployerNamespace ?? DEFAULT_DEPLOYER_NAMESPACE;
    this.secrets = {
      keyNames: options.secrets?.keyNames ?? DEFAULT_SECRET_KEY_NAMES,
      ignoreKeys: options.secrets?.ignoreKeys ?? [],
    };
  }

  /** The active rules with their effective severity (the two mandatory rules first). */
  listRules(): Array<{
    id: string;
    severity: PolicySeverity | 'off';
    description: string;
    fix: string;
  }> {
    return [
      ...Object.entries(MANDATORY_RULES).map(([id, r]) => ({
        id,
        severity: 'error' as const,
        ...r,
      })),
      ...this.rules.map(r => ({
        id: r.id,
        severity: this.severityOf(r),
        description: r.description,
        fix: r.fix,
      })),
    ];
  }

  /**
   * Whether a check of `objects` with a scope needs the hosts the cluster's objects hold
   * ({@link PolicyCheckOptions.ingressHostsInUse}): without `ingressHostDomain`, when one of them claims a
   * host. Without them such a check refuses every host (fail closed); a caller reads them only then.
   */
  needsIngressHostsInUse(objects: readonly unknown[]): boolean {
    return (
      this.ingressHostDomain === undefined &&
      objects.some(o => (ingressHostsOf(o as KubeObject)?.length ?? 0) > 0)
    );
  }

  /** Checks a multi-document YAML string. */
  checkYaml(manifests: string, options?: PolicyCheckOptions): PolicyReport {
    return this.check(
      parseManifests(manifests, { maxObjects: MAX_POLICY_OBJECTS }),
      options,
    );
  }

  /**
   * Checks parsed objects (anything that is not a well-formed object is a `valid-object` error), at
   * once: for tests and small inputs. What a request brings or helm renders is checked with
   * {@link PolicyEngine.checkInTurns}.
   */
  check(objects: KubeObject[], options: PolicyCheckOptions = {}): PolicyReport {
    return runAtOnce(this.checking(objects, options));
  }

  /**
   * {@link PolicyEngine.check} with a turn of the event loop before each object and between the rules
   * judging one large object (what the routes and runs use): the same report, and a release of large
   * objects holds the event loop no longer than one rule costs on the largest. Rules that look at
   * other objects (RBAC bindings and roles, PodDisruptionBudgets) still see all of them.
   */
  checkInTurns(
    objects: KubeObject[],
    options: PolicyCheckOptions = {},
  ): Promise<PolicyReport> {
    return runInTurns(this.checking(objects, options));
  }

  /** What {@link PolicyEngine.check} and {@link PolicyEngine.checkInTurns} share, with their pauses. */
  private *checking(
    objects: KubeObject[],
    options: PolicyCheckOptions,
  ): Pausable<PolicyReport> {
    if (objects.length > MAX_POLICY_OBJECTS) {
      throw new InputError(
        `Policy check refused: ${objects.length} objects; a policy check judges at most ${MAX_POLICY_OBJECTS}`,
      );
    }
    const { scope } = options;
    const defaultNamespace = scope ? scope.defaultNamespace : options.namespace;
    const results: PolicyResult[] = [];
    const valid: KubeObject[] = [];
    const invalid = new Set<number>();
    for (const [i, obj] of objects.entries()) {
      if (i > 0) yield undefined;
      const problems = objectProblems(obj);
      if (problems.length) {
        invalid.add(i);
        results.push(
          this.mandatoryResult(
            VALID_OBJECT_RULE_ID,
            refOf(obj, i),
            problems.join('; '),
          ),
        );
      } else {
        valid.push(obj);
      }
    }
    const context: PolicyContext = {
      objects: valid,
      trustedRegistries: this.trustedRegistries,
      allowedServiceTypes: this.allowedServiceTypes,
      allowedVolumeTypes: this.allowedVolumeTypes,
      ingressHostDomain: this.ingressHostDomain,
      allowCatchAllIngress: this.allowCatchAllIngress,
      allowCrossNamespace: this.allowCrossNamespace,
      hostsInUse: this.hostsInUse(options),
      allowedIngressAnnotations: this.allowedIngressAnnotations,
      allowServiceExternalIPs: this.allowServiceExternalIPs,
      secrets: this.secrets,
      namespaceOf: o => o?.metadata?.namespace || defaultNamespace,
      deployerClusterRole: this.deployerClusterRole,
    };
    const deployerTokens = scope
      ? deployerTokenSecretNames(valid, this.deployerServiceAccount)
      : undefined;
    for (const [i, obj] of objects.entries()) {
      if (invalid.has(i)) continue;
      yield undefined;
      const ref = refOf(obj, i);
      if (scope) {
        const why = [
          scopeViolation(obj, scope),
          deployerIdentityViolation(
            obj,
            this.deployerServiceAccount,
            deployerTokens,
            this.deployerNamespace,
          ) ??
            customResourceIdentityViolation(obj, {
              serviceAccount: this.deployerServiceAccount,
              deployerNamespace: this.deployerNamespace,
              namespace: obj.metadata?.namespace || scope.defaultNamespace,
            }),
          protectedObjectViolation(obj, scope),
        ].filter(Boolean);
        results.push(
          this.mandatoryResult(
            RUN_SCOPE_RULE_ID,
            ref,
            why.length ? why.join('; ') : undefined,
          ),
        );
      }
      // One rule may cost tens of milliseconds on one large object (the secret rules on a ConfigMap
      // of tens of thousands of keys): such an object gets a pause between its rules too.
      const large = holdsMoreThan(obj, LARGE_OBJECT_VALUES);
      let judged = false;
      for (const rule of this.rules) {
        // Off judges only the rules that block in every mode.
        if (this.mode === 'off' && !rule.alwaysBlocks) continue;
        const severity = this.severityOf(rule);
        if (severity === 'off') continue;
        if (large && judged) yield undefined;
        judged = true;
        let violations: string[] | undefined;
        try {
          violations = rule.check(obj, context);
        } catch (e) {
          // Fail closed: a rule that cannot judge an object reports it.
          violations = [
            `the rule could not check this object: ${
              (e as Error)?.message ?? String(e)
            }`,
          ];
        }
        if (violations === undefined) continue;
        const result: PolicyResult = {
          ruleId: rule.id,
          severity,
          passed: violations.length === 0,
          object: ref,
          message:
            violations.length === 0
              ? rule.description
              : capMessages(violations).join('; '),
          fix: rule.fix,
        };
        if (!result.passed) {
          const exception = findException(this.exceptions, rule.id, {
            ...ref,
            namespace: context.namespaceOf(obj),
          });
          if (exception) result.exempt = { reason: exception.reason };
        }
        results.push(result);
      }
    }
    const failed = results.filter(r => !r.passed && !r.exempt);
    const errors = failed.filter(r => r.severity === 'error').length;
    const passed = errors === 0;
    const mandatoryFailed = failed.some(
      r =>
        MANDATORY_RULE_IDS.includes(r.ruleId) ||
        this.alwaysBlocking.has(r.ruleId),
    );
    return {
      mode: this.mode,
      passed,
      blocking: mandatoryFailed || (this.mode === 'enforce' && !passed),
      summary: {
        objects: objects.length,
        errors,
        warnings: failed.filter(r => r.severity === 'warning').length,
        infos: failed.filter(r => r.severity === 'info').length,
        exempted: results.filter(r => r.exempt).length,
      },
      results,
    };
  }

  /**
   * What `ingress-host` compares hosts with: without a domain, the hosts in use the check was given
   * (indexed once), else, in a check with a scope (a run), that they were not read (fail closed).
   */
  private hostsInUse(options: PolicyCheckOptions): PolicyContext['hostsInUse'] {
    if (this.ingressHostDomain !== undefined) return undefined;
    const inUse = options.ingressHostsInUse;
    if (inUse === undefined)
      return options.scope
        ? { unreadable: 'they were not read from the cluster for this check' }
        : undefined;
    return 'unreadable' in inUse ? inUse : indexHostsHeld(inUse.hosts);
  }

  /** A rule's severity: config's, else its default; error for a rule that blocks in every mode. */
  private severityOf(rule: PolicyRule): PolicySeverity | 'off' {
    if (this.alwaysBlocking.has(rule.id)) return 'error';
    return this.severities[rule.id] ?? rule.defaultSeverity;
  }

  private mandatoryResult(
    ruleId: string,
    object: PolicyResult['object'],
    violation: string | undefined,
  ): PolicyResult {
    const rule = MANDATORY_RULES[ruleId];
    return {
      ruleId,
      severity: 'error',
      passed: !violation,
      object,
      message: violation ?? rule.description,
      fix: rule.fix,
    };
  }
}

/**
 * A short text of the failed rules of a report, for failure reasons and logs (exempted results left out).
 * @public
 */
export function formatPolicyFailures(
  report: PolicyReport,
  severity: PolicySeverity = 'error',
): string {
  return report.results
    .filter(r => !r.passed && !r.exempt && r.severity === severity)
    .map(
      r =>
        `[${r.ruleId}] ${r.object.kind}/${r.object.name}: ${r.message} — fix: ${r.fix}`,
    )
    .join('\n');
}
