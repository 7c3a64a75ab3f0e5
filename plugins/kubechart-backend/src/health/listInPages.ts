import { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { kubeStatusCode } from '../lib/kubeErrors';

/** Objects per list request of an informer. */
export const LIST_PAGE_SIZE = 100;

/**
 * Lists a collection in pages of `limit` (the API server's `limit`/`continue`), passing each page's
 * items through `map` as it arrives, so a large collection is neither parsed in one block nor held
 * whole. The answer carries the first page's resourceVersion: a watch from it replays whatever
 * changed while the later pages were read. A continue token that expired (410) starts the list over.
 */
export async function listInPages<T extends KubernetesObject>(
  listPage: (page: { limit: number; _continue?: string }) => Promise<KubernetesListObject<T>>,
  map: (item: T) => T = item => item,
  limit = LIST_PAGE_SIZE,
): Promise<KubernetesListObject<T>> {
  for (let attempt = 1; ; attempt++) {
    const first = await listPage({ limit });
    const items = first.items.map(map);
    let next = first.metadata?._continue;
    try {
      while (next) {
        const page = await listPage({ limit, _continue: next });
        for (const item of page.items) items.push(map(item));
        next = page.metadata?._continue;
      }
    } catch (e) {
      if (kubeStatusCode(e) === 410 && attempt < 3) continue;
      throw e;
    }
    return { ...first, metadata: { ...first.metadata, _continue: undefined }, items };
  }
}
