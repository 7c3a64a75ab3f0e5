import { KubernetesObject } from '@kubernetes/client-node';
import { kubeStatusCode } from '../lib/kubeErrors';
import { ListPage, MAX_PAGE_BYTES, PageTooLong } from './listPages';

/** Objects per list request of an informer, at most (fewer when its objects are large). */
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
 *
 * A page longer than the page function reads at once ({@link PageTooLong}) is asked again, with the
 * same continue token, for a tenth of the objects, down to one; a page the function says the bytes of
 * sets the next pages' size to as many objects of that size as half of {@link MAX_PAGE_BYTES} holds (at
 * most `limit`), so a collection of large objects is not read a page too long at a time. An object
 * alone longer than that bound fails the list with the reason: it is not left out of a cache that
 * would then look complete.
 */
export async function* listInPages<T extends KubernetesObject>(
  listPage: ListPage<T>,
  map: (item: T) => T = item => item,
  limit = LIST_PAGE_SIZE,
): AsyncGenerator<ListedPage<T>> {
  // Objects asked for in one page: fewer once the cluster's pages show large objects.
  let pageSize = limit;
  // Only the mapped items and the continue token of a page are kept while the reader has it.
  const read = async (_continue?: string) => {
    for (;;) {
      let page: Awaited<ReturnType<ListPage<T>>>;
      try {
        page = await listPage(
          _continue ? { limit: pageSize, _continue } : { limit: pageSize },
          map,
        );
      } catch (e) {
        if (!(e instanceof PageTooLong)) throw e;
        if (pageSize === 1)
          throw new Error(
            `an object of the list is longer than the ${MAX_PAGE_BYTES} bytes health reads at once`,
          );
        // The same page again, for fewer objects.
        pageSize = Math.max(1, Math.floor(pageSize / 10));
        continue;
      }
      const count = page.items.length;
      if (page.bytes !== undefined && count > 0)
        pageSize = Math.min(
          limit,
          Math.max(1, Math.floor(MAX_PAGE_BYTES / 2 / (page.bytes / count))),
        );
      return {
        items: page.mappedBy === map ? page.items : page.items.map(map),
        resourceVersion: page.metadata?.resourceVersion ?? '',
        next: page.metadata?._continue,
      };
    }
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
