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

/**
 * The resourceVersion the real server answered with (the object's or the list's): within one step it gives
 * the order the exchanges were recorded in (a delete with grace 30, then one with 10, then 0). Answers
 * without one (errors, 404s) change nothing and go last.
 */
function recordedRv(exchange: any): number {
  const rv = Number(exchange.response?.body?.metadata?.resourceVersion);
  return Number.isFinite(rv) && rv > 0 ? rv : Number.MAX_SAFE_INTEGER;
}

/**
 * A recorded object as a client would have created it: without what the server sets (uid, resourceVersion,
 * timestamps, managedFields, status, generation, the garbage collector's finalizers, the revision a
 * Deployment controller writes, the ServiceAccount admission's token volume, allocated cluster IPs).
 */
function asCreated(recorded: any) {
  const obj = JSON.parse(JSON.stringify(recorded));
  const meta = obj.metadata;
  for (const k of [
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'managedFields',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'selfLink',
  ])
    delete meta[k];
  if (meta.finalizers) {
    meta.finalizers = meta.finalizers.filter(
      (f: string) => f !== 'orphan' && f !== 'foregroundDeletion',
    );
    if (meta.finalizers.length === 0) delete meta.finalizers;
  }
  for (const k of Object.keys(meta.annotations ?? {}))
    if (k.startsWith('deployment.kubernetes.io/')) delete meta.annotations[k];
  delete obj.status;
  const pod = obj.kind === 'Pod' ? obj.spec : undefined;
  if (pod) {
    const token = (v: any) => String(v.name).startsWith('kube-api-access-');
    pod.volumes = (pod.volumes ?? []).filter((v: any) => !token(v));
    for (const c of pod.containers ?? [])
      c.volumeMounts = (c.volumeMounts ?? []).filter((m: any) => !token(m));
  }
  if (obj.kind === 'Service') {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'])
      delete obj.spec?.[k];
  }
  // The recording's client sent no `creationTimestamp` in a pod template (rollout/01-deployment-create).
  if (obj.spec?.template?.metadata?.creationTimestamp === null)
    delete obj.spec.template.metadata.creationTimestamp;
  return obj;
}

/** Creates and deletes before other writes, reads last. */
function methodOrder(exchange: any): number {
  const method = exchange.request.method;
  if (method === 'POST' || method === 'DELETE') return 0;
  return method === 'GET' ? 2 : 1;
}

/**
 * Among exchanges of one step answered with the same resourceVersion, the first write made it, so it goes
 * before the reads that saw it (a PUT of a Lease, then the list showing it); other writes answered with it
 * made nothing new (a repeated delete, or the finalizer removal that let an object go, which answers its
 * last state: delete/07-configmap-with-finalizer-*) and go after the reads.
 */
function producerFirst<T extends { exchange: any }>(group: T[]): T[] {
  const writes = group.filter(c => c.exchange.request.method !== 'GET');
  const reads = group.filter(c => c.exchange.request.method === 'GET');
  return [...writes.slice(0, 1), ...reads, ...writes.slice(1)];
}

/**
 * Whether a Deployment's status shows a finished rollout: every replica updated and available, none
 * unavailable; with `synced`, also observed at its current generation.
 */
function settledDeployment(object: any, synced = false): boolean {
  const replicas = object?.spec?.replicas;
  const status = object?.status;
  return (
    object?.kind === 'Deployment' &&
    typeof replicas === 'number' &&
    (status?.updatedReplicas ?? 0) === replicas &&
    (status?.availableReplicas ?? 0) === replicas &&
    !status?.unavailableReplicas &&
    (!synced || status?.observedGeneration === object.metadata?.generation)
  );
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
  const sorted = folders
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
        recordedRv(a.exchange) - recordedRv(b.exchange) ||
        methodOrder(a.exchange) - methodOrder(b.exchange) ||
        a.file.localeCompare(b.file),
    );
  const cases: typeof sorted = [];
  for (let i = 0; i < sorted.length; ) {
    const key = (c: (typeof sorted)[number]) =>
      `${path.dirname(c.file)}|${step(c.file)}|${recordedRv(c.exchange)}`;
    let j = i + 1;
    while (j < sorted.length && key(sorted[j]) === key(sorted[i])) j++;
    cases.push(...producerFirst(sorted.slice(i, j)));
    i = j;
  }
  let same = 0;
  let replayed = 0;
  let setUp = 0;
  // Objects an exchange of this replay has touched (created, read, changed or deleted), by path.
  const touched = new Set<string>();
  // Recorded resourceVersions → kube-sim's, from the answers to the same exchanges.
  const rvs = new Map<string, string>();
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
    // State the recording built outside the folder: the first exchange on a named object the real server
    // answered with that object (a DELETE or GET of a Deployment made before the recording started) gets
    // it created first from that answer, stripped of what the server sets. Only the object's existence is
    // taken from the recording; what kube-sim answers to the exchange itself is compared as usual.
    const objectPath = request.path.split('?')[0];
    const named = objectPath.match(
      /^(.*\/(?:namespaces\/[^/]+\/)?[a-z0-9.]+)\/([^/]+)(?:\/(status|scale))?$/,
    );
    const recorded = exchange.response.body;
    if (
      named &&
      request.method !== 'POST' &&
      !touched.has(`${named[1]}/${named[2]}`) &&
      // 201: the exchange itself created it (server-side apply).
      exchange.response.status === 200 &&
      recorded?.metadata?.name === named[2] &&
      /^[A-Z]/.test(String(recorded?.kind)) &&
      !String(recorded?.kind).endsWith('List') &&
      !['Status', 'Table', 'PartialObjectMetadata'].includes(recorded.kind)
    ) {
      const exists = await fetch(`${sim.url}${named[1]}/${named[2]}`, {
        headers: admin,
      });
      if (exists.status === 404) {
        const made = await fetch(`${sim.url}${named[1]}`, {
          method: 'POST',
          headers: { ...admin, 'Content-Type': 'application/json' },
          body: JSON.stringify(asCreated(recorded)),
        });
        setUp += 1;
        console.log(
          `\n(${file}: ${named[1]}/${named[2]} set up from the recorded answer: ${made.status})`,
        );
        // Give the controllers the moment the recording had between the create and this exchange.
        await new Promise(resolve => setTimeout(resolve, 500));
      }
    }
    if (named) touched.add(`${named[1]}/${named[2]}`);
    if (request.method === 'POST' && recorded?.metadata?.name)
      touched.add(`${objectPath}/${recorded.metadata.name}`);
    let body: string | undefined;
    if (typeof request.body === 'string') body = request.body;
    else if (request.body !== undefined && request.body !== null) {
      // A resourceVersion the client took from an earlier recorded answer names kube-sim's version of that
      // same answer (an older one stays older: a stale PUT is still refused).
      const sent = request.body?.metadata?.resourceVersion;
      const mapped = sent !== undefined ? rvs.get(String(sent)) : undefined;
      body = JSON.stringify(
        mapped
          ? {
              ...request.body,
              metadata: { ...request.body.metadata, resourceVersion: mapped },
            }
          : request.body,
      );
    }
    // The recording was made once the Deployment controller had finished (the answer shows every replica
    // updated and available): wait, up to 10 s, until kube-sim's controller has too, so that a GET or patch
    // "after the rollout" is not compared with a rollout still under way.
    if (
      named &&
      /\/deployments$/.test(named[1]) &&
      settledDeployment(recorded)
    ) {
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        const now = await fetch(`${sim.url}${named[1]}/${named[2]}`, {
          headers: admin,
        });
        if (now.status !== 200 || settledDeployment(await now.json(), true))
          break;
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    }
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
    const simRv = (answer as any)?.metadata?.resourceVersion;
    const realRv = recorded?.metadata?.resourceVersion;
    if (simRv && realRv && !rvs.has(String(realRv)))
      rvs.set(String(realRv), String(simRv));
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
    `\n${same} of ${replayed} answers the same (volatile fields aside); ${setUp} objects set up from recorded answers`,
  );
  await sim.stop();
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
