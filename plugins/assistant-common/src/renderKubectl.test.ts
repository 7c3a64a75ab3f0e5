import { Plan, planSchema } from './plan';
import { renderKubectl } from './renderKubectl';

const render = (plan: Plan) => renderKubectl(planSchema.parse(plan));

describe('renderKubectl', () => {
  it.each<[Plan, string]>([
    [
      { verb: 'get', resource: 'pods', namespace: 'shop' },
      'kubectl get pods -n shop',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        allNamespaces: true,
        filter: 'crash-looping',
      },
      "kubectl get pods -A | grep -E 'CrashLoopBackOff'",
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        sortBy: 'restarts',
        limit: 5,
      },
      "kubectl get pods -n shop '--sort-by=.status.containerStatuses[0].restartCount' | tail -n 5",
    ],
    [
      {
        verb: 'top',
        resource: 'pods',
        allNamespaces: true,
        sortBy: 'memory',
        limit: 3,
      },
      'kubectl top pods -A --sort-by=memory | head -n 4',
    ],
    [
      {
        verb: 'logs',
        resource: 'deployments',
        name: 'checkout-web',
        namespace: 'shop',
        tailLines: 100,
      },
      'kubectl logs deployment/checkout-web -n shop --all-containers --tail=100',
    ],
    [
      {
        verb: 'logs',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        container: 'app',
        previous: true,
      },
      'kubectl logs web-1 -n shop -c app --previous',
    ],
    [
      {
        verb: 'get',
        resource: 'events',
        namespace: 'shop',
        fieldSelector: 'type=Warning',
        sortBy: 'time',
      },
      'kubectl get events -n shop --field-selector=type=Warning --sort-by=.lastTimestamp',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        name: 'payments-api',
        namespace: 'payments',
      },
      'kubectl rollout restart deployment/payments-api -n payments',
    ],
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'checkout-web',
        namespace: 'shop',
        replicas: 3,
      },
      'kubectl scale deployment/checkout-web --replicas=3 -n shop',
    ],
    [
      { verb: 'delete', resource: 'pods', name: 'web-1', namespace: 'shop' },
      'kubectl delete pod/web-1 -n shop',
    ],
    [
      { verb: 'cordon', resource: 'nodes', name: 'node-1' },
      'kubectl cordon node-1',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app in (a, b)',
      },
      "kubectl get pods -n shop -l 'app in (a, b)'",
    ],
    [
      {
        verb: 'exec',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        command: ['sh', '-c', "echo 'hi'"],
      },
      `kubectl exec -it web-1 -n shop -- sh -c 'echo '\\''hi'\\'''`,
    ],
  ])('renders %j', (plan, expected) => {
    expect(render(plan)).toBe(expected);
  });
});

describe('planSchema', () => {
  it('rejects plans that kubectl would reject', () => {
    expect(
      planSchema.safeParse({
        verb: 'scale',
        resource: 'deployments',
        name: 'x',
      }).success,
    ).toBe(false);
    expect(
      planSchema.safeParse({ verb: 'get', resource: 'nodes', namespace: 'x' })
        .success,
    ).toBe(false);
    expect(
      planSchema.safeParse({ verb: 'delete', resource: 'pods' }).success,
    ).toBe(false);
    expect(
      planSchema.safeParse({
        verb: 'get',
        resource: 'pods',
        name: 'Bad Name;rm',
      }).success,
    ).toBe(false);
    expect(
      planSchema.safeParse({ verb: 'get', resource: 'pods', safety: 'safe' })
        .success,
    ).toBe(false);
  });
});
