import { KubeConfig } from '@kubernetes/client-node';
import { getJson, resourcePath } from './clusterRead';

/** Most bytes of the Namespace read to tell it exists: its metadata and status take a few KB. */
const MAX_NAMESPACE_BYTES = 64 * 1024;

/**
 * Whether the cluster has the namespace `name`, read with one GET as the kubeconfig's identity:
 * `false` only when the cluster answers 404, `undefined` when that cannot be told (an identity that
 * may not read it is answered 403 before the API server looks, the cluster does not answer, the
 * answer is too long).
 */
export async function namespaceExists(
  kc: KubeConfig,
  name: string,
): Promise<boolean | undefined> {
  try {
    await getJson(kc, resourcePath('namespaces', undefined, name), {
      maxBytes: MAX_NAMESPACE_BYTES,
    });
    return true;
  } catch (error) {
    return (error as { code?: unknown } | undefined)?.code === 404
      ? false
      : undefined;
  }
}
