/**
 * Replays the recorded requests of ../shared/reference/kube-api/<folders> against a fresh kube-sim and prints,
 * per exchange, where kube-sim's answer differs from the real server's (status code and body; uids,
 * resourceVersions, timestamps and generated name suffixes are ignored). It is how the conformance tests'
 * expectations are checked without a real cluster.
 *
 * Usage (from packages/kube-sim): node --require sucrase/register scripts/replay-recordings.ts fields rollout …
 *
 * The folders are replayed in file order, creates before the reads of the same step; exchanges that depended
 * on state the recording built outside the folder (or on a kubelet's timing) show as differences too, so read
 * the output, don't count it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startKubeSim } from '../src/startKubeSim';

const REFERENCE = path.resolve(
  __dirname,
  '../../../../shared/reference/kube-api',
);
const VOLATILE = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'time',
  'deletionTimestamp',
  'lastUpdateTime',
  'lastTransitionTime',
  'continue',
  'clusterIP',
  'clusterIPs',
  'eventTime',
  'firstTimestamp',
  'lastTimestamp',
  'renewTime',
  'acquireTime',
]);
const MAX_DIFFERENCES = 12;

function differences(real: any, sim: any, at: string, out: string[]) {
  if (out.length > MAX_DIFFERENCES || real === sim) return;
  const scalar = (v: unknown) => v === null || typeof v !== 'object';
  if (
    scalar(real) ||
    scalar(sim) ||
    Array.isArray(real) !== Array.isArray(sim)
  ) {
    const key = at
      .split('.')
      .pop()!
      .replace(/\[\d+\]$/, '');
    if (VOLATILE.has(key)) return;
    const suffixless = (v: unknown) =>
      typeof v === 'string' ? v.replace(/[a-z0-9]{5}$/, '') : v;
    if (typeof real === 'string' && suffixless(real) === suffixless(sim))
      return;
    out.push(
      `${at || '(body)'}: real ${JSON.stringify(real)?.slice(
        0,
        160,
      )}, kube-sim ${JSON.stringify(sim)?.slice(0, 160)}`,
    );
    return;
  }
  if (Array.isArray(real)) {
    if (real.length !== sim.length)
      out.push(`${at}: real ${real.length} items, kube-sim ${sim.length}`);
    for (let i = 0; i < Math.min(real.length, sim.length); i++)
      differences(real[i], sim[i], `${at}[${i}]`, out);
    return;
  }
  for (const k of new Set([...Object.keys(real), ...Object.keys(sim)])) {
    if (VOLATILE.has(k)) continue;
    if (!(k in sim))
      out.push(
        `${at}.${k}: only real (${JSON.stringify(real[k])?.slice(0, 120)})`,
      );
    else if (!(k in real))
      out.push(
        `${at}.${k}: only kube-sim (${JSON.stringify(sim[k])?.slice(0, 120)})`,
      );
    else differences(real[k], sim[k], `${at}.${k}`, out);
  }
}

async function main() {
  const folders = process.argv.slice(2);
  if (folders.length === 0) {
    console.error(
      'name one or more folders of the recordings, e.g. fields rollout',
    );
    process.exit(2);
  }
  const sim = await startKubeSim({ port: 0, podReadyDelayMs: 300 });
  const admin = { Authorization: `Bearer ${sim.token}`, 'User-Agent': '' };
  const step = (file: string) => path.basename(file).split('-')[0];
  const cases = folders
    .flatMap(folder =>
      fs
        .readdirSync(path.join(REFERENCE, folder))
        .filter(name => name.endsWith('.json'))
        .map(name => path.join(folder, name)),
    )
    .map(file => ({
      file,
      exchange: JSON.parse(fs.readFileSync(path.join(REFERENCE, file), 'utf8')),
    }))
    .filter(c => c.exchange.request && c.exchange.response)
    .sort(
      (a, b) =>
        path.dirname(a.file).localeCompare(path.dirname(b.file)) ||
        step(a.file).localeCompare(step(b.file)) ||
        Number(a.exchange.request.method === 'GET') -
          Number(b.exchange.request.method === 'GET') ||
        a.file.localeCompare(b.file),
    );
  let same = 0;
  let replayed = 0;
  for (const { file, exchange } of cases) {
    const request = exchange.request;
    const headers: Record<string, string> = { ...admin };
    for (const [k, v] of Object.entries(request.headers ?? {}))
      if (k !== 'Authorization') headers[k] = String(v);
    // Client-certificate identities and watches are not replayed here.
    if (headers['(client certificate)'] || /[?&]watch=/.test(request.path))
      continue;
    const namespace = request.path.match(/\/namespaces\/([^/?]+)\//)?.[1];
    if (namespace) {
      await fetch(`${sim.url}/api/v1/namespaces`, {
        method: 'POST',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { name: namespace } }),
      });
    }
    let body: string | undefined;
    if (typeof request.body === 'string') body = request.body;
    else if (request.body !== undefined && request.body !== null)
      body = JSON.stringify(request.body);
    const res = await fetch(`${sim.url}${request.path}`, {
      method: request.method,
      headers,
      body,
    });
    const text = await res.text();
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
    } catch {
      // Not JSON (YAML, plain text): compared as text.
    }
    const out: string[] = [];
    if (res.status !== exchange.response.status)
      out.push(
        `status: real ${exchange.response.status}, kube-sim ${res.status}`,
      );
    differences(exchange.response.body, answer, '', out);
    replayed += 1;
    if (out.length === 0) same += 1;
    else {
      console.log(`\n${file}: ${request.method} ${request.path}`);
      for (const line of out) console.log(`  ${line}`);
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  console.log(
    `\n${same} of ${replayed} answers the same (volatile fields aside)`,
  );
  await sim.stop();
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
