import { randomInt } from 'node:crypto';
import { isPlainObject, KubeObject } from './types';

/** Where the ServiceAccount admission plugin mounts the API credentials in every container. */
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const VOLUME_PREFIX = 'kube-api-access-';
/** The alphabet of the API server's generated name suffixes (no vowels, no look-alikes). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function suffix(length: number) {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** The projected volume a v1.26 server adds (../shared/reference/kube-api/pod-pending-real.json). */
function tokenVolume(name: string) {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        {
          configMap: {
            name: 'kube-root-ca.crt',
            items: [{ key: 'ca.crt', path: 'ca.crt' }],
          },
        },
        {
          downwardAPI: {
            items: [
              {
                path: 'namespace',
                fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
              },
            ],
          },
        },
      ],
      defaultMode: 420,
    },
  };
}

/**
 * The ServiceAccount admission plugin on pod create: unless the pod (or else its ServiceAccount) sets
 * `automountServiceAccountToken: false`, every init and app container without a mount at
 * {@link TOKEN_MOUNT_PATH} gets a read-only mount of a projected `kube-api-access-<5>` volume, which is
 * appended to the pod's volumes.
 */
export function mountServiceAccountToken(
  pod: KubeObject,
  serviceAccount: KubeObject | undefined,
) {
  const spec = pod.spec;
  if (!isPlainObject(spec)) return;
  const automount =
    typeof spec.automountServiceAccountToken === 'boolean'
      ? spec.automountServiceAccountToken
      : serviceAccount?.automountServiceAccountToken !== false;
  if (!automount) return;
  const volumes: any[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find(
    v => isPlainObject(v) && String(v.name ?? '').startsWith(VOLUME_PREFIX),
  );
  const name: string = existing?.name ?? `${VOLUME_PREFIX}${suffix(5)}`;
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isPlainObject(c)) continue;
      const mounts: any[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some(m => m?.mountPath === TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [
        ...mounts,
        { name, readOnly: true, mountPath: TOKEN_MOUNT_PATH },
      ];
      needed = true;
    }
  }
  if (needed && !existing) spec.volumes = [...volumes, tokenVolume(name)];
}
