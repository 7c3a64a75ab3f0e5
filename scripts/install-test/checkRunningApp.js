#!/usr/bin/env node
// Against the new app's running backend: the KubeChart features answer, the five template actions
// are registered, and the example chart template runs to the end with a succeeded kubechart run.
// Usage: checkRunningApp.js <backend base URL>
const [base] = process.argv.slice(2);

const ACTIONS = [
  'kubechart:chart:install',
  'kubechart:chart:validate',
  'kubechart:manifests:apply',
  'kubechart:tenant:delete',
  'kubechart:tenant:provision',
];
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function call(method, path, token, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'X-Requested-With': 'XMLHttpRequest',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function expectOk(method, path, token, body) {
  const r = await call(method, path, token, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(
      `${method} ${path} answered ${r.status}: ${r.text.slice(0, 500)}`,
    );
  }
  console.log(`  ${method} ${path} → ${r.status}`);
  return r.json;
}

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2000);
  }
}

async function main() {
  const session = await expectOk('GET', '/api/auth/guest/refresh');
  let token = session.backstageIdentity.token;

  // Each family's backend answers.
  await expectOk('GET', '/api/kubechart/runs', token);
  await expectOk('GET', '/api/kubechart/clusters', token);
  await expectOk('GET', '/api/audit-log/events', token);
  await expectOk('GET', '/api/kube-assistant/conversations', token);

  // The five actions are in the scaffolder.
  const actions = await expectOk('GET', '/api/scaffolder/v2/actions', token);
  const ours = actions
    .map(a => a.id)
    .filter(id => id.startsWith('kubechart:'))
    .sort();
  if (JSON.stringify(ours) !== JSON.stringify(ACTIONS)) {
    throw new Error(
      `kubechart actions registered: ${
        ours.join(', ') || 'none'
      }; expected ${ACTIONS.join(', ')}`,
    );
  }
  console.log(`  actions: ${ours.join(', ')}`);

  // The example chart template, as the catalog loaded it from examples/templates, and the example org's
  // guest user: a sign-in before the catalog has it carries no group, so sign in again once it is there.
  for (const ref of [
    'template/default/kubechart-chart',
    'user/default/guest',
  ]) {
    await waitFor(
      `${ref} in the catalog`,
      async () =>
        (
          await call('GET', `/api/catalog/entities/by-name/${ref}`, token)
        ).status === 200,
      180_000,
    );
  }
  const member = (await expectOk('GET', '/api/auth/guest/refresh'))
    .backstageIdentity;
  if (!member.identity.ownershipEntityRefs.includes('group:default/guests')) {
    throw new Error(
      `the guest sign-in does not carry group:default/guests: ${JSON.stringify(
        member.identity,
      )}`,
    );
  }
  token = member.token;
  const entityRef = 'component:default/example-website';
  const task = await expectOk('POST', '/api/scaffolder/v2/tasks', token, {
    templateRef: 'template:default/kubechart-chart',
    values: {
      chart: 'kubechart-service',
      cluster: 'kube-sim',
      namespace: 'shop',
      release: 'web',
      entity: entityRef,
      // What the template's YAML field submits: the mapping typed in the box.
      values: {
        image: { repository: 'ghcr.io/kubechart/example-web', tag: '1.0.0' },
        replicas: 2,
      },
      policyMode: 'enforce',
    },
  });
  const finished = await waitFor(
    `scaffolder task ${task.id}`,
    async () => {
      const t = (
        await call('GET', `/api/scaffolder/v2/tasks/${task.id}`, token)
      ).json;
      return t && ['completed', 'failed', 'cancelled'].includes(t.status)
        ? t
        : undefined;
    },
    300_000,
  );
  if (finished.status !== 'completed') {
    const events =
      (await call('GET', `/api/scaffolder/v2/tasks/${task.id}/events`, token))
        .json ?? [];
    const log = events
      .filter(e => e.type === 'log')
      .map(e => e.body?.message)
      .join('\n');
    throw new Error(
      `the example chart template ${finished.status}:\n${log.slice(-4000)}`,
    );
  }
  const runs = await expectOk(
    'GET',
    `/api/kubechart/runs?entityRef=${encodeURIComponent(entityRef)}`,
    token,
  );
  const run = runs.items.find(r => r.kind === 'chart');
  if (!run || run.status !== 'succeeded') {
    throw new Error(
      `no succeeded chart run in the deployment history: ${JSON.stringify(
        runs.items,
      ).slice(0, 800)}`,
    );
  }
  console.log(
    `  example chart template: task ${task.id} completed, run ${run.id} ${run.status} (helm revision ${run.helmRevision})`,
  );
}

main().catch(e => {
  console.error(e.message ?? e);
  process.exit(1);
});
