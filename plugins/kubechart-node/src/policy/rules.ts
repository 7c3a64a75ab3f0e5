import { isSecretKey } from '../redaction';
import {
  containersOf,
  mainContainersOf,
  podLabelsOf,
  podSpecOf,
} from './podSpec';
import { KubeObject, PolicyRule } from './types';

/** Applies `fn` to each container of a workload; undefined when not a workload. */
function perContainer(
  obj: KubeObject,
  fn: (container: any, podSpec: any) => string | undefined,
  containers: (spec: any) => any[] = containersOf,
): string[] | undefined {
  const spec = podSpecOf(obj);
  if (!spec) {
    return undefined;
  }
  const out: string[] = [];
  for (const c of containers(spec)) {
    const m = fn(c, spec);
    if (m) {
      out.push(`container "${c?.name ?? '?'}": ${m}`);
    }
  }
  return out;
}

/** Splits an image reference into registry (host or '' for Docker Hub), repository path and tag. */
export function parseImage(image: string): {
  registry: string;
  path: string;
  tag?: string;
  digest?: string;
} {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const firstSlash = rest.indexOf('/');
  const first = firstSlash >= 0 ? rest.slice(0, firstSlash) : '';
  const hasRegistry =
    firstSlash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasRegistry
    ? { registry: first, path: rest.slice(firstSlash + 1), tag, digest }
    : { registry: 'docker.io', path: rest, tag, digest };
}

const isTrue = (v: unknown) => v === true;

/** The built-in chart policy rules. @public */
export const builtinPolicyRules: PolicyRule[] = [
  {
    id: 'image-tag',
    defaultSeverity: 'error',
    description: 'images are pinned to a tag other than latest (or a digest)',
    fix: 'Set image.tag to a fixed version (e.g. "1.4.2") or pin a digest (image@sha256:…).',
    check: obj =>
      perContainer(obj, c => {
        const image = String(c?.image ?? '');
        if (!image) return 'no image set';
        const { tag, digest } = parseImage(image);
        if (digest) return undefined;
        if (!tag) return `image "${image}" has no tag`;
        if (tag === 'latest') return `image "${image}" uses the "latest" tag`;
        return undefined;
      }),
  },
  {
    id: 'trusted-registry',
    defaultSeverity: 'error',
    description: 'images come from a trusted registry',
    fix: 'Pull the image from one of the trusted registries listed in kubechart.policy.trustedRegistries (mirror it there first).',
    check: (obj, ctx) =>
      ctx.trustedRegistries.length === 0
        ? undefined
        : perContainer(obj, c => {
            const image = String(c?.image ?? '');
            const { registry, path } = parseImage(image);
            const full = `${registry}/${path}`;
            const trusted = ctx.trustedRegistries.some(
              t =>
                full === t ||
                full.startsWith(`${t.replace(/\/+$/, '')}/`) ||
                registry === t,
            );
            return trusted
              ? undefined
              : `image "${image}" is from untrusted registry "${registry}"`;
          }),
  },
  {
    id: 'run-as-non-root',
    defaultSeverity: 'error',
    description: 'containers run as non-root',
    fix: 'Set securityContext.runAsNonRoot: true (on the pod or each container) and use an image with a non-root USER.',
    check: obj =>
      perContainer(obj, (c, spec) =>
        isTrue(c?.securityContext?.runAsNonRoot) ||
        (c?.securityContext?.runAsNonRoot === undefined &&
          isTrue(spec?.securityContext?.runAsNonRoot))
          ? undefined
          : 'runAsNonRoot is not true',
      ),
  },
  {
    id: 'no-privilege-escalation',
    defaultSeverity: 'error',
    description: 'containers set allowPrivilegeEscalation: false',
    fix: 'Set securityContext.allowPrivilegeEscalation: false on every container.',
    check: obj =>
      perContainer(obj, c =>
        c?.securityContext?.allowPrivilegeEscalation === false
          ? undefined
          : 'allowPrivilegeEscalation is not false',
      ),
  },
  {
    id: 'read-only-root-filesystem',
    defaultSeverity: 'warning',
    description: 'containers have a read-only root filesystem',
    fix: 'Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app must write.',
    check: obj =>
      perContainer(obj, c =>
        isTrue(c?.securityContext?.readOnlyRootFilesystem)
          ? undefined
          : 'readOnlyRootFilesystem is not true',
      ),
  },
  {
    id: 'no-privileged',
    defaultSeverity: 'error',
    description: 'containers are not privileged',
    fix: 'Remove securityContext.privileged: true; grant only the specific capabilities the container needs.',
    check: obj =>
      perContainer(obj, c =>
        isTrue(c?.securityContext?.privileged)
          ? 'runs privileged'
          : undefined,
      ),
  },
  {
    id: 'no-host-namespaces',
    defaultSeverity: 'error',
    description: 'pods do not share the host network, PID or IPC namespace',
    fix: 'Remove hostNetwork, hostPID and hostIPC from the pod spec.',
    check: obj => {
      const spec = podSpecOf(obj);
      if (!spec) return undefined;
      return ['hostNetwork', 'hostPID', 'hostIPC']
        .filter(k => isTrue(spec[k]))
        .map(k => `${k} is true`);
    },
  },
  {
    id: 'resource-requests',
    defaultSeverity: 'warning',
    description: 'containers request CPU and memory',
    fix: 'Set resources.requests.cpu and resources.requests.memory on every container.',
    check: obj =>
      perContainer(obj, c => {
        const missing = ['cpu', 'memory'].filter(
          r => c?.resources?.requests?.[r] === undefined,
        );
        return missing.length
          ? `missing requests: ${missing.join(', ')}`
          : undefined;
      }),
  },
  {
    id: 'resource-limits',
    defaultSeverity: 'warning',
    description: 'containers limit CPU and memory',
    fix: 'Set resources.limits.cpu and resources.limits.memory on every container.',
    check: obj =>
      perContainer(obj, c => {
        const missing = ['cpu', 'memory'].filter(
          r => c?.resources?.limits?.[r] === undefined,
        );
        return missing.length
          ? `missing limits: ${missing.join(', ')}`
          : undefined;
      }),
  },
  {
    id: 'probes',
    defaultSeverity: 'warning',
    description: 'long-running containers have liveness and readiness probes',
    fix: 'Add livenessProbe and readinessProbe (httpGet, tcpSocket or exec) to each container.',
    check: obj =>
      obj.kind === 'Job' || obj.kind === 'CronJob'
        ? undefined
        : perContainer(
            obj,
            c => {
              const missing = ['livenessProbe', 'readinessProbe'].filter(
                p => !c?.[p],
              );
              return missing.length
                ? `missing ${missing.join(' and ')}`
                : undefined;
            },
            mainContainersOf,
          ),
  },
  {
    id: 'replicas',
    defaultSeverity: 'warning',
    description: 'Deployments run at least 2 replicas',
    fix: 'Set replicas (or replicaCount) to 2 or more, or use a HorizontalPodAutoscaler with minReplicas >= 2.',
    check: (obj, ctx) => {
      if (obj.kind !== 'Deployment') return undefined;
      const hpa = ctx.objects.find(
        o =>
          o.kind === 'HorizontalPodAutoscaler' &&
          o.spec?.scaleTargetRef?.kind === 'Deployment' &&
          o.spec?.scaleTargetRef?.name === obj.metadata?.name,
      );
      if (hpa) {
        return (hpa.spec?.minReplicas ?? 1) >= 2
          ? []
          : ['HorizontalPodAutoscaler minReplicas < 2'];
      }
      const replicas = obj.spec?.replicas ?? 1;
      return replicas >= 2 ? [] : [`replicas is ${replicas}`];
    },
  },
  {
    id: 'pod-disruption-budget',
    defaultSeverity: 'warning',
    description: 'Deployments and StatefulSets are covered by a PodDisruptionBudget',
    fix: 'Add a PodDisruptionBudget whose selector matches the pod labels (e.g. minAvailable: 1).',
    check: (obj, ctx) => {
      if (obj.kind !== 'Deployment' && obj.kind !== 'StatefulSet') {
        return undefined;
      }
      const labels = podLabelsOf(obj);
      const covered = ctx.objects.some(o => {
        if (o.kind !== 'PodDisruptionBudget') return false;
        const sel: Record<string, string> | undefined =
          o.spec?.selector?.matchLabels;
        return (
          !!sel &&
          Object.keys(sel).length > 0 &&
          Object.entries(sel).every(([k, v]) => labels[k] === v)
        );
      });
      return covered ? [] : ['no PodDisruptionBudget selects its pods'];
    },
  },
  {
    id: 'no-plain-secrets',
    defaultSeverity: 'error',
    description: 'secrets are not set as plain env values or ConfigMap data',
    fix: 'Store the value in a Secret and reference it with env[].valueFrom.secretKeyRef (or envFrom.secretRef).',
    check: obj => {
      if (obj.kind === 'ConfigMap') {
        return Object.keys(obj.data ?? {})
          .filter(isSecretKey)
          .map(k => `ConfigMap key "${k}" looks like a secret`);
      }
      return perContainer(obj, c => {
        const bad = (Array.isArray(c?.env) ? c.env : [])
          .filter(
            (e: any) =>
              isSecretKey(String(e?.name ?? '')) &&
              typeof e?.value === 'string' &&
              e.value !== '',
          )
          .map((e: any) => e.name);
        return bad.length
          ? `plain env value for ${bad.join(', ')}`
          : undefined;
      });
    },
  },
  {
    id: 'service-type',
    defaultSeverity: 'error',
    description: 'Services are not exposed as LoadBalancer or NodePort unless allowed',
    fix: 'Use type ClusterIP behind an Ingress/HTTPRoute, or ask the platform team to allow the type (kubechart.policy.allowedServiceTypes).',
    check: (obj, ctx) => {
      if (obj.kind !== 'Service') return undefined;
      const type = obj.spec?.type ?? 'ClusterIP';
      return ctx.allowedServiceTypes.includes(type)
        ? []
        : [`type ${type} is not allowed`];
    },
  },
];
