import { Plan } from '@kubechart/plugin-assistant-common';
import { ParseContext, refusalOfChangeNotAsked } from './parseQuestion';

/**
 * The check of another provider's change compared only the kind of change with the question's: for
 * "delete pods with app=api in prod" a model's `kubectl delete pods -l app!=api -n prod` (every pod
 * but those asked for) was taken and shown for a confirmation, and so was another namespace,
 * another name or another kind. The target the question states exactly is compared too.
 * (The held-out cases are eval/plan-targets-heldout.yaml.)
 */

/** A cluster with namespaces prod and qa. */
const cluster: ParseContext = {
  known: [
    { name: 'prod', resource: 'namespaces' },
    { name: 'qa', resource: 'namespaces' },
    { name: 'pool-a-1', resource: 'nodes' },
    { name: 'pool-a-2', resource: 'nodes' },
    { name: 'api', resource: 'deployments', namespace: 'prod' },
    { name: 'api', resource: 'deployments', namespace: 'qa' },
    { name: 'worker', resource: 'deployments', namespace: 'prod' },
    { name: 'cache', resource: 'statefulsets', namespace: 'prod' },
    { name: 'api-6f7d9c8b5-abcde', resource: 'pods', namespace: 'prod' },
    { name: 'cache-0', resource: 'pods', namespace: 'prod' },
    { name: 'cache-1', resource: 'pods', namespace: 'prod' },
  ] as ParseContext['known'],
};

const check = (question: string, plan: Plan, context = cluster) =>
  refusalOfChangeNotAsked(question, plan, context)?.message;

describe("another provider's change whose target is not the question's", () => {
  it('is refused when its label selector picks other objects (another operator, value or requirement)', () => {
    expect(
      check('delete pods with app=api in prod', {
        verb: 'delete',
        resource: 'pods',
        namespace: 'prod',
        labelSelector: 'app!=api',
      }),
    ).toBe(
      'I understood that the question asks to delete pods with app=api in prod, but the plan made for it would delete pods with app!=api in prod: its label selector is app!=api, where the question says app=api. The assistant changes only what the question names, and plans nothing in its place. To have it planned as asked, ask again, for example "delete pods with app=api in prod". Nothing was planned.',
    );
    for (const labelSelector of [
      'app=worker',
      'app',
      'app=api,tier=db',
      'app in (api,worker)',
    ]) {
      expect({
        labelSelector,
        refused: !!check('delete pods with app=api in prod', {
          verb: 'delete',
          resource: 'pods',
          namespace: 'prod',
          labelSelector,
        }),
      }).toEqual({ labelSelector, refused: true });
    }
    // A requirement of the question's left out: more objects than it names.
    expect(
      check('kubectl rollout restart deployments -l app=api,tier=web -n prod', {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        namespace: 'prod',
        labelSelector: 'tier=web',
      }),
    ).toContain('its label selector is tier=web, where the question says');
  });

  it('is refused in another namespace, or in every namespace', () => {
    expect(
      check('delete pod cache-0 in prod', {
        verb: 'delete',
        resource: 'pods',
        name: 'cache-0',
        namespace: 'qa',
      }),
    ).toContain('its namespace is qa, where the question says prod');
    expect(
      check('delete pods with app=api -n qa', {
        verb: 'delete',
        resource: 'pods',
        allNamespaces: true,
        labelSelector: 'app=api',
      }),
    ).toContain('it reaches every namespace, where the question says qa');
    // A plan without a namespace is run where the object is found, or in the entity's.
    expect(
      check('restart deployment api in qa', {
        verb: 'rollout',
        rolloutAction: 'restart',
        resource: 'deployments',
        name: 'api',
      }),
    ).toContain('it names no namespace, where the question says qa');
  });

  it('is refused for another object or another kind', () => {
    expect(
      check('scale deployment worker in prod to 2', {
        verb: 'scale',
        resource: 'deployments',
        name: 'api',
        namespace: 'prod',
        replicas: 2,
      }),
    ).toContain('its name is api, where the question says worker');
    expect(
      check('uncordon pool-a-1', {
        verb: 'uncordon',
        resource: 'nodes',
        name: 'pool-a-2',
      }),
    ).toContain('its name is pool-a-2, where the question says pool-a-1');
    expect(
      check('delete pod cache-1 in prod', {
        verb: 'delete',
        resource: 'statefulsets',
        name: 'cache',
        namespace: 'prod',
      }),
    ).toContain(
      'its kind is statefulsets, where the question says pods; its name is cache, where the question says cache-1',
    );
    // Every pod of the namespace, not the failed ones.
    expect(
      check('delete failed pods in prod', {
        verb: 'delete',
        resource: 'pods',
        namespace: 'prod',
        labelSelector: 'app=cache',
      }),
    ).toContain(
      'it has no field selector, where the question says status.phase=Failed',
    );
    // The pods a selector picks, not one pod of them.
    expect(
      check('delete pod cache-1 in prod', {
        verb: 'delete',
        resource: 'pods',
        namespace: 'prod',
        labelSelector: 'app=cache',
      }),
    ).toContain('it names no object, where the question says cache-1');
  });
});

describe("another provider's change of the question's target", () => {
  it('is taken, however it writes it', () => {
    for (const [question, plan] of [
      [
        'delete pods with app=api in prod',
        {
          verb: 'delete',
          resource: 'pods',
          namespace: 'prod',
          labelSelector: 'app==api',
        },
      ],
      [
        'kubectl rollout restart deployments -l app=api,tier=web -n prod',
        {
          verb: 'rollout',
          rolloutAction: 'restart',
          resource: 'deployments',
          namespace: 'prod',
          labelSelector: 'tier = web, app=api',
        },
      ],
      [
        // The kind the cluster has for a name the question gives without one.
        'scale cache in prod to 3',
        {
          verb: 'scale',
          resource: 'statefulsets',
          name: 'cache',
          namespace: 'prod',
          replicas: 3,
        },
      ],
      [
        'uncordon pool-a-1',
        { verb: 'uncordon', resource: 'nodes', name: 'pool-a-1' },
      ],
    ] as Array<[string, Plan]>) {
      expect({ question, refusal: check(question, plan) }).toEqual({
        question,
        refusal: undefined,
      });
    }
  });

  it('is taken with the namespace of the entity asked from when the question names none', () => {
    const entity: ParseContext = { ...cluster, namespace: 'prod' };
    expect(
      check(
        'restart deployment worker',
        {
          verb: 'rollout',
          rolloutAction: 'restart',
          resource: 'deployments',
          name: 'worker',
        },
        entity,
      ),
    ).toBeUndefined();
    // The entity's selector added to the question's narrows it to the entity's own objects.
    expect(
      check(
        'delete pods with tier=web',
        {
          verb: 'delete',
          resource: 'pods',
          namespace: 'prod',
          labelSelector: 'tier=web,app.kubernetes.io/name=api',
        },
        { ...entity, labelSelector: 'app.kubernetes.io/name=api' },
      ),
    ).toBeUndefined();
  });
});
