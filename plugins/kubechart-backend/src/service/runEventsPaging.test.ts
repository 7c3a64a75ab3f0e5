import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import http from 'node:http';
import { Knex } from 'knex';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** The most one answer of `GET /runs/:id/events` may weigh (its JSON, in bytes), with room for its envelope. */
const PAGE_BYTES = 1024 * 1024;

/**
 * A run's events are read in answers of bounded size: a recorded run's writer may append any
 * number of events of up to 10,000 characters, and one answer of all of them ran to tens of
 * megabytes, holding the event loop while it was serialised.
 */
describe.each(databases.eachSupportedId())(
  'GET /runs/:id/events on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    let knex: Knex;
    let next = 0;

    beforeAll(async () => {
      sim = await startSim();
      knex = await databases.init(databaseId);
      const config = testConfig(sim, {
        health: { startOnBoot: false },
        clusters: {
          dev: {
            namespaces: Object.fromEntries(
              Array.from({ length: 10 }, (_, i) => [
                `paged-${i}`,
                { owner: 'user:default/mock' },
              ]),
            ),
          },
        },
      });
      const backend = await startKubechartBackend({ config, knex });
      server = backend.server;
      stop = () => backend.stop();
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    const api = (path: string) => `/api/kubechart${path}`;
    /** A finished recorded run (in a namespace of its own) holding `messages` as its log. */
    const runWith = async (messages: string[]) => {
      const r = await request(server)
        .post(api('/runs/record'))
        .send({
          kind: 'custom',
          action: 'acme:log:write',
          target: { cluster: 'dev', namespace: `paged-${next++}` },
        });
      expect(r.status).toBe(201);
      const id: string = r.body.id;
      // At most 400 events of 10,000 characters a call: under the 5 MB body limit.
      for (let i = 0; i < messages.length; i += 400) {
        const appended = await request(server)
          .post(api(`/runs/${id}/events`))
          .send({
            events: messages.slice(i, i + 400).map(message => ({ message })),
          });
        expect(appended.status).toBe(204);
      }
      const finished = await request(server)
        .post(api(`/runs/${id}/finish`))
        .send({ status: 'succeeded' });
      expect(finished.status).toBe(204);
      return id;
    };
    /** Reads every page of a run's events as a client does: on from the last `seq` while `more`. */
    const readAll = async (id: string) => {
      const pages: Array<{ bytes: number; count: number; more: unknown }> = [];
      const messages: string[] = [];
      let after: number | undefined;
      for (;;) {
        const r = await request(server).get(
          api(
            `/runs/${id}/events${after === undefined ? '' : `?after=${after}`}`,
          ),
        );
        expect(r.status).toBe(200);
        pages.push({
          bytes: Buffer.byteLength(r.text),
          count: r.body.items.length,
          more: r.body.more,
        });
        messages.push(...r.body.items.map((e: any) => e.message));
        if (!r.body.more || pages.length > 100) break;
        after = r.body.items[r.body.items.length - 1].seq;
      }
      return { pages, messages };
    };
    const heavy = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        `line ${i} ${'x'.repeat(9_000)}`.slice(0, 9_000),
      );

    it('answers a run of megabytes of log in pages of at most a megabyte, and reading on with `after` gets every event once, in order', async () => {
      const messages = heavy(300); // 2.7 MB of log
      const id = await runWith(messages);
      const { pages, messages: read } = await readAll(id);
      for (const p of pages) {
        expect(p.bytes).toBeLessThanOrEqual(PAGE_BYTES);
        expect(p.count).toBeGreaterThan(0);
      }
      expect(pages.length).toBeGreaterThanOrEqual(3);
      // Every page but the last says there is more; the last does not.
      expect(pages.map(p => p.more)).toEqual([
        ...Array(pages.length - 1).fill(true),
        undefined,
      ]);
      expect(read).toEqual(messages);
    });

    it('says when a page stopped at its count: a run of more than 5,000 short lines reads on to the last one', async () => {
      const messages = Array.from({ length: 5_100 }, (_, i) => `line ${i}`);
      const id = await runWith(messages);
      const { pages, messages: read } = await readAll(id);
      expect(pages.map(p => [p.count, p.more])).toEqual([
        [5_000, true],
        [100, undefined],
      ]);
      expect(read).toEqual(messages);
    });

    it('answers a run without events with an empty page and nothing more', async () => {
      const id = await runWith([]);
      const { pages } = await readAll(id);
      expect(pages).toEqual([
        { bytes: expect.any(Number), count: 0, more: undefined },
      ]);
    });

    /**
     * Follows a run's events (`?follow=true`) to the end of the stream, handing each NDJSON line to
     * `onLine` as it arrives (so the reader holds only a line at a time, as a client would).
     */
    const follow = (id: string, onLine: (line: any) => void) =>
      new Promise<void>((resolve, reject) => {
        const { port } = server.address();
        http
          .get(
            `http://127.0.0.1:${port}${api(`/runs/${id}/events?follow=true`)}`,
            res => {
              let pending = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                const lines = (pending + chunk).split('\n');
                pending = lines.pop()!;
                for (const l of lines) if (l) onLine(JSON.parse(l));
              });
              res.on('end', () => {
                if (pending) onLine(JSON.parse(pending));
                resolve();
              });
            },
          )
          .on('error', reject);
      });

    /**
     * Runs `work`, noting how many rows each read of run events from the database returned: what the
     * server then holds and serialises before it next lets the event loop run.
     */
    const eventReads = async (work: () => Promise<void>) => {
      const rows: number[] = [];
      const onResponse = (response: unknown, query: { sql?: string }) => {
        if (
          /^\s*select\b[\s\S]*\bkubechart_run_events\b/i.test(
            query.sql ?? '',
          ) &&
          Array.isArray(response)
        )
          rows.push(response.length);
      };
      knex.on('query-response', onResponse);
      try {
        await work();
      } finally {
        knex.off('query-response', onResponse);
      }
      return rows;
    };

    it('streams a backlog of megabytes with follow=true: every event once, in order, then the end', async () => {
      const messages = heavy(300);
      const id = await runWith(messages);
      const parsed: any[] = [];
      await follow(id, line => parsed.push(line));
      expect(
        parsed.filter(l => l.type === 'event').map(l => l.event.message),
      ).toEqual(messages);
      expect(parsed[parsed.length - 1]).toMatchObject({
        type: 'end',
        status: 'succeeded',
      });
    });

    it('reads 5,000 events of 9 KB from the database at most 501 at a time, paged or followed, so no answer holds the event loop', async () => {
      const messages = heavy(5_000); // 45 MB of log
      const id = await runWith(messages);
      const paged = await eventReads(async () => {
        const r = await request(server).get(api(`/runs/${id}/events`));
        expect(r.status).toBe(200);
        expect(Buffer.byteLength(r.text)).toBeLessThanOrEqual(PAGE_BYTES);
        expect(r.body.more).toBe(true);
      });
      const followed = await eventReads(async () => {
        const seqs: number[] = [];
        let last: any;
        await follow(id, line => {
          if (line.type === 'event') seqs.push(line.event.seq);
          last = line;
        });
        expect(seqs.length).toBe(5_000);
        expect(new Set(seqs).size).toBe(5_000);
        expect(last).toMatchObject({ type: 'end', status: 'succeeded' });
      });
      // Each read is at most 500 events and one to tell whether there are more (some 5 MB), never
      // the whole backlog: the server lets other requests in between reads.
      expect(paged.length).toBeGreaterThan(0);
      expect(followed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5_000);
      expect({ paged, followed }).toEqual({
        paged: paged.map(n => (n <= 501 ? n : '<= 501')),
        followed: followed.map(n => (n <= 501 ? n : '<= 501')),
      });
    });
  },
);
