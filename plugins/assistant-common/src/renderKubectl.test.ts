import {
  inSeveralNamespaces,
  NAMESPACE_UNKNOWN,
  Plan,
  planSchema,
  scopedPlanSchema,
} from './plan';
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
      'kubectl logs web-1 -n shop -c app --previous --tail=200',
    ],
    [
      // What runs: every container, the last 200 lines (kubectl's own
      // default would be the default container's whole log).
      { verb: 'logs', resource: 'pods', name: 'web-1', namespace: 'shop' },
      'kubectl logs web-1 -n shop --all-containers --tail=200',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        allNamespaces: true,
        filter: 'restarting',
      },
      // With -A the NAMESPACE column comes first: RESTARTS is the fifth.
      "kubectl get pods -A | awk 'NR==1 || $5 > 0'",
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        filter: 'restarting',
      },
      "kubectl get pods -n shop | awk 'NR==1 || $4 > 0'",
    ],
    [
      {
        verb: 'get',
        resource: 'deployments',
        namespace: 'shop',
        filter: 'not-ready',
      },
      // READY is n/m; a deployment is not ready when the two differ.
      "kubectl get deployments -n shop | grep -vE '\\s([0-9]+)/\\1\\s'",
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        sortBy: 'name',
        limit: 3,
      },
      // By name is ascending both in kubectl and in the result: the first rows.
      'kubectl get pods -n shop --sort-by=.metadata.name | head -n 4',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        sortBy: 'time',
      },
      // Pods have no lastTimestamp: newest first means by creation.
      'kubectl get pods -n shop --sort-by=.metadata.creationTimestamp',
    ],
    [
      {
        verb: 'events',
        resource: 'events',
        namespace: 'shop',
        fieldSelector: 'type=Warning',
        limit: 5,
      },
      // kubectl events lists oldest first: the newest five are the last.
      'kubectl events -n shop --types=Warning | tail -n 5',
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

  // A diagnosis reads the warning events of the pod it found unhealthy (`type=Warning`): the step
  // shown reads the same, not every event of every pod.
  it.each<[string, Plan, string]>([
    [
      'in one namespace',
      {
        verb: 'diagnose',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
      },
      "kubectl get events -n shop --field-selector 'involvedObject.name=<unhealthy pod>,type=Warning'",
    ],
    [
      'across all namespaces',
      {
        verb: 'diagnose',
        resource: 'pods',
        labelSelector: 'app=web',
        allNamespaces: true,
      },
      "kubectl get events -n '<its namespace>' --field-selector 'involvedObject.name=<unhealthy pod>,type=Warning'",
    ],
  ])(
    'shows a diagnosis reading the warning events of its unhealthy pod, as it runs (%s)',
    (_, plan, eventsStep) => {
      const steps = render(plan).split('\n');
      expect(steps).toContain(eventsStep);
      expect(steps.filter(s => s.includes(' events '))).toEqual([eventsStep]);
    },
  );
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

describe('plans whose command, scope and result would not agree', () => {
  const issues = (plan: object) => {
    const parsed = planSchema.safeParse(plan);
    return parsed.success ? [] : parsed.error.issues.map(i => i.message);
  };

  it.each<[object, string]>([
    [
      // The scope would say "pods matching metadata.name=…", the command drop
      // the selector and the result list every pod.
      {
        verb: 'top',
        resource: 'pods',
        namespace: 'shop',
        fieldSelector: 'metadata.name=nonexistent-pod',
      },
      'top does not take fieldSelector: it would be shown but not carried out',
    ],
    [
      // The command would pipe through grep, the result be the whole log.
      {
        verb: 'logs',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        filter: 'crash-looping',
      },
      'logs does not take filter: it would be shown but not carried out',
    ],
    [
      {
        verb: 'logs',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app=web',
        fieldSelector: 'spec.nodeName=node-1',
      },
      'logs does not take fieldSelector: it would be shown but not carried out',
    ],
    [
      {
        verb: 'logs',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        limit: 10,
      },
      'logs does not take limit: it would be shown but not carried out',
    ],
    [
      {
        verb: 'logs',
        resource: 'deployments',
        namespace: 'shop',
        labelSelector: 'app=web',
      },
      'logs by label selector read the pods it matches: use resource pods, or name the deployment',
    ],
    [
      // Shown as `kubectl logs -l app=web -A`, which kubectl rejects.
      {
        verb: 'logs',
        resource: 'pods',
        allNamespaces: true,
        labelSelector: 'app=web',
      },
      'kubectl logs reads one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'logs',
        resource: 'deployments',
        allNamespaces: true,
        name: 'web',
      },
      'kubectl logs reads one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'top',
        resource: 'nodes',
        labelSelector: 'zone=a',
      },
      'top nodes does not take a label selector: it would be shown but not carried out',
    ],
    [
      { verb: 'top', resource: 'pods', namespace: 'shop', sortBy: 'restarts' },
      'top sorts by cpu or memory only',
    ],
    [
      {
        verb: 'top',
        resource: 'pods',
        namespace: 'shop',
        filter: 'crash-looping',
      },
      'top does not take filter: it would be shown but not carried out',
    ],
    [
      { verb: 'get', resource: 'pods', namespace: 'shop', sortBy: 'cpu' },
      'get does not sort by cpu: use verb top',
    ],
    [
      {
        verb: 'get',
        resource: 'deployments',
        namespace: 'shop',
        sortBy: 'restarts',
      },
      'only pods are sorted by restarts',
    ],
    [
      { verb: 'get', resource: 'pods', namespace: 'shop', output: 'yaml' },
      'output yaml shows one named object: name it, or ask without an output format',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        output: 'wide',
      },
      'output wide is not shown: the assistant answers with its own columns',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        output: 'yaml',
        filter: 'crash-looping',
      },
      'output yaml shows the named object whole: filter, sortBy and limit do not apply to it',
    ],
    [
      {
        verb: 'get',
        resource: 'deployments',
        namespace: 'shop',
        filter: 'crash-looping',
      },
      'filter crash-looping applies to pods, not deployments',
    ],
    [
      {
        verb: 'get',
        resource: 'configmaps',
        namespace: 'shop',
        filter: 'not-ready',
      },
      'filter not-ready applies to pods, nodes, deployments, statefulsets, daemonsets and replicasets, not configmaps',
    ],
    [
      {
        verb: 'describe',
        resource: 'pods',
        namespace: 'shop',
        filter: 'crash-looping',
      },
      'describe does not take filter: it would be shown but not carried out',
    ],
    [
      { verb: 'describe', resource: 'pods', namespace: 'shop', limit: 3 },
      'describe does not take limit: it would be shown but not carried out',
    ],
    [
      {
        verb: 'events',
        resource: 'events',
        namespace: 'shop',
        fieldSelector: 'involvedObject.name=web-1',
      },
      'kubectl events selects by type only (type=Warning or type=Normal): use verb get for other field selectors',
    ],
    [
      {
        verb: 'events',
        resource: 'events',
        namespace: 'shop',
        labelSelector: 'app=web',
      },
      'events does not take labelSelector: it would be shown but not carried out',
    ],
    [
      { verb: 'events', resource: 'events', namespace: 'shop', name: 'e-1' },
      'events does not take name: it would be shown but not carried out',
    ],
    [
      { verb: 'events', resource: 'events', namespace: 'shop', sortBy: 'name' },
      'kubectl events lists by time only',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        labelSelector: 'app=web',
      },
      'name and a selector do not go together: kubectl takes one or the other',
    ],
    [
      {
        verb: 'delete',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        fieldSelector: 'status.phase=Failed',
      },
      'name and a selector do not go together: kubectl takes one or the other',
    ],
    [
      {
        verb: 'diagnose',
        resource: 'deployments',
        namespace: 'shop',
        labelSelector: 'app=web',
      },
      'diagnose finds a workload by its name: a label selector picks pods (resource pods)',
    ],
    [
      {
        verb: 'diagnose',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app=web',
        fieldSelector: 'status.phase=Running',
      },
      'diagnose does not take fieldSelector: it would be shown but not carried out',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'status',
        resource: 'deployments',
        namespace: 'shop',
        limit: 2,
      },
      'rollout does not take limit: it would be shown but not carried out',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'undo',
        resource: 'statefulsets',
        name: 'db',
        namespace: 'shop',
      },
      'rollout undo works on deployments',
    ],
    [
      // Shown as `kubectl rollout status deployments -A`, which kubectl rejects (unknown shorthand flag 'A').
      {
        verb: 'rollout',
        rolloutAction: 'status',
        resource: 'deployments',
        allNamespaces: true,
      },
      'kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        allNamespaces: true,
        labelSelector: 'app=web',
      },
      'kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'history',
        resource: 'deployments',
        allNamespaces: true,
        name: 'web',
      },
      'kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      // Shown with --field-selector, which kubectl rollout does not have.
      {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        namespace: 'shop',
        fieldSelector: 'metadata.name=web',
      },
      'kubectl rollout has no --field-selector: name the workload or use a label selector',
    ],
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        replicas: 2,
        filter: 'not-ready',
      },
      'scale does not take filter: it would be shown but not carried out',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        tailLines: 20,
      },
      'get does not take tailLines: it would be shown but not carried out',
    ],
    [
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        previous: true,
      },
      'get does not take previous: it would be shown but not carried out',
    ],
    [
      {
        verb: 'exec',
        resource: 'pods',
        namespace: 'shop',
        command: ['sh'],
      },
      'exec needs a pod',
    ],
  ])('refuses %j, saying why', (plan, reason) => {
    expect(issues(plan)).toContain(reason);
  });

  it.each<[Plan, string]>([
    [
      {
        verb: 'top',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app=web',
        sortBy: 'memory',
        limit: 3,
      },
      'kubectl top pods -n shop -l app=web --sort-by=memory | head -n 4',
    ],
    [
      {
        verb: 'logs',
        resource: 'pods',
        namespace: 'shop',
        labelSelector: 'app=web',
        container: 'app',
        tailLines: 50,
        previous: true,
      },
      'kubectl logs -l app=web -n shop -c app --previous --tail=50',
    ],
    [
      {
        verb: 'get',
        resource: 'secrets',
        name: 'db',
        namespace: 'shop',
        output: 'yaml',
      },
      'kubectl get secret/db -n shop -o yaml',
    ],
    [
      {
        verb: 'get',
        resource: 'events',
        namespace: 'shop',
        fieldSelector: 'involvedObject.name=web-1,type=Warning',
        sortBy: 'time',
        limit: 5,
      },
      'kubectl get events -n shop --field-selector=involvedObject.name=web-1,type=Warning --sort-by=.lastTimestamp | tail -n 5',
    ],
    [
      // "Not set" said as false is no field at all.
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        allNamespaces: false,
        previous: false,
      },
      'kubectl get pods -n shop',
    ],
  ])('keeps %j, which runs as shown', (plan, expected) => {
    expect(issues(plan)).toEqual([]);
    expect(render(plan)).toBe(expected);
  });
});

describe('verbs kubectl runs in one namespace, and names across all namespaces', () => {
  const issues = (plan: object) => {
    const parsed = planSchema.safeParse(plan);
    return parsed.success ? [] : parsed.error.issues.map(i => i.message);
  };

  it.each<[object, string]>([
    // `kubectl scale|patch|exec|apply … -A`: "unknown shorthand flag: 'A' in -A".
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'web',
        allNamespaces: true,
        replicas: 2,
      },
      'kubectl scale works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web',
        allNamespaces: true,
        patch: '{"metadata":{"labels":{"a":"b"}}}',
      },
      'kubectl patch works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      {
        verb: 'exec',
        resource: 'pods',
        name: 'web-1',
        allNamespaces: true,
        command: ['sh'],
      },
      'kubectl exec works in one namespace (it has no --all-namespaces): name the namespace',
    ],
    [
      { verb: 'apply', resource: 'deployments', allNamespaces: true },
      'kubectl apply works in one namespace (it has no --all-namespaces): name the namespace',
    ],
  ])('refuses %j: kubectl has no -A for it', (plan, reason) => {
    expect(issues(plan)).toEqual([reason]);
  });

  const NAME_ACROSS =
    'name and allNamespaces do not go together: kubectl finds a named object in one namespace (it rejects a name with --all-namespaces): name the namespace, or leave allNamespaces out for the assistant to look it up';

  it.each<object>([
    // `kubectl get deployment/web -A`: "a resource cannot be retrieved by name across all namespaces".
    { verb: 'get', resource: 'deployments', name: 'web', allNamespaces: true },
    {
      verb: 'get',
      resource: 'secrets',
      name: 'db',
      allNamespaces: true,
      output: 'yaml',
    },
    {
      verb: 'describe',
      resource: 'deployments',
      name: 'web',
      allNamespaces: true,
    },
    { verb: 'delete', resource: 'pods', name: 'web-1', allNamespaces: true },
    {
      verb: 'label',
      resource: 'deployments',
      name: 'web',
      allNamespaces: true,
      labels: { tier: 'web' },
    },
    {
      verb: 'annotate',
      resource: 'deployments',
      name: 'web',
      allNamespaces: true,
      annotations: { note: 'x' },
    },
    // `kubectl top pods web-1 -A` asks for /apis/metrics.k8s.io/v1beta1/pods/web-1: not found.
    { verb: 'top', resource: 'pods', name: 'web-1', allNamespaces: true },
    // Its first step would be `kubectl get deployment/web -A -o wide`.
    {
      verb: 'diagnose',
      resource: 'deployments',
      name: 'web',
      allNamespaces: true,
    },
  ])('refuses %j: kubectl rejects a name across all namespaces', plan => {
    expect(issues(plan)).toEqual([NAME_ACROSS]);
  });

  it.each<[Plan, string]>([
    [
      {
        verb: 'get',
        resource: 'deployments',
        labelSelector: 'app=web',
        allNamespaces: true,
      },
      'kubectl get deployments -A -l app=web',
    ],
    [
      {
        verb: 'delete',
        resource: 'pods',
        fieldSelector: 'status.phase=Failed',
        allNamespaces: true,
      },
      'kubectl delete pods -A --field-selector=status.phase=Failed',
    ],
    [
      { verb: 'top', resource: 'pods', allNamespaces: true },
      'kubectl top pods -A',
    ],
    // A cluster-scoped object has no namespace to name.
    [
      { verb: 'describe', resource: 'nodes', name: 'node-1' },
      'kubectl describe nodes node-1',
    ],
    [
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        patch: '{"spec":{"paused":true}}',
      },
      `kubectl patch deployment/web -n shop --type=merge -p '{"spec":{"paused":true}}'`,
    ],
  ])('keeps %j, which kubectl runs as shown', (plan, expected) => {
    expect(issues(plan)).toEqual([]);
    expect(render(plan)).toBe(expected);
  });

  it('shows a diagnosis across all namespaces reading each pod in its own namespace (kubectl logs has no -A)', () => {
    const plan: Plan = {
      verb: 'diagnose',
      resource: 'pods',
      labelSelector: 'app=web',
      allNamespaces: true,
    };
    expect(scopedPlanSchema.safeParse(plan).success).toBe(true);
    const steps = render(plan).split('\n');
    expect(steps).toEqual([
      'kubectl get pods -A -l app=web -o wide',
      "kubectl get events -n '<its namespace>' --field-selector 'involvedObject.name=<unhealthy pod>,type=Warning'",
      "kubectl logs '<unhealthy pod>' -n '<its namespace>' --previous --tail=20",
    ]);
    for (const step of steps.slice(1)) expect(step).not.toContain(' -A');
  });
});

describe('plans as shown and run, once their scope is filled in', () => {
  const issues = (plan: object) => {
    const parsed = scopedPlanSchema.safeParse(plan);
    return parsed.success ? [] : parsed.error.issues.map(i => i.message);
  };

  it.each<[object, string]>([
    [
      // Shown as `kubectl logs deployment/web …`, which reads the kubeconfig's namespace; the
      // assistant would look for deployment web in every namespace.
      { verb: 'logs', resource: 'deployments', name: 'web' },
      "kubectl logs reads one namespace, and none is known for deployment/web (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      { verb: 'logs', resource: 'pods', labelSelector: 'app=web' },
      "kubectl logs reads one namespace, and none is known for pods app=web (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        name: 'web',
      },
      "kubectl rollout works in one namespace, and none is known for deployment/web (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      { verb: 'rollout', rolloutAction: 'status', resource: 'statefulsets' },
      "kubectl rollout works in one namespace, and none is known for statefulsets (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    ...(
      [
        [{ verb: 'get', resource: 'deployments', name: 'web' }, 'get'],
        [
          { verb: 'get', resource: 'secrets', name: 'db', output: 'yaml' },
          'get',
        ],
        [
          { verb: 'describe', resource: 'deployments', name: 'web' },
          'describe',
        ],
        [{ verb: 'delete', resource: 'pods', name: 'web-1' }, 'delete'],
        [
          {
            verb: 'label',
            resource: 'deployments',
            name: 'web',
            labels: { tier: 'web' },
          },
          'label',
        ],
        [
          {
            verb: 'annotate',
            resource: 'deployments',
            name: 'web',
            annotations: { note: 'x' },
          },
          'annotate',
        ],
        [{ verb: 'top', resource: 'pods', name: 'web-1' }, 'top'],
      ] as Array<
        [Record<string, unknown> & { resource: string; name: string }, string]
      >
    ).map(([plan, verb]): [object, string] => [
      // Shown as `kubectl get deployment/web` (the kubeconfig's namespace); the assistant would
      // look for it in every namespace.
      plan,
      `kubectl ${verb} finds a named object in one namespace, and none is known for ${
        { deployments: 'deployment', secrets: 'secret', pods: 'pod' }[
          plan.resource
        ]
      }/${
        plan.name
      } (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace`,
    ]),
    [
      {
        verb: 'scale',
        resource: 'deployments',
        name: 'web',
        replicas: 2,
      },
      "kubectl scale works in one namespace, and none is known for deployment/web (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      {
        verb: 'patch',
        resource: 'ingresses',
        name: 'web',
        patch: '{"metadata":{"labels":{"a":"b"}}}',
      },
      "kubectl patch works in one namespace, and none is known for ingress/web (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      // The assistant does not run exec: only kubectl's side is said.
      { verb: 'exec', resource: 'pods', name: 'web-1', command: ['sh'] },
      "kubectl exec works in one namespace, and none is known for pod/web-1 (without -n, kubectl would use the kubeconfig's default namespace): name the namespace",
    ],
    [
      { verb: 'diagnose', resource: 'statefulsets', name: 'db' },
      "a diagnosis finds a named object in one namespace, and none is known for statefulset/db (without -n, kubectl would use the kubeconfig's default namespace, where the assistant would look in every namespace): name the namespace",
    ],
    [
      // What planSchema refuses stays refused.
      {
        verb: 'rollout',
        rolloutAction: 'status',
        resource: 'deployments',
        allNamespaces: true,
      },
      'kubectl rollout works in one namespace (it has no --all-namespaces): name the namespace',
    ],
  ])('refuses %j, saying why', (plan, reason) => {
    expect(issues(plan)).toEqual([reason]);
  });

  it.each<[Plan, string]>([
    [
      { verb: 'logs', resource: 'deployments', name: 'web', namespace: 'shop' },
      'kubectl logs deployment/web -n shop --all-containers --tail=200',
    ],
    [
      {
        verb: 'rollout',
        rolloutAction: 'status',
        resource: 'deployments',
        namespace: 'shop',
      },
      'kubectl rollout status deployments -n shop',
    ],
    [
      // Other verbs say where they reach (-A) or look a named object up: unchanged.
      { verb: 'get', resource: 'pods', allNamespaces: true },
      'kubectl get pods -A',
    ],
    [
      { verb: 'get', resource: 'deployments', name: 'web', namespace: 'shop' },
      'kubectl get deployment/web -n shop',
    ],
    [
      {
        verb: 'diagnose',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
      },
      [
        'kubectl get deployment/web -n shop -o wide',
        'kubectl get pods -n shop -l <selector of deployment/web>',
        "kubectl get events -n shop --field-selector 'involvedObject.name=<unhealthy pod>,type=Warning'",
        "kubectl logs '<unhealthy pod>' -n shop --previous --tail=20",
      ].join('\n'),
    ],
    [
      // A list without a name says where it reaches.
      {
        verb: 'label',
        resource: 'deployments',
        labelSelector: 'app=web',
        allNamespaces: true,
        labels: { tier: 'web' },
      },
      'kubectl label deployments tier=web --overwrite -A -l app=web',
    ],
  ])('keeps %j', (plan, expected) => {
    expect(issues(plan)).toEqual([]);
    expect(render(plan)).toBe(expected);
  });
});

describe('a named object in several namespaces', () => {
  const plan: Plan = { verb: 'get', resource: 'ingresses', name: 'web' };

  it('is told apart from one in none: the issue is marked, so the reason can name them', () => {
    const parsed = scopedPlanSchema.safeParse(plan);
    expect(parsed.success).toBe(false);
    expect(!parsed.success && (parsed.error.issues[0] as any).params).toEqual({
      [NAMESPACE_UNKNOWN]: true,
    });
  });

  it.each<[string[], boolean, string]>([
    [['shop', 'payments'], false, '2 namespaces (payments and shop)'],
    [
      ['g', 'f', 'e', 'd', 'c', 'b', 'a'],
      false,
      '7 namespaces (a, b, c, d, e and 2 more)',
    ],
    [
      ['b', 'a', 'c', 'd', 'e', 'f'],
      true,
      'more than 6 namespaces (a, b, c, d, e and more)',
    ],
  ])('names at most five of %j', (namespaces, more, where) => {
    expect(inSeveralNamespaces(plan, namespaces, more)).toBe(
      `kubectl get finds a named object in one namespace, and ingress/web is in ${where}: name the one you mean`,
    );
  });
});

describe('text that would show differently from what runs', () => {
  // Bidi controls reorder what the confirmation shows: it would read
  // `note=ok sacilper=2 shop -n` while kubectl sets the characters as sent.
  const tricky = 'ok\u202E\u2066 n- pohs 2=sacilper\u2069\u2066';
  const annotate: Plan = {
    verb: 'annotate',
    resource: 'deployments',
    name: 'web',
    namespace: 'shop',
    annotations: { note: tricky },
  };

  it.each<[string, Plan, string]>([
    ['an annotation value', annotate, 'annotations.note'],
    [
      'an exec command',
      {
        verb: 'exec',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        command: ['sh', '-c', 'kube\u200Bctl get pods'],
      },
      'command.2',
    ],
    [
      'a patch',
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web',
        namespace: 'shop',
        patch: '{"metadata":{"labels":{"a":"b\u202D"}}}',
      },
      'patch',
    ],
    [
      'a cluster',
      {
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        cluster: 'prod\uFEFF',
      },
      'cluster',
    ],
    [
      'an annotation value with a terminal escape',
      { ...annotate, annotations: { note: 'ok\u001b[2Jdone' } },
      'annotations.note',
    ],
  ])(
    'refuses %s holding an invisible, control or direction-changing character',
    (_, plan, path) => {
      const parsed = planSchema.safeParse(plan);
      expect(parsed.success).toBe(false);
      const issue = parsed.error!.issues[0];
      expect(issue.path.join('.')).toBe(path);
      expect(issue.message).toMatch(
        /^holds an invisible or direction-changing character \(U\+[0-9A-F]{4}\), which would show the command differently from what runs$/,
      );
    },
  );

  it('takes tabs and line breaks where a value may hold them', () => {
    expect(
      planSchema.safeParse({ ...annotate, annotations: { note: 'a\tb\nc' } })
        .success,
    ).toBe(true);
    expect(
      planSchema.safeParse({ ...annotate, cluster: 'prod\n' }).success,
    ).toBe(false);
  });

  it('writes such a character that reaches the command visibly, as a shell reads it', () => {
    // A plan is parsed before it is rendered; renderKubectl is shown its fields as they are.
    expect(renderKubectl(annotate)).toBe(
      "kubectl annotate deployment/web $'note=ok\\xe2\\x80\\xae\\xe2\\x81\\xa6 n- pohs 2=sacilper\\xe2\\x81\\xa9\\xe2\\x81\\xa6' --overwrite -n shop",
    );
    expect(
      renderKubectl({
        verb: 'exec',
        resource: 'pods',
        name: 'web-1',
        namespace: 'shop',
        command: ['sh', '-c', "echo 'a'\tb\\\u200B"],
      }),
    ).toBe(
      "kubectl exec -it web-1 -n shop -- sh -c $'echo \\'a\\'\\tb\\\\\\xe2\\x80\\x8b'",
    );
    // Text without them is quoted as before.
    expect(
      renderKubectl({ ...annotate, annotations: { note: "it's ok" } }),
    ).toBe(
      "kubectl annotate deployment/web 'note=it'\\''s ok' --overwrite -n shop",
    );
  });
});
