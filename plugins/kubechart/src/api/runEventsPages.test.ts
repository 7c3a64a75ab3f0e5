import { KubechartClient } from './KubechartClient';

function jsonResponse(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });
}

const event = (seq: number) => ({
  seq,
  runId: 'r1',
  at: '2026-01-01T00:00:00.000Z',
  type: 'log',
  level: 'info',
  message: `line ${seq}`,
});

/**
 * The backend answers a run's events in pages of bounded size (`more` while the run holds more):
 * the run page's log must still show every line.
 */
describe('KubechartClient.getRunEvents', () => {
  const discoveryApi = {
    getBaseUrl: jest.fn(async () => 'http://backend/api/kubechart'),
  };
  const fetch = jest.fn();
  const client = new KubechartClient({ discoveryApi, fetchApi: { fetch } });
  beforeEach(() => fetch.mockReset());

  /** The backend's pages: `after` → the answer. */
  const serve = (pages: Record<string, object>) =>
    fetch.mockImplementation(async (url: string) => {
      const after = new URL(url).searchParams.get('after') ?? '';
      return jsonResponse(pages[after]);
    });

  it('reads on from the last event of each page while the backend says there is more', async () => {
    serve({
      '': { items: [event(1), event(2)], status: 'succeeded', more: true },
      '2': { items: [event(3), event(4)], status: 'succeeded', more: true },
      '4': { items: [event(5)], status: 'succeeded' },
    });
    const events = await client.getRunEvents('r1');
    expect(events.map(e => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(fetch.mock.calls.map(([url]) => new URL(url).search)).toEqual([
      '',
      '?after=2',
      '?after=4',
    ]);
  });

  it('starts after the events already loaded, and asks once when all fit one page', async () => {
    serve({ '7': { items: [event(8)], status: 'running' } });
    const events = await client.getRunEvents('r1', 7);
    expect(events.map(e => e.seq)).toEqual([8]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('stops on a page that says more but holds nothing, rather than asking forever', async () => {
    serve({ '': { items: [], status: 'running', more: true } });
    await expect(client.getRunEvents('r1')).resolves.toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
