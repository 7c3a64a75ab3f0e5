import { PolicyRule } from '../types';
import { isTrue, perContainer, perPod } from './util';
import { podSpecOf } from '../podSpec';

/** Capabilities that hand a container control over the node or its network. */
export const DANGEROUS_CAPABILITIES = [
  'ALL',
  'SYS_ADMIN',
  'NET_ADMIN',
  'SYS_PTRACE',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_BOOT',
  'SYS_TIME',
  'SYS_RESOURCE',
  'DAC_READ_SEARCH',
  'BPF',
  'PERFMON',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'SYSLOG',
  'LINUX_IMMUTABLE',
];
/** The only capability the Pod Security "restricted" profile lets a container add back. */
const SAFE_TO_ADD = ['NET_BIND_SERVICE'];

const capName = (c: unknown) => String(c).toUpperCase().replace(/^CAP_/, '');
const capList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(capName) : [];

/** The volume types Pod Security `restricted` allows: none reaches storage outside a claim of the pod's namespace. */
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Rules about what a pod may reach on its node (Polaris: dangerous/insecure capabilities, hostPath, …). */
export const hostAccessRules: PolicyRule[] = [
  {
    id: 'no-host-namespaces',
    defaultSeverity: 'error',
    description: 'pods do not share the host network, PID or IPC namespace',
    fix: 'Remove hostNetwork, hostPID and hostIPC from the pod spec.',
    check: obj =>
      perPod(obj, spec =>
        ['hostNetwork', 'hostPID', 'hostIPC']
          .filter(k => isTrue(spec[k]))
          .map(k => `${k} is true`),
      ),
  },
  {
    id: 'dangerous-capabilities',
    defaultSeverity: 'error',
    description:
      'containers do not add dangerous capabilities (ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE, …)',
    fix: 'Remove these entries from securityContext.capabilities.add; a container that needs them belongs to the platform team, not a tenant chart.',
    check: obj =>
      perContainer(obj, c => {
        const bad = capList(c?.securityContext?.capabilities?.add).filter(x =>
          DANGEROUS_CAPABILITIES.includes(x),
        );
        return bad.length
          ? `adds dangerous capabilities ${bad.join(', ')}`
          : undefined;
      }),
  },
  {
    id: 'insecure-capabilities',
    defaultSeverity: 'warning',
    description:
      'containers drop ALL capabilities and add back at most NET_BIND_SERVICE',
    fix: 'Set securityContext.capabilities.drop: [ALL] and add back only NET_BIND_SERVICE if the app binds a port below 1024.',
    check: obj =>
      perContainer(obj, c => {
        const out: string[] = [];
        if (!capList(c?.securityContext?.capabilities?.drop).includes('ALL'))
          out.push('does not drop ALL capabilities');
        const added = capList(c?.securityContext?.capabilities?.add).filter(
          x => !SAFE_TO_ADD.includes(x) && !DANGEROUS_CAPABILITIES.includes(x),
        );
        if (added.length) out.push(`adds capabilities ${added.join(', ')}`);
        return out;
      }),
  },
  {
    id: 'host-path',
    defaultSeverity: 'error',
    description: 'pods do not mount directories of the node (hostPath volumes)',
    fix: 'Use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim instead of a hostPath volume.',
    check: obj =>
      perPod(obj, spec =>
        (Array.isArray(spec.volumes) ? spec.volumes : [])
          .filter((v: any) => v?.hostPath)
          .map(
            (v: any) =>
              `volume "${v.name ?? '?'}" mounts host path ${String(
                v.hostPath?.path ?? '?',
              )}`,
          ),
      ),
  },
  {
    id: 'volume-types',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'pods use only the volume types Pod Security restricted allows (configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret) unless the platform allows more',
    fix: "Use a PersistentVolumeClaim (the platform's storage classes) or a ConfigMap, Secret or emptyDir. A volume the node mounts itself (nfs, iscsi, cephfs, a gitRepo clone) reaches storage every tenant shares with no claim of its own; the platform team allows a type with kubechart.policy.allowedVolumeTypes.",
    // No result for a pod without volumes (none applies): so `off` mode reports nothing for it.
    check: (obj, ctx) =>
      podSpecOf(obj)?.volumes === undefined
        ? undefined
        : perPod(obj, spec =>
            (Array.isArray(spec.volumes) ? spec.volumes : []).flatMap(
              (v: any) => {
                if (!v || typeof v !== 'object' || Array.isArray(v))
                  return ['a volume is not a mapping'];
                const types = Object.keys(v).filter(k => k !== 'name');
                return types
                  .filter(
                    t =>
                      t !== 'hostPath' &&
                      !RESTRICTED_VOLUME_TYPES.has(t) &&
                      !ctx.allowedVolumeTypes.includes(t),
                  )
                  .map(
                    t =>
                      `volume "${String(
                        v.name ?? '?',
                      )}" is of type ${t}, which is not allowed`,
                  );
              },
            ),
          ),
  },
  {
    id: 'host-port',
    defaultSeverity: 'warning',
    description: 'containers do not bind ports on the node (hostPort)',
    fix: 'Remove ports[].hostPort and expose the port through a Service.',
    check: obj =>
      perContainer(obj, c =>
        (Array.isArray(c?.ports) ? c.ports : [])
          .filter(
            (p: any) =>
              p?.hostPort !== undefined &&
              p?.hostPort !== null &&
              Number(p.hostPort) !== 0,
          )
          .map((p: any) => `binds host port ${p.hostPort}`),
      ),
  },
  {
    id: 'host-process',
    defaultSeverity: 'error',
    description: 'Windows pods do not run as host processes',
    fix: 'Remove securityContext.windowsOptions.hostProcess (pod and containers).',
    check: obj => {
      const pod = perPod(obj, spec =>
        isTrue(spec.securityContext?.windowsOptions?.hostProcess)
          ? ['pod securityContext.windowsOptions.hostProcess is true']
          : [],
      );
      if (!pod) return undefined;
      const containers = perContainer(obj, c =>
        isTrue(c?.securityContext?.windowsOptions?.hostProcess)
          ? 'windowsOptions.hostProcess is true'
          : undefined,
      )!;
      return [...pod, ...containers];
    },
  },
  {
    id: 'proc-mount',
    defaultSeverity: 'error',
    description: 'containers keep the default masked /proc',
    fix: 'Remove securityContext.procMount or set it to Default.',
    check: obj =>
      perContainer(obj, c => {
        const pm = c?.securityContext?.procMount;
        return pm === undefined || pm === null || pm === 'Default'
          ? undefined
          : `procMount is ${String(pm)}`;
      }),
  },
];
