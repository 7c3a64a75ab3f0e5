import {
  classifySafety,
  renderKubectl,
} from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import {
  ParseContext,
  parseQuestion,
  refusalOfChangeNotAsked,
} from './parseQuestion';

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
    `planned: ${question} → ${renderKubectl(plan)} (${
      classifySafety(plan).level
    })`,
  );
}

const EXPLAINED = /^I understood that .+, but .+\. Nothing was planned\.$/;

/** The entity page of component:default/checkout: namespace shop, and what the cluster has. */
const shop: ParseContext = {
  namespace: 'shop',
  known: [
    { name: 'shop', resource: 'namespaces' },
    { name: 'node-1', resource: 'nodes' },
    { name: 'web-1', resource: 'pods', namespace: 'shop' },
    { name: 'web', resource: 'deployments', namespace: 'shop' },
    { name: 'checkout-web', resource: 'deployments', namespace: 'shop' },
    { name: 'inventory-service', resource: 'deployments', namespace: 'shop' },
  ] as ParseContext['known'],
};

describe('a change that is named but not asked for is refused, never planned', () => {
  it('refuses a change verb that is negated, in the past or asked about, saying how to ask for it', () => {
    // Each was planned as the change it names: one confirm click ran it ("was deployment
    // inventory-service scaled to 0?" scaled it to 0).
    for (const [question, example] of [
      [
        'was deployment inventory-service scaled to 0?',
        'scale deployment inventory-service to 0 in shop',
      ],
      [
        'never scale deployment inventory-service to 0',
        'scale deployment inventory-service to 0 in shop',
      ],
      [
        'who deleted deployment checkout-web?',
        'delete deployment checkout-web in shop',
      ],
      [
        'dry run: delete deployment checkout-web',
        'delete deployment checkout-web in shop',
      ],
      ["don't delete pod web-1", 'delete pod web-1 in shop'],
      ['is it safe to delete pod web-1', 'delete pod web-1 in shop'],
      ['should I delete pod web-1', 'delete pod web-1 in shop'],
      ['what happens if I delete pod web-1', 'delete pod web-1 in shop'],
      ['am I allowed to delete pod web-1', 'delete pod web-1 in shop'],
      [
        'kubectl auth can-i delete pod web-1 -n shop',
        'delete pod web-1 in shop',
      ],
      ['why was pod web-1 deleted', 'delete pod web-1 in shop'],
      [
        'how do i restart checkout-web',
        'restart deployment checkout-web in shop',
      ],
      [
        'has checkout-web been scaled down to 1',
        'scale deployment checkout-web to 1 in shop',
      ],
      ['can I cordon node-1', 'cordon node node-1'],
      ['delete pod web-1, is that safe?', 'delete pod web-1 in shop'],
      ['tell me the command to delete pod web-1', 'delete pod web-1 in shop'],
      [
        'do not roll back checkout-web',
        'roll back deployment checkout-web in shop',
      ],
      // Named twice, once as done: the plan reads the whole question, so it is refused too.
      [
        'inventory-service was scaled down by mistake. scale it to 2',
        'scale deployment inventory-service to 2 in shop',
      ],
    ]) {
      const why = refusal(question, shop);
      expect(why).toMatch(EXPLAINED);
      expect(why).toContain('does not ask for a change');
      expect(why).toContain(`for example "${example}"`);
      // Asked for as shown, the change is planned.
      expect(classifySafety(parseQuestion(example, shop)).level).not.toBe(
        'safe',
      );
    }
  });

  it('says which words made it a question, and what it understood', () => {
    expect(refusal('who deleted deployment checkout-web?', shop)).toBe(
      'I understood that the question names a change (delete deployment checkout-web in shop), but "deleted" tells of a change made, not one to make: it does not ask for a change. To have it planned, ask for it, for example "delete deployment checkout-web in shop". Nothing was planned.',
    );
    expect(refusal("don't delete pod web-1", shop)).toContain(
      '"dont" before "delete" says not to make it',
    );
    expect(refusal('should I delete pod web-1', shop)).toContain(
      '"should" before "delete" asks about it',
    );
    expect(refusal('dry run: delete deployment checkout-web', shop)).toContain(
      '"dry run" asks about it',
    );
  });

  it('plans a change that is asked for, as before', () => {
    for (const [question, expected] of [
      ['delete pod web-1', 'kubectl delete pod/web-1 -n shop'],
      [
        'please scale deployment web to 3',
        'kubectl scale deployment/web --replicas=3 -n shop',
      ],
      ['kubectl delete pod web-1 -n shop', 'kubectl delete pod/web-1 -n shop'],
      ['can you delete pod web-1', 'kubectl delete pod/web-1 -n shop'],
      [
        'would you restart checkout-web',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'I would like to scale checkout-web to 2',
        'kubectl scale deployment/checkout-web --replicas=2 -n shop',
      ],
      [
        'web-1 is stuck, please delete pod web-1',
        'kubectl delete pod/web-1 -n shop',
      ],

      [
        'you can go ahead and delete pod web-1',
        'kubectl delete pod/web-1 -n shop',
      ],
      [
        'we have to roll back checkout-web',
        'kubectl rollout undo deployment/checkout-web -n shop',
      ],
      ['ok, cordon node-1', 'kubectl cordon node-1'],
      [
        "delete pod web-1, don't touch checkout-web",
        'kubectl delete pod/web-1 -n shop',
      ],
    ]) {
      expect({ question, command: command(question, shop) }).toEqual({
        question,
        command: expected,
      });
    }
  });
});

describe('a change asked for under a condition the plan cannot hold is refused, never planned without it', () => {
  it('refuses a change with a condition after it, quoting the condition and how to ask', () => {
    // Each was planned as the change alone: "scale deployment web to 3 if needed" scaled web to 3
    // whether or not it was needed.
    for (const [question, condition, example] of [
      [
        'scale deployment web to 3 if needed',
        'if needed',
        'scale deployment web to 3 in shop',
      ],
      [
        'scale deployment web to 3 when it is slow',
        'when it is slow',
        'scale deployment web to 3 in shop',
      ],
      [
        'scale deployment web to 3 unless it is busy',
        'unless it is busy',
        'scale deployment web to 3 in shop',
      ],
      [
        'delete pod web-1 if it is stuck',
        'if it is stuck',
        'delete pod web-1 in shop',
      ],
      [
        'delete pod web-1, but only if it is stuck',
        'if it is stuck',
        'delete pod web-1 in shop',
      ],
      [
        'roll back checkout-web as soon as the alert fires',
        'as soon as the alert fires',
        'roll back deployment checkout-web in shop',
      ],
      [
        'scale deployment inventory-service to 0 until monday',
        'until monday',
        'scale deployment inventory-service to 0 in shop',
      ],
      [
        'when web is slow, scale it to 3',
        'when web is slow',
        'scale deployment web to 3 in shop',
      ],
      [
        'cordon node-1 whenever it runs hot',
        'whenever it runs hot',
        'cordon node node-1',
      ],
    ]) {
      const why = refusal(question, shop);
      expect({ question, why }).toEqual({
        question,
        why: `I understood that you want to ${example}, but only "${condition}": the plan has no field for a condition, and the assistant does not judge whether one holds, so it would make the change either way. Check the condition yourself, then ask for the change without it, for example "${example}". Nothing was planned.`,
      });
      // Asked for without the condition, the change is planned.
      expect(classifySafety(parseQuestion(example, shop)).level).not.toBe(
        'safe',
      );
    }
  });

  it('does not read a namespace out of the condition ("in case it hangs")', () => {
    // Was planned as `kubectl rollout restart deployment/checkout-web -n case`.
    expect(refusal('restart checkout-web in case it hangs', shop)).toBe(
      'I understood that you want to restart a workload, but only "in case it hangs": the plan has no field for a condition, and the assistant does not judge whether one holds, so it would make the change either way. Check the condition yourself, then ask for the change without it, for example "restart deployment web in shop". Nothing was planned.',
    );
  });

  it('plans a change whose "if" or "when" is only a courtesy, or that is asked once', () => {
    for (const [question, expected] of [
      [
        'scale deployment web to 3 if you can',
        'kubectl scale deployment/web --replicas=3 -n shop',
      ],
      ['delete pod web-1 if possible', 'kubectl delete pod/web-1 -n shop'],
      [
        'restart checkout-web when you can',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'restart checkout-web as soon as possible',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
      [
        'restart checkout-web once',
        'kubectl rollout restart deployment/checkout-web -n shop',
      ],
    ]) {
      expect({ question, command: command(question, shop) }).toEqual({
        question,
        command: expected,
      });
    }
  });
});

describe("another provider's change for a question that does not ask for it", () => {
  const restart = {
    verb: 'rollout',
    rolloutAction: 'restart',
    resource: 'deployments',
    name: 'checkout-web',
    namespace: 'shop',
  } as const;

  it('is refused in the words the builtin parser refuses the question with', () => {
    const question = 'should I restart checkout-web?';
    expect(refusalOfChangeNotAsked(question, restart, shop)?.message).toBe(
      refusal(question, shop),
    );
  });

  it('is refused also where the builtin parser reads the question as no change at all', () => {
    // The builtin parser reads "restart" here as no verb (and refuses the read it makes of it):
    // a model's restart was taken.
    expect(
      refusalOfChangeNotAsked(
        'is it safe to restart checkout-web in shop?',
        restart,
        shop,
      )?.message,
    ).toBe(
      'I understood that the question names a change (restart deployment checkout-web in shop), but "is" before "restart" asks about it: it does not ask for a change. To have it planned, ask for it, for example "restart deployment checkout-web in shop". Nothing was planned.',
    );
  });

  it('is taken when the question asks for it, and a read is always taken', () => {
    expect(
      refusalOfChangeNotAsked('restart checkout-web', restart, shop),
    ).toBeUndefined();
    expect(
      refusalOfChangeNotAsked(
        'was checkout-web restarted?',
        { ...restart, rolloutAction: 'history' },
        shop,
      ),
    ).toBeUndefined();
  });
});

describe('kubectl rollout subcommands the assistant does not run', () => {
  it('refuses pause and resume rather than reading them as rollout status', () => {
    // Were planned as `kubectl rollout status deployment/web -n shop`.
    for (const [question, sub] of [
      ['kubectl rollout pause deployment web', 'pause'],
      ['kubectl rollout resume deployment web', 'resume'],
      ['rollout pause deploy/checkout-web -n shop', 'pause'],
    ]) {
      const why = refusal(question, shop);
      expect(why).toMatch(EXPLAINED);
      expect(why).toContain(
        `"rollout ${sub}" is not an action the assistant runs`,
      );
    }
  });

  it('keeps reading rollout status and history', () => {
    expect(command('kubectl rollout status deployment web', shop)).toBe(
      'kubectl rollout status deployment/web -n shop',
    );
    expect(command('rollout history of checkout-web', shop)).toBe(
      'kubectl rollout history deployment/checkout-web -n shop',
    );
    expect(command('is the rollout of checkout-web done', shop)).toBe(
      'kubectl rollout status deployment/checkout-web -n shop',
    );
  });
});
