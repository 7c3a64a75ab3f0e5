import { objectIndex } from '../objectIndex';
import { PolicyRule } from '../types';
import { IMAGE_FROM_CONTROLLER } from '../podSpec';
import { isTrue, parseImage, perContainer, perPod } from './util';

/** Image and container security-context rules (Polaris: tagNotSpecified, runAsRootAllowed, …). */
export const workloadRules: PolicyRule[] = [
  {
    id: 'image-tag',
    defaultSeverity: 'error',
    description: 'images are pinned to a tag other than latest (or a digest)',
    fix: 'Set image.tag to a fixed version (e.g. "1.4.2") or pin a digest (image@sha256:…).',
    check: obj =>
      perContainer(obj, c => {
        // Its controller supplies the image (an Argo Events sensor's container).
        if (c?.[IMAGE_FROM_CONTROLLER]) return undefined;
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
            if (c?.[IMAGE_FROM_CONTROLLER]) return undefined;
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
    id: 'image-pull-policy',
    defaultSeverity: 'warning',
    description: 'images are pulled on every start (imagePullPolicy: Always)',
    fix: 'Set imagePullPolicy: Always, so every pod start checks the registry and its pull credentials instead of reusing an image cached on the node.',
    check: obj =>
      perContainer(obj, c =>
        c?.imagePullPolicy === 'Always' || c?.[IMAGE_FROM_CONTROLLER]
          ? undefined
          : `imagePullPolicy is ${c?.imagePullPolicy ?? 'not set'}, not Always`,
      ),
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
        isTrue(c?.securityContext?.privileged) ? 'runs privileged' : undefined,
      ),
  },
  {
    id: 'automount-service-account-token',
    defaultSeverity: 'warning',
    description: 'pods do not mount a service account token they do not need',
    fix: 'Set automountServiceAccountToken: false on the pod spec (or on its ServiceAccount); mount a projected token only where the app calls the Kubernetes API.',
    check: (obj, ctx) =>
      perPod(obj, spec => {
        if (spec.automountServiceAccountToken === false) return [];
        if (spec.automountServiceAccountToken === true)
          return ['automountServiceAccountToken is true'];
        const saName = String(
          spec.serviceAccountName ?? spec.serviceAccount ?? 'default',
        );
        const sa = objectIndex(ctx).named(
          'ServiceAccount',
          ctx.namespaceOf(obj),
          saName,
        );
        if (sa?.automountServiceAccountToken === false) return [];
        return [
          `the token of service account "${saName}" is mounted (automountServiceAccountToken is not false)`,
        ];
      }),
  },
];
