import { renderKubectl } from '@kubechart/plugin-assistant-common';
import { isPlanRefusal } from '@kubechart/plugin-assistant-node';
import { ParseContext, parseQuestion } from './parseQuestion';

/** The command the user is shown for a question. */
const shown = (question: string, context?: ParseContext) =>
  renderKubectl(parseQuestion(question, context));

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

/** What the cluster has: checkout-web's selector is its pods' label. */
const cluster: ParseContext = {
  known: [
    {
      name: 'checkout-web',
      resource: 'deployments',
      namespace: 'shop',
      selector: 'app=checkout-web',
    },
    {
      name: 'inventory-db',
      resource: 'statefulsets',
      namespace: 'shop',
      selector: 'app.kubernetes.io/name=inventory,tier=db',
    },
    // In two namespaces: which one is meant must be said.
    {
      name: 'web',
      resource: 'deployments',
      namespace: 'staging',
      selector: 'app=web',
    },
    {
      name: 'web',
      resource: 'deployments',
      namespace: 'shop',
      selector: 'app=web',
    },
    // A selector with matchExpressions: not known as a -l selector.
    { name: 'legacy', resource: 'deployments', namespace: 'shop' },
  ] as ParseContext['known'],
};

describe('kubectl flags in a question: carried out as typed, or refused', () => {
  it('keeps the output format of one named object in the command shown', () => {
    expect(shown('kubectl get configmap app-config -n shop -o yaml')).toBe(
      'kubectl get configmap/app-config -n shop -o yaml',
    );
    expect(shown('kubectl get configmap app-config -n shop -o json')).toBe(
      'kubectl get configmap/app-config -n shop -o json',
    );
    expect(shown('kubectl get cm app-config -n shop -oyaml')).toBe(
      'kubectl get configmap/app-config -n shop -o yaml',
    );
    expect(shown('kubectl get cm app-config -n shop --output=json')).toBe(
      'kubectl get configmap/app-config -n shop -o json',
    );
    expect(shown('kubectl get cm app-config -n shop -o=yaml')).toBe(
      'kubectl get configmap/app-config -n shop -o yaml',
    );
    expect(
      shown('kubectl get deployment checkout-web -n shop --output yaml'),
    ).toBe('kubectl get deployment/checkout-web -n shop -o yaml');
    // Asked in words.
    expect(shown('show me the yaml of configmap app-config in shop')).toBe(
      'kubectl get configmap/app-config -n shop -o yaml',
    );
    expect(shown('configmap app-config in shop as json')).toBe(
      'kubectl get configmap/app-config -n shop -o json',
    );
  });

  it('reads an object named yaml, yml or json as its name, not as a format', () => {
    expect(shown('get configmap yaml -n shop')).toBe(
      'kubectl get configmap/yaml -n shop',
    );
    expect(shown('get configmap json -n shop')).toBe(
      'kubectl get configmap/json -n shop',
    );
    expect(shown('kubectl get cm yml -n shop')).toBe(
      'kubectl get configmap/yml -n shop',
    );
    expect(shown('describe configmap yaml -n shop')).toBe(
      'kubectl describe configmaps yaml -n shop',
    );
    // Its format asked for besides its name.
    expect(shown('get configmap yaml -n shop -o json')).toBe(
      'kubectl get configmap/yaml -n shop -o json',
    );
    expect(shown('get configmap json -n shop as yaml')).toBe(
      'kubectl get configmap/json -n shop -o yaml',
    );
    expect(shown('show me the yaml of configmap yaml in shop')).toBe(
      'kubectl get configmap/yaml -n shop -o yaml',
    );
    // A secret named yaml is read as its list row, as any other (its values are shown decoded only when asked for).
    expect(shown('get secret yaml -n shop')).toBe(
      'kubectl get secret/yaml -n shop',
    );
    expect(shown('get secret yaml -n shop as yaml')).toBe(
      'kubectl get secret/yaml -n shop -o yaml',
    );
  });

  it('refuses an output format it does not print, rather than showing a table under another command', () => {
    for (const [question, format] of [
      ['kubectl get deployment checkout-web -n shop -o wide', 'wide'],
      ['kubectl get configmap app-config -n shop -o name', 'name'],
      [
        "kubectl get configmap app-config -n shop -o jsonpath='{.data}'",
        'jsonpath',
      ],
      [
        'kubectl get pods -n shop -o custom-columns=NAME:.metadata.name',
        'custom-columns',
      ],
    ]) {
      const why = refusal(question);
      expect(why).toMatch(
        /^I understood that you want to .+, but .+\. Nothing was planned\.$/,
      );
      expect(why).toContain(`-o ${format}`);
    }
    // A list as YAML is kubectl's List of every object: the assistant shows one object whole.
    expect(refusal('kubectl get pods -n shop -o yaml')).toContain('-o yaml');
    expect(refusal('kubectl get configmaps -n shop -o json')).toContain(
      'name the object',
    );
    // kubectl logs prints no YAML.
    expect(
      refusal('kubectl logs deployment/checkout-web -n shop -o yaml'),
    ).toContain('-o yaml');
  });

  it('refuses a name with a selector, with the error kubectl gives', () => {
    for (const question of [
      'kubectl get pods checkout-web-7d9f8c6b5-x2x9q -n shop -l app=web',
      'get pod web-1 in shop -l app=web',
      'describe pod web-1 in shop -l app=web',
      'delete pod web-1 -n shop -l app=web',
    ]) {
      expect(refusal(question)).toContain(
        'error: name cannot be provided when a selector is specified',
      );
    }
    for (const question of [
      'rollout status deployment checkout-web -n shop -l app=web',
      'restart deployment checkout-web -n shop -l app=web',
      'scale deployment checkout-web -l app=web to 3 in shop',
    ]) {
      expect(refusal(question)).toContain(
        'error: selectors and the all flag cannot be used when passing resource/name arguments',
      );
    }
    expect(refusal('logs of pod web-1 in shop -l app=web')).toContain(
      'error: only a selector (-l) or a POD name is allowed',
    );
    expect(refusal('top pod web-1 -n shop -l app=web')).toContain(
      'error: only one of NAME or selector can be provided',
    );
    // A selector alone is still a selector.
    expect(shown('kubectl get pods -n shop -l app=web')).toBe(
      'kubectl get pods -n shop -l app=web',
    );
  });

  it('refuses a label or annotation of a named object with a selector, as kubectl does, the selector being the word after -l', () => {
    // kubectl takes the one word after -l as the selector: `tier=x` is the label to set, not part
    // of the selector, and a name with a selector is refused.
    for (const [question, selector] of [
      ['label pod x -l a=b tier=x', 'a=b'],
      ['kubectl label pod x -l a=b tier=x -n shop', 'a=b'],
      ['label pod x in shop -l a=b,c=d tier=x', 'a=b,c=d'],
      ["label pod x -l 'a=b, c=d' tier=x", 'a=b,c=d'],
      ['label pod x -l a!=b tier=x', 'a!=b'],
      ['label pod x --selector a=b tier=x', 'a=b'],
      // The flag's argument given with `=` or glued to it (was dropped: pod/x was labelled).
      ['label pod x -l=a=b tier=x', 'a=b'],
      ['label pod x --selector=a=b tier=x', 'a=b'],
      ['label pod x -la=b tier=x', 'a=b'],
      ['annotate pod x -l a=b note=x', 'a=b'],
    ]) {
      const why = refusal(question);
      expect(why).toContain(
        'kubectl takes a name or a selector, not both (it answers "error: name cannot be provided when a selector is specified")',
      );
      expect(why).toContain(`or for the pods -l ${selector}.`);
    }
    // A selector kubectl would read but the assistant cannot tell exactly is refused, not guessed.
    for (const question of [
      "label pods -l 'a=b tier=x",
      'label pods -l',
      'label pods -l "tier in (a,b)" env=x',
    ]) {
      expect(refusal(question)).toMatch(/the selector after -l/);
    }
    // Without a name, the word after -l selects and the other pairs are set, as kubectl reads them.
    expect(parseQuestion('label pods -l a=b tier=x in shop')).toEqual({
      verb: 'label',
      resource: 'pods',
      labelSelector: 'a=b',
      labels: { tier: 'x' },
      namespace: 'shop',
    });
    expect(
      parseQuestion("label pods -n shop -l 'a=b, c=d' tier=x e=f"),
    ).toMatchObject({
      labelSelector: 'a=b,c=d',
      labels: { tier: 'x', e: 'f' },
    });
    expect(
      parseQuestion('annotate deployments -n shop --selector=app=web owner=me'),
    ).toMatchObject({
      labelSelector: 'app=web',
      annotations: { owner: 'me' },
    });
  });

  it("lists the pods of a named workload by the workload's selector", () => {
    expect(
      parseQuestion('pods of deployment checkout-web in shop', cluster),
    ).toEqual({
      verb: 'get',
      resource: 'pods',
      namespace: 'shop',
      labelSelector: 'app=checkout-web',
    });
    expect(shown('pods of deployment checkout-web in shop', cluster)).toBe(
      'kubectl get pods -n shop -l app=checkout-web',
    );
    // The one namespace the cluster has it in.
    expect(shown('which pods belong to deployment checkout-web', cluster)).toBe(
      'kubectl get pods -n shop -l app=checkout-web',
    );
    expect(
      shown('show the pods of statefulset inventory-db in shop', cluster),
    ).toBe(
      'kubectl get pods -n shop -l app.kubernetes.io/name=inventory,tier=db',
    );
    expect(
      shown('crash looping pods of deployment checkout-web in shop', cluster),
    ).toBe(
      "kubectl get pods -n shop -l app=checkout-web | grep -E 'CrashLoopBackOff'",
    );
    expect(
      shown('describe the pods of deployment checkout-web in shop', cluster),
    ).toBe('kubectl describe pods -n shop -l app=checkout-web');
    // The workload itself is still the workload.
    expect(shown('get deployment checkout-web in shop', cluster)).toBe(
      'kubectl get deployment/checkout-web -n shop',
    );
  });

  it('refuses the pods of a workload whose selector it cannot tell, and changes to them', () => {
    // Planned as the deployment's row before; deleting the deployment for "delete pods of …".
    for (const [question, context] of [
      ['pods of deployment checkout-web in shop', {}],
      ['pods of deployment legacy in shop', cluster],
      ['pods of deployment web', cluster],
      ['pods of deployment checkout-web in payments', cluster],
      ['delete pods of deployment checkout-web in shop', cluster],
    ] as Array<[string, ParseContext]>) {
      const why = refusal(question, context);
      expect(why).toMatch(
        /^I understood that you want to .+, but .+\. Nothing was planned\.$/,
      );
      expect(why).toMatch(/selector/);
    }
    expect(refusal('pods of deployment web', cluster)).toContain(
      'shop, staging',
    );
    expect(
      refusal('delete pods of deployment checkout-web in shop', cluster),
    ).toContain('-l app=checkout-web');
  });
});
