import { renderKubectl } from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import { ParseContext, parseQuestion } from './parseQuestion';

/** Why a question is refused; fails when it is planned. */
function refusal(question: string, context?: ParseContext): string {
  let plan;
  try {
    plan = parseQuestion(question, context);
  } catch (e) {
    if (isPlanRefusal(e)) return (e as Error).message;
    throw e;
  }
  throw new Error(
    `planned: ${question} → ${renderKubectl(plan)} ${JSON.stringify(plan)}`,
  );
}

const EXPLAINED = /^I understood that .+, but .+\. Nothing was planned\.$/;

/** What the cluster has: a pod web-0 in staging, deployments web and payments-api. */
const cluster: ParseContext = {
  known: [
    { name: 'shop', resource: 'namespaces' },
    { name: 'staging', resource: 'namespaces' },
    { name: 'payments', resource: 'namespaces' },
    { name: 'web-0', resource: 'pods', namespace: 'staging' },
    { name: 'web', resource: 'deployments', namespace: 'staging' },
    { name: 'payments-api', resource: 'deployments', namespace: 'payments' },
  ] as ParseContext['known'],
};

describe('an action the parser does not know is refused, never planned as a read', () => {
  it('refuses "evict", "wipe" and other unknown leading actions, naming the word', () => {
    // Were planned as `kubectl get pods -n shop` (a harmless read under a destructive question).
    for (const [question, word] of [
      ['evict pods in shop', 'evict'],
      ['wipe pods in shop', 'wipe'],
      ['please evict pods in shop', 'evict'],
      ['can you wipe the pods in staging', 'wipe'],
      ['evict pods -n shop -l app=web', 'evict'],
      ['quarantine pod web-0 in staging', 'quarantine'],
      ['migrate pods in shop to node-2', 'migrate'],
      ['explain pods', 'explain'],
      ['watch pods in shop', 'watch'],
    ]) {
      const why = refusal(question, cluster);
      expect(why).toMatch(EXPLAINED);
      expect(why).toContain(`"${word}" is not an action the assistant knows`);
    }
    expect(refusal('evict pods in shop', cluster)).toBe(
      'I understood that you want to evict pods in shop, but "evict" is not an action the assistant knows, and it does not plan another in its place: it reads (get, describe, logs, top, events, rollout status and history, diagnose) and makes the changes it names exactly (delete, scale, rollout restart and undo, label, annotate, cordon, uncordon, drain, exec, patch). Ask with one of those. Nothing was planned.',
    );
  });

  it('keeps planning read questions, whatever word they start with', () => {
    for (const [question, command] of [
      ['show pods in shop', 'kubectl get pods -n shop'],
      ['list deployments in payments', 'kubectl get deployments -n payments'],
      ['what services are in shop', 'kubectl get services -n shop'],
      [
        'which configmaps exist in payments',
        'kubectl get configmaps -n payments',
      ],
      ['how many pods are in staging', 'kubectl get pods -n staging'],
      ['display the services in staging', 'kubectl get services -n staging'],
      [
        'can you show me the statefulsets in shop',
        'kubectl get statefulsets -n shop',
      ],
      ['please list nodes', 'kubectl get nodes'],
      ['pods in shop', 'kubectl get pods -n shop'],
      ['kubectl get pods -n shop', 'kubectl get pods -n shop'],
    ]) {
      expect(renderKubectl(parseQuestion(question, cluster))).toBe(command);
    }
    expect(parseQuestion('why are pods in staging pending', cluster)).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'staging',
      fieldSelector: 'status.phase=Pending',
    });
  });
});

describe('"why" questions about a list plan what answers them, or are refused', () => {
  it('reads "why aren\'t pods in shop ready" as the pods in shop that are not ready', () => {
    // Was `kubectl get pods -n shop`: every pod, ready or not.
    expect(parseQuestion("why aren't pods in shop ready", cluster)).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      filter: 'not-ready',
    });
    expect(
      parseQuestion("why aren't the deployments in shop ready", cluster),
    ).toEqual({
      verb: 'get',
      resource: 'deployments',
      namespace: 'shop',
      filter: 'not-ready',
    });
    expect(parseQuestion("why aren't pods in shop running", cluster)).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      fieldSelector: 'status.phase!=Running',
    });
  });

  it('refuses a "why" question a plain list would not answer', () => {
    const why = refusal('why are pods in shop slow', cluster);
    expect(why).toMatch(EXPLAINED);
    expect(why).toContain('a list of every one would not answer it');
  });
});

describe('kubectl logs NAME reads a pod', () => {
  it('reads the name after "logs" as a pod, and a kind/name as that kind', () => {
    // Was read as deployment web-1.
    expect(parseQuestion('logs web-1 --tail=20', cluster)).toEqual({
      verb: 'logs',
      resource: 'pods',
      name: 'web-1',
      tailLines: 20,
    });
    expect(parseQuestion('logs api-5d8f7 -n staging -p', cluster)).toEqual({
      verb: 'logs',
      resource: 'pods',
      name: 'api-5d8f7',
      namespace: 'staging',
      previous: true,
    });
    expect(
      parseQuestion('kubectl logs deploy/web -n staging --tail=10', cluster),
    ).toEqual({
      verb: 'logs',
      resource: 'deployments',
      name: 'web',
      namespace: 'staging',
      tailLines: 10,
    });
    // In words, a workload's logs are still its logs.
    expect(
      parseQuestion('show the logs of payments-api in payments', cluster),
    ).toMatchObject({ resource: 'deployments', name: 'payments-api' });
  });

  it('refuses kubectl logs NAME when NAME is a workload and no pod, saying how to ask', () => {
    const why = refusal('kubectl logs payments-api -n payments', cluster);
    expect(why).toMatch(EXPLAINED);
    expect(why).toContain('logs deployment/payments-api');
  });
});

describe('selectors negated in words are refused for that reason', () => {
  it('does not read "match" as "patch"', () => {
    for (const question of [
      "delete pods in shop that don't match app=web",
      'get pods in shop that do not match app=web',
      "restart deployments in shop that don't match app=web",
      "label pods in shop that don't match app=web with x=y",
    ]) {
      const why = refusal(question, cluster);
      expect(why).toMatch(EXPLAINED);
      expect(why).toContain('negates the selector');
      expect(why).not.toContain('patch');
    }
    // A pair after "matching" selects the objects of a label, as -l does; the others are set.
    expect(
      parseQuestion('label pods in shop matching app=web with tier=x', cluster),
    ).toEqual({
      verb: 'label',
      resource: 'pods',
      namespace: 'shop',
      labelSelector: 'app=web',
      labels: { tier: 'x' },
    });
    // Was refused as "patch an object".
    expect(
      parseQuestion('show pods in staging that match tier=db', cluster),
    ).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'staging',
      labelSelector: 'tier=db',
    });
  });
});

describe('output formats', () => {
  it('refuses -o with an argument its format does not take', () => {
    // Were read as -o json / -o yaml.
    for (const [question, flag] of [
      ['get deployment web -n staging -o json=x', '-o json=x'],
      ['get deployment web -n staging -o yaml=1', '-o yaml=1'],
      ['get deployment web -n staging --output=json=x', '-o json=x'],
      ['get deployment web -n staging -o=yaml=x', '-o yaml=x'],
      ['get pod web-0 -n staging -o json=', '-o json='],
    ]) {
      const why = refusal(question, cluster);
      expect(why).toMatch(EXPLAINED);
      expect(why).toContain(`the assistant does not print ${flag}`);
    }
    expect(
      parseQuestion('get deployment web -n staging -o=json', cluster),
    ).toMatchObject({ output: 'json' });
  });
});

describe('selectors and labels keep their case', () => {
  it('keeps the case of key=value pairs in words, as -l does', () => {
    // Were lower-cased: app=web.
    expect(parseQuestion('pods with label App=Web in shop', cluster)).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      labelSelector: 'App=Web',
    });
    expect(
      parseQuestion('delete pods in shop with label App=Web', cluster),
    ).toMatchObject({ verb: 'delete', labelSelector: 'App=Web' });
    expect(
      parseQuestion('label deployment web in staging with Team=Core', cluster),
    ).toMatchObject({ labels: { Team: 'Core' } });
    expect(
      parseQuestion(
        'annotate deployment web in staging with Owner=TeamA',
        cluster,
      ),
    ).toMatchObject({ annotations: { Owner: 'TeamA' } });
    expect(
      parseQuestion('pods in staging with label tier!=DB', cluster),
    ).toMatchObject({ labelSelector: 'tier!=DB' });
  });
});
