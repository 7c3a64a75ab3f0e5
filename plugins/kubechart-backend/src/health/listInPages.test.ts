import { ApiException, V1Pod } from '@kubernetes/client-node';
import { ListedPage, listInPages } from './listInPages';

const pods = (from: number, to: number): V1Pod[] =>
  Array.from({ length: to - from }, (_, i) => ({
    metadata: { name: `p-${from + i}`, annotations: { big: 'x' } },
  }));

/** A collection of 1,234 pods served in pages, as an API server does with limit/continue. */
function server(failContinueOnce = false) {
  const calls: Array<{ limit: number; _continue?: string }> = [];
  let failed = false;
  let rv = 100;
  const listPage = async (page: { limit: number; _continue?: string }) => {
    calls.push(page);
    rv += 1;
    const start = page._continue ? Number(page._continue) : 0;
    if (page._continue && failContinueOnce && !failed) {
      failed = true;
      throw new ApiException(
        410,
        'Expired',
        { reason: 'Expired', code: 410 },
        {},
      );
    }
    const end = Math.min(1234, start + page.limit);
    return {
      metadata: {
        resourceVersion: String(rv),
        _continue: end < 1234 ? String(end) : undefined,
      },
      items: pods(start, end),
    };
  };
  return { calls, listPage };
}

async function collect(pages: AsyncIterable<ListedPage<V1Pod>>) {
  const read: Array<ListedPage<V1Pod>> = [];
  for await (const page of pages) read.push(page);
  return read;
}

describe('listInPages', () => {
  it('yields every page as it comes, its items mapped, with the first page resourceVersion', async () => {
    const { calls, listPage } = server();
    const pages = listInPages(
      listPage,
      p => ({ metadata: { name: p.metadata?.name } }),
      500,
    );
    const first = await pages.next();
    // The first page is there before the next one is asked for.
    expect(calls).toHaveLength(1);
    expect(first.value).toMatchObject({ resourceVersion: '101', first: true });
    const rest = await collect(pages);
    expect(calls.map(c => c._continue ?? '')).toEqual(['', '500', '1000']);
    expect(calls.every(c => c.limit === 500)).toBe(true);
    expect(rest.map(p => [p.items.length, p.resourceVersion, p.first])).toEqual(
      [
        [500, '101', false],
        [234, '101', false],
      ],
    );
    expect(rest[1].items[233]).toEqual({ metadata: { name: 'p-1233' } });
  });

  it('gives map to the page function, and maps only the items of a page that did not map them itself', async () => {
    const { listPage } = server();
    const map = jest.fn((p: V1Pod) => ({
      metadata: { name: p.metadata?.name },
    }));
    // Odd pages are mapped as they are parsed (as makeListPages does), and say so; even ones are not.
    let calls = 0;
    const mapping = async (
      page: { limit: number; _continue?: string },
      given?: (item: V1Pod) => V1Pod,
    ) => {
      const answer = await listPage(page);
      if (calls++ % 2 === 0) return answer;
      return { ...answer, items: answer.items.map(given!), mappedBy: given };
    };
    const pages = await collect(listInPages(mapping, map, 500));
    expect(pages.flatMap(p => p.items)).toEqual(
      pods(0, 1234).map(p => ({ metadata: { name: p.metadata?.name } })),
    );
    // Once per item: the second page's items were mapped by the page function alone.
    expect(map).toHaveBeenCalledTimes(1234);
  });

  it('starts over when a continue token expired (410), marking the page that begins the list again', async () => {
    const { calls, listPage } = server(true);
    const pages = await collect(listInPages(listPage, undefined, 500));
    expect(calls.map(c => c._continue ?? '')).toEqual([
      '',
      '500',
      '',
      '500',
      '1000',
    ]);
    expect(
      pages.map(p => [p.items.length, p.resourceVersion, p.first]),
    ).toEqual([
      [500, '101', true],
      [500, '103', true],
      [500, '103', false],
      [234, '103', false],
    ]);
    expect(
      pages.slice(1).flatMap(p => p.items.map(i => i.metadata?.name)),
    ).toEqual(pods(0, 1234).map(p => p.metadata?.name));
  });
});
