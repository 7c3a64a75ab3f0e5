import { renderKubectl } from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import { parseQuestion } from './parseQuestion';

/** Why a question is refused, asked by a caller with no namespace of its own; fails when it is planned. */
function refusal(question: string): string {
  let plan;
  try {
    plan = parseQuestion(question);
  } catch (e) {
    if (isPlanRefusal(e)) return (e as Error).message;
    throw e;
  }
  throw new Error(`planned: ${question} → ${renderKubectl(plan)}`);
}

/** Each question that is planned, with the command shown, and each refusal not matching `why`. */
function notRefused(questions: string[], why: RegExp): string[] {
  const wrong: string[] = [];
  for (const question of questions) {
    try {
      const message = refusal(question);
      if (
        !why.test(message) ||
        !/^I understood that .+, but .+\. Nothing was planned\.$/.test(message)
      ) {
        wrong.push(`${question} → refused otherwise: ${message}`);
      }
    } catch (e) {
      wrong.push((e as Error).message);
    }
  }
  return wrong;
}

describe('the builtin planner plans what was asked, or refuses: never wider nor the opposite', () => {
  it('refuses a flag typed with a typographic dash, naming it, instead of dropping it', () => {
    // Were planned over every namespace, or without the selector.
    expect(refusal('delete pods -l app=web \u2014n shop')).toBe(
      'I understood that you want to delete pods, but \u2014n is typed with \u2014, and kubectl reads only - (a hyphen-minus) as the start of a flag: type it with -. Nothing was planned.',
    );
    expect(
      notRefused(
        [
          'delete pods -l app=web \u2013n shop',
          'delete pods -l app=web \u2014namespace shop',
          'delete pods -l app=web \u2212\u2212namespace=shop',
          'get secrets \u2013n shop',
          'delete pods \u2010l app=web -n shop',
          'delete pods -n shop \u2015l app=web',
          'get pods \uFF0Dn shop',
          'delete configmaps \uFE63n shop -l app=web',
          'delete pods -l app=web \uFE58n shop',
          'show logs of pod web-1 \u2014c sidecar -n shop',
          // Glued to a word by a comma: read as a word of its own.
          'delete pods,\u2014n shop -l app=web',
        ],
        /is typed with [\u2010-\u2015\u2212\uFE58\uFE63\uFF0D], and kubectl reads only -/,
      ),
    ).toEqual([]);
    // A dash standing alone is punctuation, not a flag.
    expect(
      renderKubectl(
        parseQuestion('get pods in shop \u2014 the ones with app=web'),
      ),
    ).toBe('kubectl get pods -n shop -l app=web');
  });

  it('refuses a selector negated or excluded in words, rather than planning on the selector itself', () => {
    // Each was planned on app=web (or tier=db): the objects to leave alone.
    expect(refusal('delete pods in shop not matching app=web')).toBe(
      "I understood that you want to delete pods, but \"not matching app=web\" negates the selector, and the plan can only select by it: planned, it would change the very objects you want left out; ask with the selector negated as kubectl reads it, for example -l 'app!=web' (or -l '!app' for those without the label). Nothing was planned.",
    );
    expect(
      notRefused(
        [
          'delete pods in shop not labelled app=web',
          'delete pods in shop not having app=web',
          'delete pods in shop lacking app=web',
          'delete pods in shop missing app=web',
          'delete pods in shop but keep app=web',
          'delete pods in shop leaving app=web',
          'delete pods in shop, not the ones with app=web',
          'delete pods -n shop not -l app=web',
          'restart deployments in shop not app=web',
          "delete pods in shop, but don't touch app=web",
          'delete pods in shop sparing app=web',
          'delete pods in shop, keeping those with tier=db',
          'delete pods in shop with app=web not tier=db',
          'restart deployments in shop, spare tier=db',
          'delete all pods in shop but the app=web ones',
          'delete all pods in shop but those with app=web',
          // A read would list exactly the pods the question leaves out.
          'get pods not matching app=web',
          'get pods in shop not labelled tier=db',
          'list services in shop lacking app=web',
          'list pods in shop without app=web',
        ],
        /negates the selector/,
      ),
    ).toEqual([]);
    // Negation of something else still plans, and so does a selector negated the kubectl way.
    expect(parseQuestion('get pods in shop that are not running')).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      fieldSelector: 'status.phase!=Running',
    });
    expect(
      parseQuestion('get pods in shop that are not running with app=web'),
    ).toMatchObject({
      fieldSelector: 'status.phase!=Running',
      labelSelector: 'app=web',
    });
    expect(parseQuestion('why is pod web-1 not ready in shop')).toMatchObject({
      verb: 'diagnose',
      name: 'web-1',
    });
    expect(
      parseQuestion('delete pods with app=web in shop, they are not needed'),
    ).toMatchObject({ verb: 'delete', labelSelector: 'app=web' });
    expect(
      parseQuestion('restart deployments in shop but only app=web'),
    ).toMatchObject({ labelSelector: 'app=web', namespace: 'shop' });
    expect(parseQuestion("delete pods -n shop -l 'app!=web'")).toMatchObject({
      verb: 'delete',
      labelSelector: 'app!=web',
      namespace: 'shop',
    });
  });

  it('refuses a namespace left out in words, rather than planning in it', () => {
    // Were planned in shop: the namespace to leave out.
    expect(refusal('delete pods not in shop with app=web')).toBe(
      'I understood that you want to delete pods, but "not in shop" leaves out the namespace the plan is in: planned, it would change the very objects you want left out, and the plan has no field for a namespace to leave out; name the namespace you mean. Nothing was planned.',
    );
    expect(
      notRefused(
        [
          'get pods not in shop',
          'delete pods -l app=web not -n shop',
          'restart deployments with app=web not from the shop namespace',
        ],
        /leaves out the namespace the plan is in/,
      ),
    ).toEqual([]);
    // A state negated in a namespace is that state: "aren't running" listed every pod in shop.
    for (const question of [
      "get pods in shop that aren't running",
      "which pods in shop aren't running",
    ]) {
      expect(parseQuestion(question)).toEqual({
        verb: 'get',
        resource: 'pods',
        namespace: 'shop',
        fieldSelector: 'status.phase!=Running',
      });
    }
    expect(parseQuestion("which pods aren't ready in shop")).toMatchObject({
      filter: 'not-ready',
      namespace: 'shop',
    });
  });

  it('refuses braces outside a patch, which would hide the flags between them', () => {
    // Was planned as a restart of every deployment in shop.
    expect(refusal('restart deployments -n shop {-l app=web}')).toBe(
      'I understood that you want to restart deployments, but the question holds a body in braces ({…}), and a JSON body is only for patch: what is between the braces was not read. Ask without the braces. Nothing was planned.',
    );
    expect(
      notRefused(
        [
          // Was planned on tier=db alone.
          'delete pods -n shop with tier=db {x -l app=web}',
          // Was planned without the argument.
          'exec into pod x -n shop -- sh {"a":1}',
          // Was planned over every namespace.
          'get pods {-n shop}',
          'delete pods {-n shop} -l app=web',
          'delete pods in shop {-l app=web}',
          'restart deployment web -n shop {"spec":1}',
        ],
        /a JSON body is only for patch/,
      ),
    ).toEqual([]);
    // A patch keeps its body, and -o jsonpath its braces.
    expect(
      parseQuestion('patch deployment web -n shop {"spec":{"replicas":2}}'),
    ).toMatchObject({ verb: 'patch', patch: '{"spec":{"replicas":2}}' });
    expect(
      parseQuestion(
        `patch deployment web -n shop -p '{"spec":{"replicas":2}}'`,
      ),
    ).toMatchObject({ verb: 'patch', patch: '{"spec":{"replicas":2}}' });
    expect(
      refusal(`get pods -n shop -o jsonpath='{.items[*].metadata.name}'`),
    ).toMatch(/does not print -o jsonpath/);
  });
});
