// The pages a user waits for, timed in a real browser against the production build (run by
// scripts/bench-web.sh, `yarn bench:web`, which seeds the data and starts `make start-prod` first).
// Not a test: prints figures. For each page, one warm-up load and then BENCH_WEB_ROUNDS (20) loads,
// each a full navigation of a signed-in browser (cache warm, as for a returning user); the time is
// the page's own clock (performance.now(), from the start of the navigation) at the first animation
// frame in which what the user waits for is on screen.
import type { Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import {
  appUrl,
  backendUrl,
  guestToken,
  launchBrowser,
  openSignedIn,
} from './browser.ts';

const ROUNDS = Number(process.env.BENCH_WEB_ROUNDS ?? 20);
const ENTITY =
  process.env.BENCH_WEB_ENTITY ?? 'component:default/inventory-service';
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 10_000);
const EVENTS = Number(process.env.BENCH_WEB_EVENTS ?? 1_000_000);
const TARGET_MS = 1500;
/** The newest event the audit page lists (it opens on changes: medium severity and up); see checkSeed. */
let newestChange = Infinity;

type Check = (page: Page) => Promise<void>;

/** What the user waits for on a page, tested in the page at every animation frame. */
type Target = {
  name: string;
  path: string;
  /** Runs in the browser: true once the awaited content is on screen. */
  ready: () => boolean;
  /** After the timed load: the content is the seeded data (not an empty or error state). */
  check: Check;
};

const [kind, namespace, name] = ENTITY.replace(':', '/').split('/');

const targets: Target[] = [
  {
    name: `deployment history, ${RUNS.toLocaleString(
      'en-US',
    )} runs of ${ENTITY}`,
    path: `/catalog/${namespace}/${kind}/${name}/deployment-history`,
    ready: () => {
      const row = document.querySelector('tbody tr td');
      const text = row?.closest('tr')?.textContent ?? '';
      return (
        /succeeded|failed/.test(text) &&
        (row as HTMLElement).getBoundingClientRect().height > 0
      );
    },
    check: async page => {
      // The newest seeded run (helm revision RUNS) heads the table.
      const first = page.locator('tbody tr').first();
      const text = await first.innerText();
      if (!text.includes(String(RUNS))) {
        throw new Error(
          `the history's first row is not the newest seeded run: ${text}`,
        );
      }
    },
  },
  {
    name: `audit log, ${EVENTS.toLocaleString('en-US')} events`,
    path: '/audit-log',
    ready: () => {
      const cell = document.querySelector('tbody tr td');
      return (
        !!cell &&
        /^\d+$/.test((cell.textContent ?? '').trim()) &&
        (cell as HTMLElement).getBoundingClientRect().height > 0
      );
    },
    check: async page => {
      const seq = Number(
        (await page.locator('tbody tr td').first().innerText()).trim(),
      );
      if (!(seq >= newestChange)) {
        throw new Error(
          `the audit log's first row is event ${seq}; the newest change is ${newestChange}`,
        );
      }
    },
  },
  {
    name: 'home page, cluster health and assistant widgets',
    path: '/',
    ready: () => {
      const visible = (el: Element | null) =>
        !!el && (el as HTMLElement).getBoundingClientRect().height > 0;
      return (
        visible(
          document.querySelector('[data-testid="kubechart-cluster-kube-sim"]'),
        ) &&
        visible(document.querySelector('[aria-label="Kubernetes assistant"]'))
      );
    },
    check: async page => {
      const health = await page
        .getByTestId('kubechart-cluster-kube-sim')
        .innerText();
      if (!/Nodes ready: \d+\/\d+/.test(health)) {
        throw new Error(`the cluster health widget shows no nodes: ${health}`);
      }
    },
  },
];

/** One full navigation; the page's clock when the target's content was first on screen. */
async function timeLoad(page: Page, target: Target): Promise<number> {
  await page.goto(new URL(target.path, appUrl).toString(), {
    waitUntil: 'commit',
  });
  const handle = await page.waitForFunction(
    `(${target.ready.toString()})() ? performance.now() : false`,
    undefined,
    { polling: 'raf', timeout: 60_000 },
  );
  return Number(await handle.jsonValue());
}

function percentile(sorted: number[], p: number): number {
  return sorted[
    Math.min(
      sorted.length - 1,
      Math.max(0, Math.ceil((p / 100) * sorted.length) - 1),
    )
  ];
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The seeded data is what the backend serves, before any timing. */
async function checkSeed() {
  const token = await guestToken();
  const get = async (path: string) => {
    const res = await fetch(`${backendUrl}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (res.status !== 200)
      throw new Error(`GET ${path} answered ${res.status}`);
    return res.json();
  };
  const events = await get('/api/audit-log/events?limit=1');
  const newest = events.items?.[0]?.seq;
  if (!(newest >= EVENTS)) {
    throw new Error(
      `the audit log's newest event is ${newest}; ${EVENTS} were seeded`,
    );
  }
  const changes = await get(
    '/api/audit-log/events?limit=1&severity=medium,high,critical',
  );
  newestChange = changes.items?.[0]?.seq;
  if (!(newestChange > EVENTS - 100)) {
    throw new Error(
      `the newest change in the audit log is ${newestChange}; ${EVENTS} events were seeded`,
    );
  }
  const runs = await get(
    `/api/kubechart/runs?entityRef=${encodeURIComponent(ENTITY)}&limit=1`,
  );
  if (runs.items?.[0]?.helmRevision !== RUNS) {
    throw new Error(
      `the newest run of ${ENTITY} is not the newest seeded one: ${JSON.stringify(
        runs.items?.[0],
      )}`,
    );
  }
}

async function main() {
  await checkSeed();
  const load = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.log(`# Pages a user waits for, production build (${appUrl})\n`);
  console.log(`load before: ${load()}`);
  const browser = await launchBrowser();
  const results: Array<{ target: Target; times: number[] }> = [];
  try {
    const page = await openSignedIn(browser, '/');
    for (const target of targets) {
      await timeLoad(page, target); // warm-up: not counted
      await target.check(page);
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        times.push(await timeLoad(page, target));
      }
      await target.check(page);
      times.sort((a, b) => a - b);
      results.push({ target, times });
    }
  } finally {
    await browser.close();
  }
  console.log(`load after:  ${load()}\n`);
  let missed = 0;
  for (const { target, times } of results) {
    const p95 = percentile(times, 95);
    if (p95 >= TARGET_MS) missed += 1;
    console.log(
      `${target.name}: p50 ${fmt(percentile(times, 50))}, p95 ${fmt(
        p95,
      )}, max ${fmt(times[times.length - 1])} over ${
        times.length
      } loads (target p95 < ${fmt(TARGET_MS)}: ratio ${(
        p95 / TARGET_MS
      ).toFixed(2)}${p95 >= TARGET_MS ? ', MISSED' : ''})`,
    );
  }
  console.log(
    missed
      ? `\n${missed} of ${results.length} pages missed the target`
      : '\nevery page met the target',
  );
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
