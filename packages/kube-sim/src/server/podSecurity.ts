/**
 * Pod Security admission, as the API server's built-in `PodSecurity` plugin (k8s.io/pod-security-admission)
 * of a v1.26 server with its default configuration: every mode `privileged:latest` unless a namespace label
 * says otherwise, no exemptions.
 *
 * - Namespaces: `pod-security.kubernetes.io/{enforce,warn,audit}[-version]` labels must be valid (422 on a
 *   create, and on an update that changes the errors); raising the enforce level warns about existing pods
 *   that break it.
 * - Pods: a create, or an update that changes an image (or a seccomp annotation, or adds an ephemeral
 *   container), that breaks the enforce level is refused with 403; otherwise breaking the warn level adds a
 *   `Warning`. The warn level defaults to the enforce level when only `enforce` is set.
 * - Pod templates of Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs (ReplicationControllers,
 *   PodTemplates): never refused, only warned about at the warn level. Their pods are checked when created.
 * - Policy versions: any valid version is evaluated with the latest (v1.26) checks; messages name the version
 *   the label asks for. The audit mode has no effect (kube-sim keeps no audit log).
 */
import { ResourceRegistry, ResourceType, typeId } from './resources';
import { errors } from './status';
import { Store } from './store';
import { deepEqual, isPlainObject, KubeObject } from './types';

export type Level = 'privileged' | 'baseline' | 'restricted';

/** A level at a policy version (`latest` or `v1.<minor>`). */
export interface LevelVersion {
  level: Level;
  version: string;
}

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

/** A field error of a namespace's labels (`field.Invalid`). */
export interface LabelError {
  field: string;
  message: string;
}

export const POD_SECURITY_LABEL_PREFIX = 'pod-security.kubernetes.io/';
const ENFORCE_LEVEL_LABEL = `${POD_SECURITY_LABEL_PREFIX}enforce`;
const ENFORCE_VERSION_LABEL = `${POD_SECURITY_LABEL_PREFIX}enforce-version`;
const AUDIT_LEVEL_LABEL = `${POD_SECURITY_LABEL_PREFIX}audit`;
const AUDIT_VERSION_LABEL = `${POD_SECURITY_LABEL_PREFIX}audit-version`;
const WARN_LEVEL_LABEL = `${POD_SECURITY_LABEL_PREFIX}warn`;
const WARN_VERSION_LABEL = `${POD_SECURITY_LABEL_PREFIX}warn-version`;

const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
const PRIVILEGED_LATEST: LevelVersion = {
  level: 'privileged',
  version: 'latest',
};
/** How many existing pods a namespace update checks against a new enforce level. */
const NAMESPACE_MAX_PODS_TO_CHECK = 3000;

/** Go's `%q` of a string (what `field.Invalid` and the AppArmor check quote values with). */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    '"': '\\"',
    '\\': '\\\\',
    '\u0007': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\u000b': '\\v',
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (named[ch]) out += named[ch];
    else if (cp < 0x20 || cp === 0x7f)
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function parseLevel(value: string): { level: Level; error?: string } {
  if ((LEVELS as string[]).includes(value)) return { level: value as Level };
  // An unparseable level is evaluated as the most restrictive one.
  return {
    level: 'restricted',
    error: `must be one of ${LEVELS.join(', ')}`,
  };
}

function parseVersion(value: string): { version: string; error?: string } {
  if (value === 'latest' || /^v1\.(0|[1-9][0-9]*)$/.test(value))
    return { version: value };
  return { version: 'latest', error: 'must be "latest" or "v1.x"' };
}

function compareLevels(a: Level, b: Level) {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

export function levelVersionString(lv: LevelVersion) {
  return `${lv.level}:${lv.version}`;
}

/**
 * The namespace's policy (PolicyToEvaluate): the labels over the defaults (`privileged:latest`). A policy is
 * always returned; an invalid enforce level counts as `restricted`, an invalid warn or audit level as
 * `privileged`, an invalid version as `latest`. Without a `warn` label, warn follows a stricter enforce level.
 */
export function policyToEvaluate(labels: Record<string, string> | undefined): {
  policy: Policy;
  errors: LabelError[];
} {
  const p: Policy = {
    enforce: { ...PRIVILEGED_LATEST },
    audit: { ...PRIVILEGED_LATEST },
    warn: { ...PRIVILEGED_LATEST },
  };
  const errs: LabelError[] = [];
  if (!labels) return { policy: p, errors: errs };
  const push = (label: string, value: string, error?: string) => {
    if (error)
      errs.push({
        field: `metadata.labels[${label}]`,
        message: `Invalid value: ${goQuote(value)}: ${error}`,
      });
  };
  const has = (label: string) =>
    Object.prototype.hasOwnProperty.call(labels, label);
  let hasEnforceLevel = false;
  let hasWarnLevel = false;
  let hasWarnVersion = false;
  if (has(ENFORCE_LEVEL_LABEL)) {
    const { level, error } = parseLevel(labels[ENFORCE_LEVEL_LABEL]);
    p.enforce.level = level;
    hasEnforceLevel = !error; // An invalid enforce level does not set the warn level.
    push(ENFORCE_LEVEL_LABEL, labels[ENFORCE_LEVEL_LABEL], error);
  }
  if (has(ENFORCE_VERSION_LABEL)) {
    const { version, error } = parseVersion(labels[ENFORCE_VERSION_LABEL]);
    p.enforce.version = version;
    push(ENFORCE_VERSION_LABEL, labels[ENFORCE_VERSION_LABEL], error);
  }
  if (has(AUDIT_LEVEL_LABEL)) {
    const { level, error } = parseLevel(labels[AUDIT_LEVEL_LABEL]);
    p.audit.level = error ? 'privileged' : level; // Fail open for audit.
    push(AUDIT_LEVEL_LABEL, labels[AUDIT_LEVEL_LABEL], error);
  }
  if (has(AUDIT_VERSION_LABEL)) {
    const { version, error } = parseVersion(labels[AUDIT_VERSION_LABEL]);
    p.audit.version = version;
    push(AUDIT_VERSION_LABEL, labels[AUDIT_VERSION_LABEL], error);
  }
  if (has(WARN_LEVEL_LABEL)) {
    hasWarnLevel = true;
    const { level, error } = parseLevel(labels[WARN_LEVEL_LABEL]);
    p.warn.level = error ? 'privileged' : level; // Fail open for warn.
    push(WARN_LEVEL_LABEL, labels[WARN_LEVEL_LABEL], error);
  }
  if (has(WARN_VERSION_LABEL)) {
    hasWarnVersion = true;
    const { version, error } = parseVersion(labels[WARN_VERSION_LABEL]);
    p.warn.version = version;
    push(WARN_VERSION_LABEL, labels[WARN_VERSION_LABEL], error);
  }
  // The warn level defaults to an enforce level set explicitly, when that is stricter (v1.26+).
  if (
    !hasWarnLevel &&
    hasEnforceLevel &&
    compareLevels(p.enforce.level, p.warn.level) > 0
  ) {
    p.warn.level = p.enforce.level;
    if (!hasWarnVersion) p.warn.version = p.enforce.version;
  }
  return { policy: p, errors: errs };
}

/* ---------------- The checks (k8s.io/pod-security-admission/policy) ---------------- */

/** A failed check: its reason and (optional) detail, as the message shows them. */
export interface CheckFailure {
  id: string;
  reason: string;
  detail: string;
}

type CheckFn = (
  meta: Record<string, any>,
  spec: Record<string, any>,
) => { reason: string; detail: string } | undefined;

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Baseline checks this restricted check replaces at the restricted level. */
  overrides?: string[];
  check: CheckFn;
}

const joinQuote = (items: string[]) =>
  items.length ? `"${items.join('", "')}"` : '';
const pluralize = (singular: string, plural: string, n: number) =>
  n === 1 ? singular : plural;
/** Go's sets.String List(): sorted, without duplicates. */
const sortedSet = (s: Set<string>) => [...s].sort();
const objectOr = (v: unknown): Record<string, any> =>
  isPlainObject(v) ? v : {};
const arrayOr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

/** Init containers, containers, then ephemeral containers (visitContainers). */
function visitContainers(
  spec: Record<string, any>,
  fn: (c: Record<string, any>) => void,
) {
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'])
    for (const c of arrayOr(spec[list])) fn(objectOr(c));
}
const securityContext = (c: Record<string, any>) =>
  isPlainObject(c.securityContext) ? c.securityContext : undefined;
const podSecurityContext = (spec: Record<string, any>) =>
  isPlainObject(spec.securityContext) ? spec.securityContext : undefined;
const isWindowsPod = (spec: Record<string, any>) =>
  objectOr(spec.os).name === 'windows';
const containers = (names: string[]) =>
  `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;

const APPARMOR_ANNOTATION_PREFIX =
  'container.apparmor.security.beta.kubernetes.io/';
const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX =
  'container.seccomp.security.alpha.kubernetes.io/';

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SELINUX_ALLOWED_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
]);
/** Volume sources the restricted level allows; any other is named by its field (or `unknown`). */
const RESTRICTED_ALLOWED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
const RESTRICTED_VOLUME_TYPES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];
const isSet = (v: unknown) => v !== undefined && v !== null;
const validSeccompType = (t: unknown) =>
  t === 'RuntimeDefault' || t === 'Localhost';

const CHECKS: Check[] = [
  {
    id: 'appArmorProfile',
    level: 'baseline',
    check: meta => {
      const bad = Object.entries(objectOr(meta.annotations))
        .filter(([k, v]) => {
          if (!k.startsWith(APPARMOR_ANNOTATION_PREFIX)) return false;
          const profile = String(v ?? '');
          return !(
            profile === '' ||
            profile === 'runtime/default' ||
            profile.startsWith('localhost/')
          );
        })
        .map(([k, v]) => `${k}=${goQuote(String(v ?? ''))}`)
        .sort();
      if (!bad.length) return undefined;
      return {
        reason: pluralize(
          'forbidden AppArmor profile',
          'forbidden AppArmor profiles',
          bad.length,
        ),
        detail: bad.join(', '),
      };
    },
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad: string[] = [];
      const caps = new Set<string>();
      visitContainers(spec, c => {
        const add = arrayOr(objectOr(securityContext(c)?.capabilities).add);
        let valid = true;
        for (const cap of add) {
          if (!BASELINE_CAPABILITIES.has(String(cap))) {
            valid = false;
            caps.add(String(cap));
          }
        }
        if (!valid) bad.push(c.name);
      });
      if (!bad.length) return undefined;
      return {
        reason: 'non-default capabilities',
        detail: `${containers(bad)} must not include ${joinQuote(
          sortedSet(caps),
        )} in securityContext.capabilities.add`,
      };
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    check: (_meta, spec) => {
      const found = new Set<string>();
      if (spec.hostNetwork === true) found.add('hostNetwork=true');
      if (spec.hostPID === true) found.add('hostPID=true');
      if (spec.hostIPC === true) found.add('hostIPC=true');
      if (!found.size) return undefined;
      return {
        reason: 'host namespaces',
        detail: sortedSet(found).join(', '),
      };
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad = arrayOr(spec.volumes)
        .map(objectOr)
        .filter(v => isSet(v.hostPath))
        .map(v => v.name);
      if (!bad.length) return undefined;
      return {
        reason: 'hostPath volumes',
        detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(
          bad,
        )}`,
      };
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad: string[] = [];
      const ports = new Set<string>();
      visitContainers(spec, c => {
        let valid = true;
        for (const p of arrayOr(c.ports)) {
          const hostPort = objectOr(p).hostPort;
          if (isSet(hostPort) && hostPort !== 0) {
            valid = false;
            ports.add(String(hostPort));
          }
        }
        if (!valid) bad.push(c.name);
      });
      if (!bad.length) return undefined;
      return {
        reason: 'hostPort',
        detail: `${containers(bad)} ${pluralize(
          'uses',
          'use',
          bad.length,
        )} ${pluralize('hostPort', 'hostPorts', ports.size)} ${sortedSet(
          ports,
        ).join(', ')}`,
      };
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad: string[] = [];
      visitContainers(spec, c => {
        if (securityContext(c)?.privileged === true) bad.push(c.name);
      });
      if (!bad.length) return undefined;
      return {
        reason: 'privileged',
        detail: `${containers(
          bad,
        )} must not set securityContext.privileged=true`,
      };
    },
  },
  {
    id: 'procMount',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad: string[] = [];
      const types = new Set<string>();
      visitContainers(spec, c => {
        const procMount = securityContext(c)?.procMount;
        if (isSet(procMount) && procMount !== 'Default') {
          bad.push(c.name);
          types.add(String(procMount));
        }
      });
      if (!bad.length) return undefined;
      return {
        reason: 'procMount',
        detail: `${containers(
          bad,
        )} must not set securityContext.procMount to ${joinQuote(
          sortedSet(types),
        )}`,
      };
    },
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    check: (_meta, spec) => {
      const setters: string[] = [];
      const badTypes = new Set<string>();
      let setUser = false;
      let setRole = false;
      const valid = (opts: Record<string, any>) => {
        let ok = true;
        const type = String(opts.type ?? '');
        if (!SELINUX_ALLOWED_TYPES.has(type)) {
          ok = false;
          badTypes.add(type);
        }
        if (opts.user) {
          ok = false;
          setUser = true;
        }
        if (opts.role) {
          ok = false;
          setRole = true;
        }
        return ok;
      };
      const podOpts = podSecurityContext(spec)?.seLinuxOptions;
      if (isPlainObject(podOpts) && !valid(podOpts)) setters.push('pod');
      const bad: string[] = [];
      visitContainers(spec, c => {
        const opts = securityContext(c)?.seLinuxOptions;
        if (isPlainObject(opts) && !valid(opts)) bad.push(c.name);
      });
      if (bad.length) setters.push(containers(bad));
      if (!setters.length) return undefined;
      const data: string[] = [];
      if (badTypes.size)
        data.push(
          `${pluralize('type', 'types', badTypes.size)} ${joinQuote(
            sortedSet(badTypes),
          )}`,
        );
      if (setUser) data.push('user may not be set');
      if (setRole) data.push('role may not be set');
      return {
        reason: 'seLinuxOptions',
        detail: `${setters.join(
          ' and ',
        )} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
      };
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    check: (_meta, spec) => {
      const setters: string[] = [];
      const values = new Set<string>();
      const podProfile = podSecurityContext(spec)?.seccompProfile;
      if (isPlainObject(podProfile) && !validSeccompType(podProfile.type)) {
        setters.push('pod');
        values.add(String(podProfile.type ?? ''));
      }
      const bad: string[] = [];
      visitContainers(spec, c => {
        const profile = securityContext(c)?.seccompProfile;
        if (isPlainObject(profile) && !validSeccompType(profile.type)) {
          bad.push(c.name);
          values.add(String(profile.type ?? ''));
        }
      });
      if (bad.length) setters.push(containers(bad));
      if (!setters.length) return undefined;
      return {
        reason: 'seccompProfile',
        detail: `${setters.join(
          ' and ',
        )} must not set securityContext.seccompProfile.type to ${joinQuote(
          sortedSet(values),
        )}`,
      };
    },
  },
  {
    id: 'sysctls',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad = arrayOr(podSecurityContext(spec)?.sysctls)
        .map(s => String(objectOr(s).name ?? ''))
        .filter(name => !SAFE_SYSCTLS.has(name));
      if (!bad.length) return undefined;
      return { reason: 'forbidden sysctls', detail: bad.join(', ') };
    },
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    check: (_meta, spec) => {
      const bad: string[] = [];
      visitContainers(spec, c => {
        if (objectOr(securityContext(c)?.windowsOptions).hostProcess === true)
          bad.push(c.name);
      });
      const setters: string[] = [];
      if (
        objectOr(podSecurityContext(spec)?.windowsOptions).hostProcess === true
      )
        setters.push('pod');
      if (bad.length) setters.push(containers(bad));
      if (!setters.length) return undefined;
      return {
        reason: 'hostProcess',
        detail: `${setters.join(
          ' and ',
        )} must not set securityContext.windowsOptions.hostProcess=true`,
      };
    },
  },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    check: (_meta, spec) => {
      // Windows pods cannot set it (v1.25+).
      if (isWindowsPod(spec)) return undefined;
      const bad: string[] = [];
      visitContainers(spec, c => {
        if (securityContext(c)?.allowPrivilegeEscalation !== false)
          bad.push(c.name);
      });
      if (!bad.length) return undefined;
      return {
        reason: 'allowPrivilegeEscalation != false',
        detail: `${containers(
          bad,
        )} must set securityContext.allowPrivilegeEscalation=false`,
      };
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    overrides: ['capabilities_baseline'],
    check: (_meta, spec) => {
      if (isWindowsPod(spec)) return undefined;
      const missingDropAll: string[] = [];
      const addingForbidden: string[] = [];
      const forbidden = new Set<string>();
      visitContainers(spec, c => {
        const caps = securityContext(c)?.capabilities;
        if (!isPlainObject(caps)) {
          missingDropAll.push(c.name);
          return;
        }
        if (!arrayOr(caps.drop).includes('ALL')) missingDropAll.push(c.name);
        let adds = false;
        for (const cap of arrayOr(caps.add)) {
          if (cap !== 'NET_BIND_SERVICE') {
            adds = true;
            forbidden.add(String(cap));
          }
        }
        if (adds) addingForbidden.push(c.name);
      });
      const details: string[] = [];
      if (missingDropAll.length)
        details.push(
          `${containers(
            missingDropAll,
          )} must set securityContext.capabilities.drop=["ALL"]`,
        );
      if (addingForbidden.length)
        details.push(
          `${containers(addingForbidden)} must not include ${joinQuote(
            sortedSet(forbidden),
          )} in securityContext.capabilities.add`,
        );
      if (!details.length) return undefined;
      return {
        reason: 'unrestricted capabilities',
        detail: details.join('; '),
      };
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    overrides: ['hostPathVolumes'],
    check: (_meta, spec) => {
      const bad: string[] = [];
      const types = new Set<string>();
      for (const volume of arrayOr(spec.volumes).map(objectOr)) {
        if (RESTRICTED_ALLOWED_VOLUMES.some(k => isSet(volume[k]))) continue;
        bad.push(volume.name);
        types.add(
          RESTRICTED_VOLUME_TYPES.find(k => isSet(volume[k])) ?? 'unknown',
        );
      }
      if (!bad.length) return undefined;
      return {
        reason: 'restricted volume types',
        detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(
          bad,
        )} ${pluralize('uses', 'use', bad.length)} ${pluralize(
          'restricted volume type',
          'restricted volume types',
          types.size,
        )} ${joinQuote(sortedSet(types))}`,
      };
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    check: (_meta, spec) => {
      const setters: string[] = [];
      let podRunAsNonRoot = false;
      const pod = podSecurityContext(spec)?.runAsNonRoot;
      if (isSet(pod)) {
        if (pod !== true) setters.push('pod');
        else podRunAsNonRoot = true;
      }
      const explicitlyBad: string[] = [];
      const implicitlyBad: string[] = [];
      visitContainers(spec, c => {
        const value = securityContext(c)?.runAsNonRoot;
        if (isSet(value)) {
          if (value !== true) explicitlyBad.push(c.name);
        } else if (!podRunAsNonRoot) {
          implicitlyBad.push(c.name);
        }
      });
      if (explicitlyBad.length) setters.push(containers(explicitlyBad));
      if (setters.length)
        return {
          reason: 'runAsNonRoot != true',
          detail: `${setters.join(
            ' and ',
          )} must not set securityContext.runAsNonRoot=false`,
        };
      if (implicitlyBad.length)
        return {
          reason: 'runAsNonRoot != true',
          detail: `pod or ${containers(
            implicitlyBad,
          )} must set securityContext.runAsNonRoot=true`,
        };
      return undefined;
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    check: (_meta, spec) => {
      const setters: string[] = [];
      if (podSecurityContext(spec)?.runAsUser === 0) setters.push('pod');
      const bad: string[] = [];
      visitContainers(spec, c => {
        if (securityContext(c)?.runAsUser === 0) bad.push(c.name);
      });
      if (bad.length) setters.push(containers(bad));
      if (!setters.length) return undefined;
      return {
        reason: 'runAsUser=0',
        detail: `${setters.join(' and ')} must not set runAsUser=0`,
      };
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    overrides: ['seccompProfile_baseline'],
    check: (_meta, spec) => {
      if (isWindowsPod(spec)) return undefined;
      const setters: string[] = [];
      const values = new Set<string>();
      let podSet = false;
      const podProfile = podSecurityContext(spec)?.seccompProfile;
      if (isPlainObject(podProfile)) {
        if (!validSeccompType(podProfile.type)) {
          setters.push('pod');
          values.add(String(podProfile.type ?? ''));
        } else {
          podSet = true;
        }
      }
      const explicitlyBad: string[] = [];
      const implicitlyBad: string[] = [];
      visitContainers(spec, c => {
        const profile = securityContext(c)?.seccompProfile;
        if (isPlainObject(profile)) {
          if (!validSeccompType(profile.type)) {
            explicitlyBad.push(c.name);
            values.add(String(profile.type ?? ''));
          }
        } else if (!podSet) {
          implicitlyBad.push(c.name);
        }
      });
      if (explicitlyBad.length) setters.push(containers(explicitlyBad));
      if (setters.length)
        return {
          reason: 'seccompProfile',
          detail: `${setters.join(
            ' and ',
          )} must not set securityContext.seccompProfile.type to ${joinQuote(
            sortedSet(values),
          )}`,
        };
      if (implicitlyBad.length)
        return {
          reason: 'seccompProfile',
          detail: `pod or ${containers(
            implicitlyBad,
          )} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
        };
      return undefined;
    },
  },
];

/** Go's string order (bytes), not the locale's. */
const byId = (a: Check, b: Check) => {
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
};
/** Baseline checks first, then restricted ones, each sorted by ID (the registry's stable message order). */
const BASELINE_CHECKS = CHECKS.filter(c => c.level === 'baseline').sort(byId);
const OVERRIDDEN = new Set(CHECKS.flatMap(c => c.overrides ?? []));
const RESTRICTED_CHECKS = [
  ...BASELINE_CHECKS.filter(c => !OVERRIDDEN.has(c.id)),
  ...CHECKS.filter(c => c.level === 'restricted').sort(byId),
];

/** The checks a pod (or pod template) fails at `level`, in message order. */
export function evaluatePod(
  level: Level,
  meta: unknown,
  spec: unknown,
): CheckFailure[] {
  if (level === 'privileged') return [];
  const checks = level === 'baseline' ? BASELINE_CHECKS : RESTRICTED_CHECKS;
  const m = objectOr(meta);
  const s = objectOr(spec);
  const failures: CheckFailure[] = [];
  for (const c of checks) {
    const result = c.check(m, s);
    if (result) failures.push({ id: c.id, ...result });
  }
  return failures;
}

/** `host namespaces (hostNetwork=true), privileged (container "c" must not …)` */
export function forbiddenDetail(failures: CheckFailure[]): string {
  return failures
    .map(f => (f.detail ? `${f.reason} (${f.detail})` : f.reason))
    .join(', ');
}

/** `host namespaces, privileged` */
export function forbiddenReason(failures: CheckFailure[]): string {
  return failures.map(f => f.reason).join(', ');
}

/* ---------------- Admission ---------------- */

/** The pod template of a pod controller (DefaultPodSpecExtractor), by type ID. */
const POD_TEMPLATES: Record<
  string,
  (obj: KubeObject) => Record<string, any> | undefined
> = {
  'deployments.apps': o => objectOr(objectOr(o.spec).template),
  'replicasets.apps': o => objectOr(objectOr(o.spec).template),
  'statefulsets.apps': o => objectOr(objectOr(o.spec).template),
  'daemonsets.apps': o => objectOr(objectOr(o.spec).template),
  'jobs.batch': o => objectOr(objectOr(o.spec).template),
  'cronjobs.batch': o =>
    objectOr(objectOr(objectOr(objectOr(o.spec).jobTemplate).spec).template),
  podtemplates: o => objectOr(o.template),
  // The template of a ReplicationController is optional.
  replicationcontrollers: o => {
    const t = objectOr(o.spec).template;
    return isPlainObject(t) ? t : undefined;
  },
};

/** Pod subresources PodSecurity does not look at (status, log, binding, …). */
const IGNORED_POD_SUBRESOURCES = new Set([
  'exec',
  'attach',
  'binding',
  'eviction',
  'log',
  'portforward',
  'proxy',
  'status',
]);

export interface PodSecurityAttributes {
  /** The subresource written, if any. */
  subresource?: string;
  /** Collects `Warning` texts for the response. */
  warnings?: string[];
}

/** Whether a pod update changes what PodSecurity checks (isSignificantPodUpdate, v1.26). */
function isSignificantPodUpdate(pod: KubeObject, old: KubeObject): boolean {
  const annotations = objectOr(pod.metadata.annotations);
  const oldAnnotations = objectOr(old.metadata.annotations);
  if (
    annotations[SECCOMP_POD_ANNOTATION] !==
    oldAnnotations[SECCOMP_POD_ANNOTATION]
  )
    return true;
  const spec = objectOr(pod.spec);
  const oldSpec = objectOr(old.spec);
  const significant = (c: Record<string, any>, o: Record<string, any>) => {
    if (c.image !== o.image) return true;
    const key = `${SECCOMP_CONTAINER_ANNOTATION_PREFIX}${c.name}`;
    return annotations[key] !== oldAnnotations[key];
  };
  for (const list of ['containers', 'initContainers']) {
    const now = arrayOr(spec[list]).map(objectOr);
    const before = arrayOr(oldSpec[list]).map(objectOr);
    if (now.length !== before.length) return true;
    if (now.some((c, i) => significant(c, before[i]))) return true;
  }
  const oldEphemeral = arrayOr(oldSpec.ephemeralContainers).map(objectOr);
  for (const c of arrayOr(spec.ephemeralContainers).map(objectOr)) {
    const o = oldEphemeral.find(x => x.name === c.name);
    if (!o || significant(c, o)) return true;
  }
  return false;
}

/**
 * The PodSecurity admission plugin: validating admission of namespaces, pods and pod controllers.
 * `validate` throws the StatusError that refuses a write and adds `Warning` texts to `attrs.warnings`.
 */
export class PodSecurityAdmission {
  constructor(
    private readonly store: Store,
    private readonly registry: ResourceRegistry,
  ) {}

  private core(plural: string) {
    return this.registry.find('', 'v1', plural)!;
  }

  validate(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    attrs: PodSecurityAttributes,
  ): void {
    const id = typeId(type);
    if (id === 'namespaces') this.validateNamespace(obj, old, attrs);
    else if (id === 'pods') this.validatePod(obj, old, attrs);
    else if (POD_TEMPLATES[id]) this.validatePodController(id, obj, attrs);
  }

  private namespacePolicy(name: string | undefined) {
    const ns = name
      ? this.store.get(this.core('namespaces'), undefined, name)
      : undefined;
    return ns ? policyToEvaluate(ns.metadata.labels) : undefined;
  }

  private validateNamespace(
    ns: KubeObject,
    old: KubeObject | undefined,
    attrs: PodSecurityAttributes,
  ) {
    if (attrs.subresource) return;
    const name = ns.metadata.name ?? '';
    const next = policyToEvaluate(ns.metadata.labels);
    const invalid = () => errors.invalid('Namespace', '', name, next.errors);
    if (!old) {
      if (next.errors.length) throw invalid();
      return;
    }
    const before = policyToEvaluate(old.metadata.labels);
    // Invalid labels are refused when they change (a namespace stored with them can still be updated).
    if (
      next.errors.length &&
      (!before.errors.length || !deepEqual(next.errors, before.errors))
    )
      throw invalid();
    const enforce = next.policy.enforce;
    const was = before.policy.enforce;
    if (enforce.level === was.level && enforce.version === was.version) return;
    if (enforce.level === 'privileged') return;
    if (
      enforce.version === was.version &&
      compareLevels(enforce.level, was.level) < 1
    )
      return;
    attrs.warnings?.push(...this.checkPodsInNamespace(name, enforce));
  }

  /** EvaluatePodsInNamespace: warnings about existing pods that a new enforce level refuses. */
  private checkPodsInNamespace(namespace: string, enforce: LevelVersion) {
    const all = this.store.list(this.core('pods'), namespace);
    // One pod per controller first, then the other replicas (prioritizePods).
    const first: KubeObject[] = [];
    const replicas: KubeObject[] = [];
    const seen = new Set<string>();
    for (const pod of all) {
      const ref = (pod.metadata.ownerReferences ?? []).find(r => r.controller);
      if (!ref) first.push(pod);
      else if (seen.has(ref.uid)) replicas.push(pod);
      else {
        seen.add(ref.uid);
        first.push(pod);
      }
    }
    const prioritized = [...first, ...replicas];
    const checked = prioritized.slice(0, NAMESPACE_MAX_PODS_TO_CHECK);
    const byReason = new Map<string, { podName: string; count: number }>();
    const order: string[] = [];
    for (const pod of checked) {
      const failures = evaluatePod(enforce.level, pod.metadata, pod.spec);
      if (!failures.length) continue;
      const reason = forbiddenReason(failures);
      const c = byReason.get(reason);
      const podName = pod.metadata.name!;
      if (!c) {
        byReason.set(reason, { podName, count: 1 });
        order.push(reason);
      } else {
        c.count++;
        if (podName < c.podName) c.podName = podName;
      }
    }
    const warnings: string[] = [];
    if (checked.length < prioritized.length)
      warnings.push(
        `new PodSecurity enforce level only checked against the first ${checked.length} of ${prioritized.length} existing pods`,
      );
    if (order.length)
      warnings.push(
        `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelVersionString(
          enforce,
        )}"`,
      );
    const podWarnings = order.map(reason => {
      const { podName, count } = byReason.get(reason)!;
      if (count === 1) return `${podName}: ${reason}`;
      if (count === 2) return `${podName} (and 1 other pod): ${reason}`;
      return `${podName} (and ${count - 1} other pods): ${reason}`;
    });
    return [...warnings, ...podWarnings.sort()];
  }

  private validatePod(
    pod: KubeObject,
    old: KubeObject | undefined,
    attrs: PodSecurityAttributes,
  ) {
    if (attrs.subresource && IGNORED_POD_SUBRESOURCES.has(attrs.subresource))
      return;
    const resolved = this.namespacePolicy(pod.metadata.namespace);
    if (!resolved) return;
    const { policy, errors: labelErrors } = resolved;
    if (
      !labelErrors.length &&
      policy.enforce.level === 'privileged' &&
      policy.warn.level === 'privileged' &&
      policy.audit.level === 'privileged'
    )
      return;
    if (old && !isSignificantPodUpdate(pod, old)) return;
    const enforced = evaluatePod(policy.enforce.level, pod.metadata, pod.spec);
    if (enforced.length) {
      throw errors.forbidden(
        'pods',
        '',
        pod.metadata.name,
        `violates PodSecurity "${levelVersionString(
          policy.enforce,
        )}": ${forbiddenDetail(enforced)}`,
      );
    }
    this.warn(policy, pod.metadata, pod.spec, attrs);
  }

  private validatePodController(
    id: string,
    obj: KubeObject,
    attrs: PodSecurityAttributes,
  ) {
    if (attrs.subresource) return;
    const resolved = this.namespacePolicy(obj.metadata.namespace);
    if (!resolved) return;
    const { policy, errors: labelErrors } = resolved;
    if (
      !labelErrors.length &&
      policy.warn.level === 'privileged' &&
      policy.audit.level === 'privileged'
    )
      return;
    const template = POD_TEMPLATES[id](obj);
    if (!template) return;
    this.warn(policy, template.metadata, template.spec, attrs);
  }

  private warn(
    policy: Policy,
    meta: unknown,
    spec: unknown,
    attrs: PodSecurityAttributes,
  ) {
    const failures = evaluatePod(policy.warn.level, meta, spec);
    if (!failures.length) return;
    attrs.warnings?.push(
      `would violate PodSecurity "${levelVersionString(
        policy.warn,
      )}": ${forbiddenDetail(failures)}`,
    );
  }
}
