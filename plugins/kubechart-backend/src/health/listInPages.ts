import { KubernetesObject } from '@kubernetes/client-node';
import { kubeStatusCode } from '../lib/kubeErrors';
import type { ListPage } from './listPages';

/** Objects per list request of an informer. */
export const LIST_PAGE_SIZE = 100;

/** A page of a list, its items passed through `map`. */
export interface ListedPage<T> {
  items: T[];
  /** The resourceVersion of the list this page belongs to (its first page's). */
  resourceVersion: string;
  /** Whether the page begins a list: the first one, or the first after an expired continue token. */
  first: boolean;
}

/**
 * Lists a collection in pages of `limit` (the API server's `limit`/`continue`), yielding each page's
 * items passed through `map` as the page arrives, so a large collection is neither parsed in one block
 * nor held whole: neither the untrimmed page nor, when the reader applies it at once, the trimmed one
 * is kept past it. `map` is given to `listPage` too: one that passes each item through it as the item
 * is parsed (`makeListPages`) says so with `mappedBy`, and its items are not mapped again; any other
 * page's items are mapped here. Every page carries the first page's resourceVersion: a watch from it
 * replays whatever changed while the later pages were read. A continue token that expired (410) starts
 * the list over (a page marked `first` again).
 */
export async function* listInPages<T extends KubernetesObject>(
  listPage: ListPage<T>,
  map: (item: T) => T = item => item,
  limit = LIST_PAGE_SIZE,
): AsyncGenerator<ListedPage<T>> {
  // Only the mapped items and the continue token of a page are kept while the reader has it.
  const read = async (_continue?: string) => {
    const page = await listPage(
      _continue ? { limit, _continue } : { limit },
      map,
    );
    return {
      items: page.mappedBy === map ? page.items : page.items.map(map),
      resourceVersion: page.metadata?.resourceVersion ?? '',
      next: page.metadata?._continue,
    };
  };
  for (let attempt = 1; ; attempt++) {
    const first = await read();
    const resourceVersion = first.resourceVersion;
    let next = first.next;
    yield { items: first.items, resourceVersion, first: true };
    try {
      while (next) {
        const page = await read(next);
        next = page.next;
        yield { items: page.items, resourceVersion, first: false };
      }
    } catch (e) {
      if (kubeStatusCode(e) === 410 && attempt < 3) continue;
      throw e;
    }
    return;
  }
}
