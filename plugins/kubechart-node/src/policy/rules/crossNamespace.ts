import { InputError } from '@backstage/errors';
import { isMapping } from '../podSpec';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
import { groupOf, quote, unset } from './util';

/*
 * Operators' aggregated ClusterRoles add their kinds to `admin` (the deployer's role), so a tenant
 * may create their namespaced custom resources; the RBAC rules see none of what the operator then
 * does with its own rights. These rules judge the fields through which an operator reaches past the
 * namespace of the object, exactly as its CRD lays them out; a field they cannot read is refused.
 */

/**
 * Forms a platform may allow for every tenant in `kubechart.policy.allowCrossNamespace`, once its
 * operators are set up so that they no longer reach other namespaces.
 */
const FORMS = [
  /** The Prometheus serving tenants sets `ignoreNamespaceSelectors: true`. */
  'monitor-namespace-selectors',
  /** The Prometheus serving tenants sets `arbitraryFSAccessThroughSMs.deny: true`. */
  'servicemonitor-files',
  /** Argo CD confines each tenant's namespace to an AppProject of its own. */
  'argocd-applications',
  /** Flux controllers run with `--default-service-account`. */
  'flux-default-service-account',
  /** Kyverno reads PolicyExceptions only from the platform's namespace (`--exceptionNamespace`). */
  'kyverno-policy-exceptions',
] as const;
type Form = (typeof FORMS)[number];

/** `<Kind>.<group>/<name>` or `<Kind>.<group>/*`: an object of the whole cluster a tenant's objects may name. */
const CLUSTER_OBJECT =
  /^[A-Z][A-Za-z0-9]*\.[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/(?:\*|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)$/;

/**
 * `kubechart.policy.allowCrossNamespace`, checked: each entry is a form or an object of the whole
 * cluster (`ClusterIssuer.cert-manager.io/letsencrypt`, `ClusterSecretStore.external-secrets.io/*`);
 * anything else is an `InputError` naming it (a misspelt entry would allow nothing, silently).
 */
export function validateCrossNamespaceAllowances(entries: unknown): string[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries))
    throw new InputError(
      'kubechart.policy.allowCrossNamespace must be a list of strings',
    );
  return entries.map((entry, i) => {
    if (
      typeof entry === 'string' &&
      ((FORMS as readonly string[]).includes(entry) ||
        CLUSTER_OBJECT.test(entry))
    )
      return entry;
    throw new InputError(
      `kubechart.policy.allowCrossNamespace[${i}] ${JSON.stringify(
        String(entry).slice(0, 100),
      )} is neither a form (${FORMS.join(
        ', ',
      )}) nor an object of the whole cluster written <Kind>.<group>/<name> (or /* for every one), e.g. ClusterIssuer.cert-manager.io/letsencrypt`,
    );
  });
}

const allowed = (ctx: PolicyContext, key: string) =>
  ctx.allowCrossNamespace.includes(key) ||
  (key.includes('/') &&
    ctx.allowCrossNamespace.includes(`${key.slice(0, key.indexOf('/'))}/*`));
const allowHint = (key: string) =>
  `allow it with kubechart.policy.allowCrossNamespace "${key}"`;
/** A name of the manifest as a message shows it: as written when it could be a Kubernetes name, else quoted and cut. */
const shown = (text: string) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(text) ? text : quote(text);

/** What one rule found on one object: its messages, in the order of the object. */
class Findings {
  readonly messages: string[] = [];
  constructor(readonly obj: KubeObject, readonly ctx: PolicyContext) {}
  add(message: string) {
    this.messages.push(message);
  }
  unreadable(path: string, what: string) {
    this.add(`${path} is not ${what}: the policy cannot read it`);
  }
  /** A mapping, or undefined when absent; anything else is reported. */
  mapping(value: unknown, path: string): Record<string, any> | undefined {
    if (value === undefined || value === null) return undefined;
    if (isMapping(value)) return value as Record<string, any>;
    this.unreadable(path, 'a mapping');
    return undefined;
  }
  /** The entries of a list (none when absent); anything else is reported. */
  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value;
    this.unreadable(path, 'a list');
    return [];
  }
  /** A string, or undefined when absent or empty; anything else is reported (null). */
  text(value: unknown, path: string): string | undefined | null {
    if (unset(value)) return undefined;
    if (typeof value === 'string') return value;
    this.unreadable(path, 'a string');
    return null;
  }
  /** An object of the whole cluster a field names, refused unless the platform allows it. */
  clusterObject(
    path: string,
    kind: string,
    group: string,
    name: string | undefined,
    why: string,
  ) {
    const key = `${kind}.${group}/${name === undefined ? '*' : shown(name)}`;
    if (allowed(this.ctx, key)) return;
    const names = name
      ? `names ${kind} ${shown(name)}`
      : `names a ${kind} without a name`;
    this.add(`${path} ${names}: ${why}; ${allowHint(key)}`);
  }
  /** A form, refused unless the platform allows it. */
  form(form: Form, message: string, when = '') {
    if (!this.ctx.allowCrossNamespace.includes(form))
      this.add(`${message}; ${allowHint(form)}${when}`);
  }
  /** A field naming a namespace, refused unless it is the object's own. */
  namespace(value: unknown, path: string) {
    const named = this.text(value, path);
    if (typeof named !== 'string') return;
    const own = this.ctx.namespaceOf(this.obj);
    if (named !== own)
      this.add(
        `${path} names namespace ${shown(named)}, not ${
          own ?? 'the namespace of the object (which is not known here)'
        }`,
      );
  }
}

/** A rule judging the objects of the given kinds, by API group. */
function crossNamespaceRule(
  rule: Omit<PolicyRule, 'check' | 'defaultSeverity' | 'alwaysBlocks'>,
  judges: Record<string, string[]>,
  judge: (f: Findings, obj: KubeObject, group: string) => void,
): PolicyRule {
  return {
    ...rule,
    defaultSeverity: 'error',
    // Another tenant's secrets, traffic or namespace: a trust boundary, not advice.
    alwaysBlocks: true,
    check: (obj, ctx) => {
      const group = groupOf(obj.apiVersion);
      const kinds = judges[group];
      if (!kinds?.includes(String(obj.kind))) return undefined;
      const findings = new Findings(obj, ctx);
      judge(findings, obj, group);
      return findings.messages;
    },
  };
}

// External Secrets and KEDA.

const ESO = 'external-secrets.io';
const ESO_GENERATORS = 'generators.external-secrets.io';
const STORE_WHY =
  "a store of the whole cluster, whose credentials reach other tenants' secrets too";

/** A `secretStoreRef`/`storeRef` (`name`, `kind`: SecretStore by default, or ClusterSecretStore). */
function storeRef(f: Findings, value: unknown, path: string) {
  const ref = f.mapping(value, path);
  if (!ref) return;
  const kind = f.text(ref.kind, `${path}.kind`);
  const name = f.text(ref.name, `${path}.name`);
  if (kind === null || name === null || kind === undefined) return;
  if (kind === 'SecretStore') return;
  if (kind !== 'ClusterSecretStore') {
    f.add(
      `${path}.kind is ${quote(
        kind,
      )}, which the policy does not know: give SecretStore or ClusterSecretStore`,
    );
    return;
  }
  if (ref.labelSelector !== undefined && name === undefined) {
    const key = `ClusterSecretStore.${ESO}/*`;
    if (!allowed(f.ctx, key))
      f.add(
        `${path} selects ClusterSecretStores by label: stores of the whole cluster, whose credentials reach other tenants' secrets too; ${allowHint(
          key,
        )}`,
      );
    return;
  }
  f.clusterObject(path, 'ClusterSecretStore', ESO, name, STORE_WHY);
}

/** A `generatorRef`: only `ClusterGenerator` is of the whole cluster; every other generator kind is of the namespace. */
function generatorRef(f: Findings, value: unknown, path: string) {
  const ref = f.mapping(value, path);
  if (!ref) return;
  const name = f.text(ref.name, `${path}.name`);
  if (f.text(ref.kind, `${path}.kind`) !== 'ClusterGenerator' || name === null)
    return;
  f.clusterObject(
    path,
    'ClusterGenerator',
    ESO_GENERATORS,
    name,
    "a generator of the whole cluster, which makes credentials with the platform's own",
  );
}

function judgeSecrets(f: Findings, obj: KubeObject, group: string) {
  const spec = f.mapping(obj.spec, 'spec') ?? {};
  if (group === 'keda.sh') {
    f.list(spec.triggers, 'spec.triggers').forEach((t, i) => {
      const path = `spec.triggers[${i}].authenticationRef`;
      const trigger = f.mapping(t, `spec.triggers[${i}]`);
      const ref = f.mapping(trigger?.authenticationRef, path);
      if (!ref) return;
      const kind = f.text(ref.kind, `${path}.kind`);
      const name = f.text(ref.name, `${path}.name`);
      if (kind === null || name === null) return;
      if (kind === undefined || kind === 'TriggerAuthentication') return;
      if (kind !== 'ClusterTriggerAuthentication') {
        f.add(
          `${path}.kind is ${quote(
            kind,
          )}, which the policy does not know: give TriggerAuthentication or ClusterTriggerAuthentication`,
        );
        return;
      }
      f.clusterObject(
        path,
        'ClusterTriggerAuthentication',
        'keda.sh',
        name,
        "a trigger authentication of the whole cluster, whose credentials reach other tenants' queues and metrics too",
      );
    });
    return;
  }
  if (obj.kind === 'PushSecret') {
    f.list(spec.secretStoreRefs, 'spec.secretStoreRefs').forEach((r, i) =>
      storeRef(f, r, `spec.secretStoreRefs[${i}]`),
    );
    const selector = f.mapping(spec.selector, 'spec.selector');
    generatorRef(f, selector?.generatorRef, 'spec.selector.generatorRef');
    return;
  }
  storeRef(f, spec.secretStoreRef, 'spec.secretStoreRef');
  for (const field of ['data', 'dataFrom']) {
    f.list(spec[field], `spec.${field}`).forEach((entry, i) => {
      const at = `spec.${field}[${i}]`;
      const sourceRef = f.mapping(
        f.mapping(entry, at)?.sourceRef,
        `${at}.sourceRef`,
      );
      if (!sourceRef) return;
      storeRef(f, sourceRef.storeRef, `${at}.sourceRef.storeRef`);
      generatorRef(f, sourceRef.generatorRef, `${at}.sourceRef.generatorRef`);
    });
  }
}

// The Prometheus operator.

/** Relabeling actions that write a label (`targetLabel`, or label names for `labelmap`), and those that do not. */
const WRITING_ACTIONS = ['replace', 'hashmod', 'lowercase', 'uppercase'];
const OTHER_ACTIONS = [
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'labeldrop',
  'labelkeep',
];

/** `namespaceSelector` (`any`, `matchNames`): Prometheus reads the object's own namespace unless it says otherwise. */
function namespaceSelector(f: Findings, value: unknown, path: string) {
  const selector = f.mapping(value, path);
  if (!selector) return;
  if (f.ctx.allowCrossNamespace.includes('monitor-namespace-selectors')) return;
  const any = selector.any;
  if (any === true) {
    f.add(
      `${path}.any is true: Prometheus would scrape the matching targets of every namespace, other tenants' included`,
    );
    return;
  }
  if (any !== undefined && any !== null && any !== false) {
    f.unreadable(`${path}.any`, 'true or false');
    return;
  }
  const own = f.ctx.namespaceOf(f.obj);
  const others = f
    .list(selector.matchNames, `${path}.matchNames`)
    .map((n, i) => f.text(n, `${path}.matchNames[${i}]`))
    .filter((n): n is string | undefined => n !== null)
    .map(n => (n === undefined ? '""' : shown(n)))
    .filter(n => n !== own);
  if (others.length)
    f.add(
      `${path}.matchNames names namespaces ${others.join(
        ', ',
      )}: Prometheus would scrape their targets; a monitor may only select its own namespace, ${
        own ?? 'which is not known here'
      }`,
    );
}

/** `relabelings` run before the scrape: what writes `__address__` decides which address Prometheus scrapes. */
function relabelings(f: Findings, value: unknown, path: string) {
  f.list(value, path).forEach((r, i) => {
    const at = `${path}[${i}]`;
    const relabel = f.mapping(r, at);
    if (!relabel) return;
    const written = f.text(relabel.action, `${at}.action`);
    if (written === null) return;
    const action = (written ?? 'replace').toLowerCase();
    if (action === 'labelmap') {
      f.add(
        `${at} is a labelmap: before the scrape it could write __address__ from label names, and Prometheus would scrape whatever address that makes`,
      );
      return;
    }
    if (OTHER_ACTIONS.includes(action)) return;
    if (!WRITING_ACTIONS.includes(action)) {
      f.add(
        `${at}.action is ${quote(
          written ?? 'replace',
        )}, which the policy does not know`,
      );
      return;
    }
    const target = f.text(relabel.targetLabel, `${at}.targetLabel`);
    if (typeof target !== 'string') return;
    if (target === '__address__')
      f.add(
        `${at} writes __address__: Prometheus would scrape whatever address it makes, other tenants' pods included`,
      );
    else if (target.includes('$'))
      f.add(
        `${at} writes the label its regex match names, ${quote(
          target,
        )}, which could be __address__`,
      );
  });
}

/** Fields of a ServiceMonitor endpoint that name a file of the Prometheus server (`bearerTokenFile`, `tlsConfig.keyFile`, …). */
function fileFields(value: unknown, path: string, out: string[]) {
  // Depth first, in the order of the object; each mapping once (YAML aliases share them).
  const stack: Array<{ value: unknown; path: string; file?: boolean }> = [
    { value, path },
  ];
  const seen = new Set<object>();
  while (stack.length) {
    const { value: v, path: p, file } = stack.pop()!;
    if (file) {
      out.push(p);
      continue;
    }
    if (!isMapping(v) || seen.has(v as object)) continue;
    seen.add(v as object);
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      stack.push({
        value: child,
        path: `${p}.${key}`,
        file: key.endsWith('File') && !unset(child),
      });
    }
  }
}

function judgeMonitoring(f: Findings, obj: KubeObject) {
  const spec = f.mapping(obj.spec, 'spec') ?? {};
  if (obj.kind === 'ScrapeConfig') {
    f.add(
      'a ScrapeConfig names the targets Prometheus scrapes itself (static addresses, service discovery of any namespace, files of the Prometheus server): addresses the policy cannot tie to the namespace',
    );
    return;
  }
  if (obj.kind === 'Probe') {
    f.add(
      'a Probe has Prometheus scrape the prober it names (spec.prober.url) for the targets it names: addresses the policy cannot tie to the namespace',
    );
    const ingress = f.mapping(
      f.mapping(spec.targets, 'spec.targets')?.ingress,
      'spec.targets.ingress',
    );
    namespaceSelector(
      f,
      ingress?.namespaceSelector,
      'spec.targets.ingress.namespaceSelector',
    );
    return;
  }
  namespaceSelector(f, spec.namespaceSelector, 'spec.namespaceSelector');
  const field = obj.kind === 'PodMonitor' ? 'podMetricsEndpoints' : 'endpoints';
  const files: string[] = [];
  f.list(spec[field], `spec.${field}`).forEach((e, i) => {
    const at = `spec.${field}[${i}]`;
    const endpoint = f.mapping(e, at);
    if (!endpoint) return;
    relabelings(f, endpoint.relabelings, `${at}.relabelings`);
    if (obj.kind === 'ServiceMonitor') fileFields(endpoint, at, files);
  });
  if (
    files.length &&
    !f.ctx.allowCrossNamespace.includes('servicemonitor-files')
  )
    f.add(
      `${files.join(
        ', ',
      )} read files of the Prometheus server (its ServiceAccount token, its keys), which Prometheus would send to the target; use bearerTokenSecret, authorization or tlsConfig's Secret references of your own namespace`,
    );
}

// cert-manager.

const CERT_MANAGER = 'cert-manager.io';
const ISSUER_WHY =
  'an issuer of the whole cluster, which signs certificates for names other tenants use too';

/** An issuer by name, kind (Issuer by default) and group (cert-manager.io by default). */
function issuer(
  f: Findings,
  path: string,
  kindPath: string,
  name: string | undefined,
  kind: string | undefined,
  group: string | undefined,
) {
  const g = group ?? CERT_MANAGER;
  const k = kind ?? 'Issuer';
  if (g !== CERT_MANAGER) {
    const key = `${shown(k)}.${shown(g)}/${
      name === undefined ? '*' : shown(name)
    }`;
    if (!allowed(f.ctx, key))
      f.add(
        `${path} names ${k} ${
          name ?? '(no name)'
        } of group ${g}: the policy cannot tell whether that issuer is of the namespace or of the whole cluster; ${allowHint(
          key,
        )}`,
      );
    return;
  }
  if (k === 'Issuer') return;
  if (k !== 'ClusterIssuer') {
    f.add(
      `${kindPath} is ${quote(
        k,
      )}, which the policy does not know: give Issuer or ClusterIssuer`,
    );
    return;
  }
  f.clusterObject(path, 'ClusterIssuer', CERT_MANAGER, name, ISSUER_WHY);
}

function judgeCertificates(f: Findings, obj: KubeObject, group: string) {
  if (group === CERT_MANAGER) {
    const spec = f.mapping(obj.spec, 'spec') ?? {};
    const ref = f.mapping(spec.issuerRef, 'spec.issuerRef');
    if (!ref) return;
    const name = f.text(ref.name, 'spec.issuerRef.name');
    const kind = f.text(ref.kind, 'spec.issuerRef.kind');
    const issuerGroup = f.text(ref.group, 'spec.issuerRef.group');
    if (name !== null && kind !== null && issuerGroup !== null)
      issuer(
        f,
        'spec.issuerRef',
        'spec.issuerRef.kind',
        name,
        kind,
        issuerGroup,
      );
    return;
  }
  // An Ingress or Gateway: cert-manager makes a Certificate from its annotations.
  const annotations = isMapping(obj.metadata?.annotations)
    ? (obj.metadata!.annotations as Record<string, unknown>)
    : {};
  const note = (key: string) =>
    f.text(
      annotations[`${CERT_MANAGER}/${key}`],
      `annotation ${CERT_MANAGER}/${key}`,
    );
  const cluster = note('cluster-issuer');
  if (typeof cluster === 'string')
    f.clusterObject(
      `annotation ${CERT_MANAGER}/cluster-issuer`,
      'ClusterIssuer',
      CERT_MANAGER,
      cluster,
      ISSUER_WHY,
    );
  const named = note('issuer');
  const kind = note('issuer-kind');
  const issuerGroup = note('issuer-group');
  if (named === null || kind === null || issuerGroup === null) return;
  if (named !== undefined || kind !== undefined || issuerGroup !== undefined)
    issuer(
      f,
      `annotation ${CERT_MANAGER}/issuer`,
      `annotation ${CERT_MANAGER}/issuer-kind`,
      named,
      kind,
      issuerGroup,
    );
}

// Argo CD and Flux.

const FLUX_NAMESPACE_FIELDS: Record<string, string[]> = {
  Kustomization: [
    'targetNamespace',
    'sourceRef.namespace',
    'dependsOn[].namespace',
    'healthChecks[].namespace',
  ],
  HelmRelease: [
    'targetNamespace',
    'storageNamespace',
    'chart.spec.sourceRef.namespace',
    'chartRef.namespace',
    'dependsOn[].namespace',
  ],
  Alert: ['eventSources[].namespace'],
  Receiver: ['resources[].namespace'],
  ImagePolicy: ['imageRepositoryRef.namespace'],
  ImageUpdateAutomation: ['sourceRef.namespace'],
};

/** The values at a path of `spec` (`dependsOn[].namespace`: each entry's), with their paths; what it cannot walk is reported. */
function valuesAt(
  f: Findings,
  spec: Record<string, any>,
  path: string,
): Array<{ value: unknown; path: string }> {
  let at: Array<{ value: unknown; path: string }> = [
    { value: spec, path: 'spec' },
  ];
  const parts = path.split('.');
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const key = part.endsWith('[]') ? part.slice(0, -2) : part;
    const next: typeof at = [];
    for (const { value, path: p } of at) {
      const mapping = f.mapping(value, p);
      if (!mapping) continue;
      const child = { value: mapping[key], path: `${p}.${key}` };
      if (part.endsWith('[]'))
        f.list(child.value, child.path).forEach((v, j) =>
          next.push({ value: v, path: `${child.path}[${j}]` }),
        );
      else if (last || (child.value !== undefined && child.value !== null))
        next.push(child);
    }
    at = next;
  });
  return at;
}

function judgeGitops(f: Findings, obj: KubeObject, group: string) {
  if (group === 'argoproj.io') {
    f.form(
      'argocd-applications',
      `an Argo CD ${obj.kind} deploys what its source holds with Argo CD's own rights, into the namespaces its destination and its manifests name`,
    );
    return;
  }
  const spec = f.mapping(obj.spec, 'spec') ?? {};
  const kind = String(obj.kind);
  if (
    (kind === 'Kustomization' || kind === 'HelmRelease') &&
    f.text(spec.serviceAccountName, 'spec.serviceAccountName') === undefined
  )
    f.form(
      'flux-default-service-account',
      'spec.serviceAccountName is not set: the controller would apply with its own ServiceAccount, which may write to every namespace',
      ' when the controllers run with --default-service-account',
    );
  for (const path of FLUX_NAMESPACE_FIELDS[kind] ?? [])
    for (const { value, path: p } of valuesAt(f, spec, path))
      f.namespace(value, p);
}

/**
 * Namespaced custom resources of common operators through which the operator reaches other
 * namespaces with its own rights. They block in every mode; `kubechart.policy.allowCrossNamespace`
 * allows named objects of the whole cluster and forms a platform has made safe.
 */
export const crossNamespaceRules: PolicyRule[] = [
  crossNamespaceRule(
    {
      id: 'cross-namespace-secrets',
      description:
        'External Secrets and KEDA objects use stores, generators and trigger authentications of their own namespace',
      fix: 'Read and push secrets through a SecretStore of your own namespace (its credentials yours), use generators and TriggerAuthentications of the namespace; a ClusterSecretStore, ClusterGenerator or ClusterTriggerAuthentication the platform offers to tenants is allowed by name in kubechart.policy.allowCrossNamespace.',
    },
    {
      [ESO]: ['ExternalSecret', 'PushSecret'],
      'keda.sh': ['ScaledObject', 'ScaledJob'],
    },
    judgeSecrets,
  ),
  crossNamespaceRule(
    {
      id: 'cross-namespace-monitoring',
      description:
        'Prometheus operator monitors scrape only their own namespace, at the addresses Prometheus discovers there',
      fix: 'Leave out namespaceSelector (or list only your own namespace), relabelings that write __address__ or labelmap before the scrape, and file fields of ServiceMonitor endpoints; Probes and ScrapeConfigs belong to the platform team. A platform whose Prometheus ignores namespace selectors or denies file access allows those forms in kubechart.policy.allowCrossNamespace.',
    },
    {
      'monitoring.coreos.com': [
        'ServiceMonitor',
        'PodMonitor',
        'Probe',
        'ScrapeConfig',
      ],
    },
    judgeMonitoring,
  ),
  crossNamespaceRule(
    {
      id: 'cross-namespace-certificates',
      description:
        'cert-manager certificates (and the Ingress and Gateway annotations they are made from) are issued by an Issuer of their own namespace',
      fix: 'Issue certificates with an Issuer of your own namespace; a ClusterIssuer the platform offers to tenants is allowed by name in kubechart.policy.allowCrossNamespace (ClusterIssuer.cert-manager.io/<name>).',
    },
    {
      [CERT_MANAGER]: ['Certificate', 'CertificateRequest'],
      'networking.k8s.io': ['Ingress'],
      extensions: ['Ingress'],
      'gateway.networking.k8s.io': ['Gateway'],
    },
    judgeCertificates,
  ),
  crossNamespaceRule(
    {
      id: 'cross-namespace-gitops',
      description:
        'Flux objects apply as a ServiceAccount of their namespace and name no other namespace; no Argo CD Applications',
      fix: 'Set spec.serviceAccountName on Kustomizations and HelmReleases, keep their target, storage, source, dependency and health check namespaces (and those of Alerts, Receivers and image automation) your own; deploy through KubeChart rather than an Argo CD Application, or have the platform allow the form in kubechart.policy.allowCrossNamespace.',
    },
    {
      'argoproj.io': ['Application', 'ApplicationSet'],
      'kustomize.toolkit.fluxcd.io': ['Kustomization'],
      'helm.toolkit.fluxcd.io': ['HelmRelease'],
      'notification.toolkit.fluxcd.io': ['Alert', 'Receiver'],
      'image.toolkit.fluxcd.io': ['ImagePolicy', 'ImageUpdateAutomation'],
    },
    judgeGitops,
  ),
  crossNamespaceRule(
    {
      id: 'cross-namespace-policy-exceptions',
      description:
        "no Kyverno PolicyException exempts objects from the platform's policies",
      fix: 'Ask the platform team for the exception; it keeps them in its own namespace.',
    },
    {
      'kyverno.io': ['PolicyException'],
      'policies.kyverno.io': ['PolicyException'],
    },
    f =>
      f.form(
        'kyverno-policy-exceptions',
        "a Kyverno PolicyException exempts the resources it matches, in any namespace, from the platform's policies",
        " when Kyverno reads exceptions only from the platform's namespace",
      ),
  ),
];
