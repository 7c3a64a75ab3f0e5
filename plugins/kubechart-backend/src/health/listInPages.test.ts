import { ApiException, V1Pod } from '@kubernetes/client-node';
import { listInPages } from './listInPages';

const pods = (from: number, to: number): V1Pod[] =>
  Array.from({ length: to - from }, (_, i) => ({ metadata: { name: `p-${from + i}`, annotations: { big: 'x' } } }));

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
      throw new ApiException(410, 'Expired', { reason: 'Expired', code: 410 }, {});
    }
    const end = Math.min(1234, start + page.limit);
    return { metadata: { resourceVersion: String(rv), _continue: end < 1234 ? String(end) : undefined }, items: pods(start, end) };
  };
  return { calls, listPage };
}

describe('listInPages', () => {
  it('reads every page, maps items as they come, and keeps the first page resourceVersion', async () => {
    const { calls, listPage } = server();
    const list = await listInPages(listPage, p => ({ metadata: { name: p.metadata?.name } }), 500);
    expect(calls.map(c => c._continue ?? '')).toEqual(['', '500', '1000']);
    expect(calls.every(c => c.limit === 500)).toBe(true);
    expect(list.items).toHaveLength(1234);
    expect(list.items[1233]).toEqual({ metadata: { name: 'p-1233' } });
    expect(list.metadata).toEqual({ resourceVersion: '101', _continue: undefined });
  });

  it('starts over when a continue token expired (410)', async () => {
    const { calls, listPage } = server(true);
    const list = await listInPages(listPage, undefined, 500);
    expect(calls.map(c => c._continue ?? '')).toEqual(['', '500', '', '500', '1000']);
    expect(list.items.map(p => p.metadata?.name)).toEqual(pods(0, 1234).map(p => p.metadata?.name));
    expect(list.metadata?.resourceVersion).toBe('103');
  });
});
