import {
  classifySafety,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import { ParseContext, parseQuestion } from './parseQuestion';

/** The command a question plans; fails when it is refused. */
function command(question: string, context?: ParseContext): string {
  return renderKubectl(parseQuestion(question, context));
}

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

/** What the cluster has: a pod web-0 and a deployment web in staging, checkout-web in shop. */
const cluster: ParseContext = {
  known: [
    { name: 'shop', resource: 'namespaces' },
    { name: 'staging', resource: 'namespaces' },
    { name: 'payments', resource: 'namespaces' },
    { name: 'web-0', resource: 'pods', namespace: 'staging' },
    { name: 'web', resource: 'deployments', namespace: 'staging' },
    { name: 'checkout-web', resource: 'deployments', namespace: 'shop' },
  ] as ParseContext['known'],
};

describe('a question about restarts is a read, a request to restart a restart', () => {
  it('plans a question about restart counts as a list of pods, never a rollout restart', () => {
    // Were planned as `kubectl rollout restart deployments -n …` (every deployment restarted), and
    // "restart count of pod web-0" as `kubectl delete pod web-0`.
    const byRestarts = (ns: string) =>
      parseQuestion(`pods with the most restarts in ${ns}`, cluster);
    for (const [question, ns] of [
      ['restart count of pods in shop', 'shop'],
      ['restart counts of the pods in payments', 'payments'],
      ['pod restart count in shop', 'shop'],
      ['list pods in shop with their restart counts', 'shop'],
      ['how many times did pods in staging restart', 'staging'],
      ['which pods in shop restart the most', 'shop'],
      ['number of restarts per pod in payments', 'payments'],
      ['restarts of pods in shop', 'shop'],
    ]) {
      const plan = parseQuestion(question, cluster);
      expect({ question, plan }).toEqual({ question, plan: byRestarts(ns) });
      expect(classifySafety(plan).level).toBe('safe');
    }
    expect(command('did any pod in payments restart', cluster)).toBe(
      command('pods that restarted in payments', cluster),
    );
    expect(
      parseQuestion('did any pod in payments restart', cluster),
    ).toMatchObject({ verb: 'get', resource: 'pods', filter: 'restarting' });
    expect(
      parseQuestion('restart count of pod web-0 in staging', cluster),
    ).toEqual({
      verb: 'get',
      resource: 'pods',
      name: 'web-0',
      namespace: 'staging',
    });
  });

  it('keeps planning a request to restart as a rollout restart', () => {
    for (const [question, expected] of [
      [
        'restart deployment web in shop',
        'kubectl rollout restart deployment/web -n shop',
      ],
      [
        'please restart the web deployment in shop',
        'kubectl rollout restart deployment/web -n shop',
      ],
      [
        'can you restart checkout-web in shop',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'would you restart checkout-web in shop',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'rollout restart deployment checkout-web -n shop',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'restart deployments in shop',
        'kubectl rollout restart deployments -n shop',
      ],
      [
        'restart all deployments in payments',
        'kubectl rollout restart deployments -n payments',
      ],
    ]) {
      expect({ question, command: command(question, cluster) }).toEqual({
        question,
        command: expected,
      });
    }
  });

  it('refuses a question about how to restart: it asks about the restart, not for it', () => {
    // Was planned as `kubectl rollout restart deployment/checkout-web -n shop`.
    expect(refusal('how do i restart checkout-web in shop', cluster)).toBe(
      'I understood that the question names a change (restart deployment checkout-web in shop), but "how" before "restart" asks about it: it does not ask for a change. To have it planned, ask for it, for example "restart deployment checkout-web in shop". Nothing was planned.',
    );
  });

  it('refuses a restart restricted by the restarts of what it restarts', () => {
    // Were planned as `kubectl rollout restart deployments -n …`, every deployment.
    expect(
      refusal('restart the pods with the most restarts in shop', cluster),
    ).toMatch(
      /^I understood that you want to restart deployments, but not how to apply "restarts" \(a number of restarts\).+Nothing was planned\.$/,
    );
    expect(
      refusal(
        'restart deployments in payments with a high restart count',
        cluster,
      ),
    ).toContain('"restart count" (a number of restarts)');
    expect(
      refusal('delete pods with app=web in shop that restarted', cluster),
    ).toContain('(a number of restarts)');
  });
});
