import { Admission } from './api';
import { defaultCoreEvent } from './eventsV1';
import {
  applyLimitRangeDefaults,
  defaultLimitRangeItems,
  enforceLimitRanges,
} from './limitRanger';
import { validateLimitRange, validateResourceQuota } from './resourceLists';
import { formatQuantity, parseQuantity } from './quantity';
import { PodSecurityAdmission, PodSecurityAttributes } from './podSecurity';
import { mountServiceAccountToken } from './serviceAccountToken';
import { ResourceRegistry, ResourceType } from './resources';
import { selectorObjectToRequirements, matchesLabels } from './selectors';
import { errors } from './status';
import { Store } from './store';
import { deepEqual, isPlainObject, KubeObject } from './types';

type Cause = { field: string; message: string; reason?: string };

function defaultContainer(c: any) {
  if (!isPlainObject(c)) return;
  c.resources = c.resources ?? {};
  c.terminationMessagePath = c.terminationMessagePath ?? '/dev/termination-log';
  c.terminationMessagePolicy = c.terminationMessagePolicy ?? 'File';
  if (!c.imagePullPolicy) {
    const image = String(c.image ?? '');
    const tag = image.includes('@')
      ? 'digest'
      : image.split('/').pop()!.split(':')[1];
    c.imagePullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  for (const p of c.ports ?? []) {
    if (isPlainObject(p)) p.protocol = p.protocol ?? 'TCP';
  }
}

/** Pod spec defaults, as the API server fills them in. */
export function defaultPodSpec(spec: any, inTemplate: boolean) {
  if (!isPlainObject(spec)) return;
  spec.restartPolicy = spec.restartPolicy ?? 'Always';
  spec.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds ?? 30;
  spec.dnsPolicy = spec.dnsPolicy ?? 'ClusterFirst';
  spec.securityContext = spec.securityContext ?? {};
  spec.schedulerName = spec.schedulerName ?? 'default-scheduler';
  if (!inTemplate) {
    spec.serviceAccountName =
      spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
    spec.serviceAccount = spec.serviceAccountName;
    spec.priority = spec.priority ?? 0;
    spec.enableServiceLinks = spec.enableServiceLinks ?? true;
    spec.preemptionPolicy = spec.preemptionPolicy ?? 'PreemptLowerPriority';
    spec.tolerations = spec.tolerations ?? [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ];
  }
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
  ]) {
    defaultContainer(c);
    // SetDefaults_Pod (pods only, not templates): a limit without a request is the request too.
    if (!inTemplate && isPlainObject(c) && isPlainObject(c.resources?.limits)) {
      const limits = c.resources.limits;
      const requests = isPlainObject(c.resources.requests)
        ? c.resources.requests
        : {};
      for (const [k, v] of Object.entries(limits)) {
        if (!(k in requests)) requests[k] = v;
      }
      if (Object.keys(requests).length) c.resources.requests = requests;
    }
  }
}

function defaultTemplate(spec: any) {
  if (!isPlainObject(spec?.template)) return;
  spec.template.metadata = spec.template.metadata ?? {};
  if (spec.template.metadata.creationTimestamp === undefined) {
    spec.template.metadata.creationTimestamp = null;
  }
  defaultPodSpec(spec.template.spec, true);
}

/** A container's requests or limits, per resource name (a limit without a request being the request too). */
function containerResources(c: any, which: 'requests' | 'limits') {
  const res = c?.resources ?? {};
  const values =
    which === 'requests'
      ? { ...(res.limits ?? {}), ...(res.requests ?? {}) }
      : res.limits ?? {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) {
    const q = parseQuantity(v);
    if (!Number.isNaN(q)) out[k] = q;
  }
  return out;
}

/**
 * The requests or limits of a pod, per resource name, as quota and the scheduler count them: the sum over its
 * containers, or the largest init container where that asks more (init containers run one at a time, first).
 */
export function podResources(pod: KubeObject, which: 'requests' | 'limits') {
  const out: Record<string, number> = {};
  for (const c of pod.spec?.containers ?? []) {
    for (const [k, q] of Object.entries(containerResources(c, which)))
      out[k] = (out[k] ?? 0) + q;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    for (const [k, q] of Object.entries(containerResources(c, which)))
      out[k] = Math.max(out[k] ?? 0, q);
  }
  return out;
}

function qosClass(pod: KubeObject): string {
  const containers: any[] = pod.spec?.containers ?? [];
  const anySet = containers.some(
    c =>
      Object.keys(c?.resources?.requests ?? {}).length ||
      Object.keys(c?.resources?.limits ?? {}).length,
  );
  if (!anySet) return 'BestEffort';
  const guaranteed = containers.every(c => {
    const l = c?.resources?.limits ?? {};
    const r = { ...l, ...(c?.resources?.requests ?? {}) };
    return (
      l.cpu !== undefined &&
      l.memory !== undefined &&
      parseQuantity(l.cpu) === parseQuantity(r.cpu) &&
      parseQuantity(l.memory) === parseQuantity(r.memory)
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

let serviceIpCounter = 1;

function formatUsage(resources: string[], values: Record<string, number>) {
  return resources
    .map(r => `${r}=${formatQuantity(r, values[r] ?? 0)}`)
    .join(',');
}

/** What an object counts against a ResourceQuota. */
export function quotaUsage(
  type: ResourceType,
  obj: KubeObject,
): Record<string, number> {
  const plural = type.group ? `${type.plural}.${type.group}` : type.plural;
  const usage: Record<string, number> = { [`count/${plural}`]: 1 };
  if (!type.group) {
    if (type.plural === 'pods') {
      // `count/pods` counts every pod stored; the rest only those not finished.
      const phase = obj.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return usage;
      usage.pods = 1;
      const req = podResources(obj, 'requests');
      const lim = podResources(obj, 'limits');
      for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
        if (req[r] !== undefined) {
          usage[`requests.${r}`] = req[r];
          usage[r] = req[r];
        }
        if (lim[r] !== undefined) usage[`limits.${r}`] = lim[r];
      }
    } else if (type.plural === 'services') {
      usage.services = 1;
      const t = obj.spec?.type;
      if (t === 'LoadBalancer') usage['services.loadbalancers'] = 1;
      if (t === 'NodePort' || t === 'LoadBalancer') {
        usage['services.nodeports'] = (obj.spec?.ports ?? []).length;
      }
    } else if (type.plural === 'persistentvolumeclaims') {
      usage.persistentvolumeclaims = 1;
      const s = parseQuantity(obj.spec?.resources?.requests?.storage);
      if (!Number.isNaN(s)) usage['requests.storage'] = s;
    } else if (
      [
        'configmaps',
        'secrets',
        'resourcequotas',
        'replicationcontrollers',
      ].includes(type.plural)
    ) {
      usage[type.plural] = 1;
    }
  }
  return usage;
}

/** The quota resources every container of a pod must state (podEvaluator's validationSet). */
const STATED_POD_RESOURCES = [
  'cpu',
  'memory',
  'requests.cpu',
  'requests.memory',
  'limits.cpu',
  'limits.memory',
];

/**
 * What a quota counting `hard` needs each container and init container of a pod to state and some do not
 * (podEvaluator.Constraints): `limits.cpu for: init,side; requests.memory for: init`, or undefined.
 */
function missingPodResources(
  pod: KubeObject,
  hard: string[],
): string | undefined {
  const required = hard.filter(r => STATED_POD_RESOURCES.includes(r));
  if (required.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  const containers = [
    ...(Array.isArray(pod.spec?.containers) ? pod.spec.containers : []),
    ...(Array.isArray(pod.spec?.initContainers) ? pod.spec.initContainers : []),
  ];
  for (const c of containers) {
    const requests = isPlainObject(c?.resources?.requests)
      ? c.resources.requests
      : {};
    const limits = isPlainObject(c?.resources?.limits)
      ? c.resources.limits
      : {};
    const stated = new Set<string>();
    for (const r of ['cpu', 'memory']) {
      if (r in requests) stated.add(r).add(`requests.${r}`);
      if (r in limits) stated.add(`limits.${r}`);
    }
    for (const r of required) {
      if (stated.has(r)) continue;
      if (!missing.has(r)) missing.set(r, new Set());
      missing.get(r)!.add(String(c?.name ?? ''));
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing.keys()]
    .sort()
    .map(r => `${r} for: ${[...missing.get(r)!].sort().join(',')}`)
    .join('; ');
}

export interface QuotaTotals {
  used: Record<string, number>;
}

/**
 * The API server's built-in admission and per-kind strategies: defaults, validation,
 * namespace lifecycle, LimitRange defaults, Pod Security admission and ResourceQuota enforcement.
 */
export class BuiltinAdmission implements Admission {
  private readonly podSecurity: PodSecurityAdmission;

  constructor(
    private readonly store: Store,
    private readonly registry: ResourceRegistry,
  ) {
    this.podSecurity = new PodSecurityAdmission(store, registry);
  }

  private core(plural: string) {
    return this.registry.find('', 'v1', plural)!;
  }

  defaults(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): void {
    const key = type.group ? `${type.plural}.${type.group}` : type.plural;
    const spec = obj.spec;
    switch (key) {
      case 'namespaces':
        obj.metadata.labels = {
          ...(obj.metadata.labels ?? {}),
          'kubernetes.io/metadata.name': obj.metadata.name!,
        };
        obj.spec = {
          finalizers: ['kubernetes'],
          ...(isPlainObject(spec) ? spec : {}),
        };
        // The phase follows the deletion; the namespace controller's deletion conditions are kept.
        obj.status = {
          phase: obj.metadata.deletionTimestamp ? 'Terminating' : 'Active',
          ...(isPlainObject(obj.status) &&
          obj.metadata.deletionTimestamp &&
          Array.isArray(obj.status.conditions)
            ? { conditions: obj.status.conditions }
            : {}),
        };
        break;
      case 'pods':
        if (!isPlainObject(spec)) break;
        defaultPodSpec(spec, false);
        // LimitRanger's defaults, after the pod's own (a container's limit is already its request); pods only
        // on create, as their containers cannot change afterwards.
        if (!old) applyLimitRangeDefaults(obj, this.limitRangesIn(obj));
        if (!old) {
          mountServiceAccountToken(
            obj,
            this.store.get(
              this.core('serviceaccounts'),
              obj.metadata.namespace,
              spec.serviceAccountName,
            ),
          );
        }
        if (!old) obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
        break;
      case 'events':
        defaultCoreEvent(obj);
        break;
      case 'limitranges':
        defaultLimitRangeItems(obj);
        break;
      case 'secrets':
        obj.type = obj.type ?? 'Opaque';
        if (isPlainObject(obj.stringData)) {
          obj.data = { ...(obj.data ?? {}) };
          for (const [k, v] of Object.entries(obj.stringData)) {
            obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
          }
          delete obj.stringData;
        }
        break;
      case 'services': {
        if (!isPlainObject(spec)) obj.spec = {};
        const s = obj.spec;
        s.type = s.type ?? 'ClusterIP';
        s.sessionAffinity = s.sessionAffinity ?? 'None';
        if (s.type !== 'ExternalName') {
          if (!s.clusterIP) {
            s.clusterIP =
              old?.spec?.clusterIP ??
              `10.96.${(serviceIpCounter >> 8) & 255}.${
                serviceIpCounter++ & 255
              }`;
          }
          s.clusterIPs = s.clusterIPs ?? [s.clusterIP];
          s.ipFamilies = s.ipFamilies ?? ['IPv4'];
          s.ipFamilyPolicy = s.ipFamilyPolicy ?? 'SingleStack';
          s.internalTrafficPolicy = s.internalTrafficPolicy ?? 'Cluster';
        }
        for (const p of s.ports ?? []) {
          if (!isPlainObject(p)) continue;
          p.protocol = p.protocol ?? 'TCP';
          p.targetPort = p.targetPort ?? p.port;
        }
        // LoadBalancerStatus is a value struct: `loadBalancer: {}` even on a ClusterIP Service (delete/06-*).
        obj.status = {
          loadBalancer: {},
          ...(isPlainObject(obj.status) ? obj.status : {}),
        };
        break;
      }
      case 'deployments.apps':
        if (!isPlainObject(spec)) break;
        spec.replicas = spec.replicas ?? 1;
        // As SetDefaults_Deployment: an empty `strategy: {}` (what kubectl sends) is defaulted field by field.
        spec.strategy = isPlainObject(spec.strategy) ? spec.strategy : {};
        spec.strategy.type = spec.strategy.type || 'RollingUpdate';
        if (spec.strategy.type === 'RollingUpdate') {
          const ru = isPlainObject(spec.strategy.rollingUpdate)
            ? spec.strategy.rollingUpdate
            : {};
          ru.maxUnavailable = ru.maxUnavailable ?? '25%';
          ru.maxSurge = ru.maxSurge ?? '25%';
          spec.strategy.rollingUpdate = ru;
        }
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10;
        spec.progressDeadlineSeconds = spec.progressDeadlineSeconds ?? 600;
        defaultTemplate(spec);
        break;
      case 'replicasets.apps':
        if (!isPlainObject(spec)) break;
        spec.replicas = spec.replicas ?? 1;
        defaultTemplate(spec);
        break;
      case 'statefulsets.apps':
        if (!isPlainObject(spec)) break;
        spec.replicas = spec.replicas ?? 1;
        spec.podManagementPolicy = spec.podManagementPolicy ?? 'OrderedReady';
        spec.updateStrategy = isPlainObject(spec.updateStrategy)
          ? spec.updateStrategy
          : {};
        if (!spec.updateStrategy.type) {
          spec.updateStrategy.type = 'RollingUpdate';
          spec.updateStrategy.rollingUpdate =
            spec.updateStrategy.rollingUpdate ?? {};
        }
        if (
          spec.updateStrategy.type === 'RollingUpdate' &&
          isPlainObject(spec.updateStrategy.rollingUpdate)
        ) {
          spec.updateStrategy.rollingUpdate.partition =
            spec.updateStrategy.rollingUpdate.partition ?? 0;
        }
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10;
        defaultTemplate(spec);
        break;
      case 'daemonsets.apps':
        if (!isPlainObject(spec)) break;
        spec.updateStrategy = isPlainObject(spec.updateStrategy)
          ? spec.updateStrategy
          : {};
        spec.updateStrategy.type = spec.updateStrategy.type || 'RollingUpdate';
        if (spec.updateStrategy.type === 'RollingUpdate') {
          const ru = isPlainObject(spec.updateStrategy.rollingUpdate)
            ? spec.updateStrategy.rollingUpdate
            : {};
          ru.maxUnavailable = ru.maxUnavailable ?? 1;
          ru.maxSurge = ru.maxSurge ?? 0;
          spec.updateStrategy.rollingUpdate = ru;
        }
        spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10;
        defaultTemplate(spec);
        break;
      case 'jobs.batch':
        if (!isPlainObject(spec)) break;
        spec.parallelism = spec.parallelism ?? 1;
        spec.completions = spec.completions ?? 1;
        spec.backoffLimit = spec.backoffLimit ?? 6;
        spec.completionMode = spec.completionMode ?? 'NonIndexed';
        spec.suspend = spec.suspend ?? false;
        defaultTemplate(spec);
        break;
      case 'cronjobs.batch':
        if (!isPlainObject(spec)) break;
        spec.concurrencyPolicy = spec.concurrencyPolicy ?? 'Allow';
        spec.suspend = spec.suspend ?? false;
        spec.successfulJobsHistoryLimit = spec.successfulJobsHistoryLimit ?? 3;
        spec.failedJobsHistoryLimit = spec.failedJobsHistoryLimit ?? 1;
        break;
      default:
        break;
    }
  }

  validate(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): Cause[] {
    const causes: Cause[] = [];
    const key = type.group ? `${type.plural}.${type.group}` : type.plural;
    const req = (field: string) =>
      causes.push({
        field,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
      if (
        typeof v !== 'string' ||
        v.length > 63 ||
        !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)
      ) {
        causes.push({
          field: 'metadata.labels',
          message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        });
      }
      if (
        !/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(
          k,
        )
      ) {
        causes.push({
          field: 'metadata.labels',
          message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
        });
      }
    }
    const checkPodSpec = (spec: any, path: string) => {
      if (!isPlainObject(spec)) {
        req(path);
        return;
      }
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0) {
        req(`${path}.containers`);
        return;
      }
      containers.forEach((c: any, i: number) => {
        if (!c?.name) req(`${path}.containers[${i}].name`);
        if (!c?.image) req(`${path}.containers[${i}].image`);
      });
    };
    switch (key) {
      case 'pods':
        checkPodSpec(obj.spec, 'spec');
        if (
          old &&
          !deepEqual(
            (old.spec?.containers ?? []).map((c: any) => c.name),
            (obj.spec?.containers ?? []).map((c: any) => c.name),
          )
        ) {
          causes.push({
            field: 'spec',
            message:
              'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
            reason: 'FieldValueForbidden',
          });
        }
        break;
      case 'deployments.apps':
      case 'replicasets.apps':
      case 'statefulsets.apps':
      case 'daemonsets.apps': {
        const spec = obj.spec;
        if (!isPlainObject(spec?.selector)) {
          req('spec.selector');
        } else {
          const labels = spec.template?.metadata?.labels;
          if (
            !matchesLabels(labels, selectorObjectToRequirements(spec.selector))
          ) {
            causes.push({
              field: 'spec.template.metadata.labels',
              message: `Invalid value: ${JSON.stringify(
                labels ?? {},
              )}: \`selector\` does not match template \`labels\``,
            });
          }
          if (old && !deepEqual(old.spec?.selector, spec.selector)) {
            causes.push({
              field: 'spec.selector',
              message: `Invalid value: ${JSON.stringify(
                spec.selector,
              )}: field is immutable`,
            });
          }
        }
        checkPodSpec(spec?.template?.spec, 'spec.template.spec');
        if (
          spec?.replicas !== undefined &&
          (!Number.isInteger(spec.replicas) || spec.replicas < 0)
        ) {
          causes.push({
            field: 'spec.replicas',
            message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
          });
        }
        break;
      }
      case 'jobs.batch':
        checkPodSpec(obj.spec?.template?.spec, 'spec.template.spec');
        break;
      case 'resourcequotas':
        causes.push(...validateResourceQuota(obj));
        break;
      case 'limitranges':
        causes.push(...validateLimitRange(obj));
        break;
      case 'rolebindings.rbac.authorization.k8s.io':
      case 'clusterrolebindings.rbac.authorization.k8s.io': {
        // ValidateRoleBindingUpdate: a binding's roleRef is fixed once created (delete and recreate
        // it instead), whether the change comes by update, patch or apply.
        if (!old) break;
        const ref = (o: KubeObject) => {
          const r = isPlainObject(o.roleRef) ? o.roleRef : {};
          const str = (v: unknown) => (typeof v === 'string' ? v : '');
          return {
            APIGroup: str(r.apiGroup),
            Kind: str(r.kind),
            Name: str(r.name),
          };
        };
        const before = ref(old);
        const after = ref(obj);
        if (!deepEqual(before, after)) {
          // Go's %#v of the internal rbac.RoleRef.
          const value = `rbac.RoleRef{${Object.entries(after)
            .map(([k, v]) => `${k}:${JSON.stringify(v)}`)
            .join(', ')}}`;
          causes.push({
            field: 'roleRef',
            message: `Invalid value: ${value}: cannot change roleRef`,
          });
        }
        break;
      }
      case 'secrets':
        for (const [k, v] of Object.entries(obj.data ?? {})) {
          if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
            causes.push({
              field: `data[${k}]`,
              message: 'Invalid value: illegal base64 data',
            });
          }
        }
        break;
      case 'configmaps':
        for (const [k, v] of Object.entries(obj.data ?? {})) {
          if (typeof v !== 'string') {
            causes.push({
              field: `data[${k}]`,
              message: 'Invalid value: must be a string',
            });
          }
        }
        break;
      default:
        break;
    }
    if (
      old?.immutable === true &&
      key !== 'namespaces' &&
      (!deepEqual(old.data, obj.data) ||
        !deepEqual(old.binaryData, obj.binaryData))
    ) {
      causes.push({
        field: 'data',
        message: 'Forbidden: field is immutable when `immutable` is set',
        reason: 'FieldValueForbidden',
      });
    }
    return causes;
  }

  /**
   * The validating admission plugins that run on every write, in the API server's order: LimitRanger (see
   * limitRanger.ts), then PodSecurity (see podSecurity.ts).
   */
  validateAdmission(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    attrs: PodSecurityAttributes,
  ): void {
    this.checkLimitRanges(type, obj, old, attrs.subresource);
    this.podSecurity.validate(type, obj, old, attrs);
  }

  /** The LimitRanges of an object's namespace. */
  private limitRangesIn(obj: KubeObject): KubeObject[] {
    return this.store.list(this.core('limitranges'), obj.metadata.namespace);
  }

  /**
   * LimitRanger's validation: pods on create, PersistentVolumeClaims on create and update; never a subresource,
   * nor an object already being deleted.
   */
  private checkLimitRanges(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    subresource: string | undefined,
  ) {
    if (type.group || subresource) return;
    if (old?.metadata.deletionTimestamp) return;
    if (type.plural === 'pods' && !old) {
      enforceLimitRanges('pods', obj, this.limitRangesIn(obj));
    } else if (type.plural === 'persistentvolumeclaims') {
      enforceLimitRanges(
        'persistentvolumeclaims',
        obj,
        this.limitRangesIn(obj),
      );
    }
  }

  /**
   * ResourceQuota admission. A create is charged all it counts; an update only what it adds (Services, whose type
   * may change, and PersistentVolumeClaims, whose storage request may grow; other kinds are charged on create
   * only, as the real evaluators handle them).
   */
  admit(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): void {
    if (!type.namespaced) return;
    if (
      old &&
      !(
        !type.group &&
        (type.plural === 'services' || type.plural === 'persistentvolumeclaims')
      )
    ) {
      return;
    }
    this.checkQuota(type, obj, old);
  }

  /** Current usage of everything in a namespace that quotas count. */
  usageIn(namespace: string): Record<string, number> {
    const total: Record<string, number> = {};
    for (const t of this.registry.types) {
      if (!t.namespaced || t.virtual) continue;
      for (const o of this.store.list(t, namespace)) {
        for (const [k, v] of Object.entries(quotaUsage(t, o)))
          total[k] = (total[k] ?? 0) + v;
      }
    }
    return total;
  }

  private checkQuota(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ) {
    const quotas = this.store.list(
      this.core('resourcequotas'),
      obj.metadata.namespace,
    );
    if (quotas.length === 0) return;
    const isPod = type.plural === 'pods' && !type.group;
    // Every quota that counts cpu or memory first: each container must state what it counts.
    for (const q of quotas) {
      if (!isPod) break;
      const missing = missingPodResources(obj, Object.keys(q.spec?.hard ?? {}));
      if (missing) {
        throw errors.forbidden(
          type.plural,
          type.group,
          obj.metadata.name,
          `failed quota: ${q.metadata.name}: must specify ${missing}`,
        );
      }
    }
    const delta = quotaUsage(type, obj);
    if (old) {
      // An update is charged what it adds, never credited what it frees.
      const before = quotaUsage(type, old);
      for (const [k, v] of Object.entries(delta)) {
        delta[k] = Math.max(0, v - (before[k] ?? 0));
      }
    }
    for (const [k, v] of Object.entries(delta)) if (v === 0) delete delta[k];
    if (Object.keys(delta).length === 0) return;
    let used: Record<string, number> | undefined;
    for (const q of quotas) {
      const hard: Record<string, string> = q.spec?.hard ?? {};
      const relevant = Object.keys(hard)
        .filter(r => delta[r] !== undefined)
        .sort();
      if (relevant.length === 0) continue;
      if (!used) used = this.usageIn(obj.metadata.namespace!);
      const usedNow: Record<string, number> = used;
      const exceeded = relevant.filter(
        r => (usedNow[r] ?? 0) + delta[r] > parseQuantity(hard[r]) + 1e-9,
      );
      if (exceeded.length) {
        throw errors.forbidden(
          type.plural,
          type.group,
          obj.metadata.name,
          `exceeded quota: ${q.metadata.name}, requested: ${formatUsage(
            exceeded,
            delta,
          )}, used: ${formatUsage(exceeded, usedNow)}, limited: ${formatUsage(
            exceeded,
            Object.fromEntries(exceeded.map(r => [r, parseQuantity(hard[r])])),
          )}`,
        );
      }
    }
  }
}
