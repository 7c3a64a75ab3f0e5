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

/** The selector flag in each form kubectl reads it (pflag: `-l x`, `-lx`, `-l=x`, `--selector x`, `--selector=x`). */
const SELECTOR_FORMS = (selector: string) => [
  `-l ${selector}`,
  `-l${selector}`,
  `-l=${selector}`,
  `--selector ${selector}`,
  `--selector=${selector}`,
];

describe('kubectl flags: every verb reads them as kubectl does, or refuses naming the flag', () => {
  it('reads each selector form kubectl accepts the same way, for every verb', () => {
    // `-l=app=web`, `-lapp=web` and `--selector=app=web` were dropped: "restart deployments -l=app=web
    // -n shop" restarted every deployment in shop.
    for (const [question, command] of [
      ['get pods -n shop {}', 'kubectl get pods -n shop -l app=web'],
      ['describe pods -n shop {}', 'kubectl describe pods -n shop -l app=web'],
      ['delete pods {} -n shop', 'kubectl delete pods -n shop -l app=web'],
      [
        'restart deployments {} -n shop',
        'kubectl rollout restart deployments -n shop -l app=web',
      ],
      [
        'rollout status deployments -n shop {}',
        'kubectl rollout status deployments -n shop -l app=web',
      ],
      [
        'logs -n shop {}',
        'kubectl logs -l app=web -n shop --all-containers --tail=200',
      ],
      ['top pods -n shop {}', 'kubectl top pods -n shop -l app=web'],
      [
        'label pods -n shop {} tier=x',
        'kubectl label pods tier=x --overwrite -n shop -l app=web',
      ],
      [
        'annotate pods {} -n shop note=x',
        'kubectl annotate pods note=x --overwrite -n shop -l app=web',
      ],
    ]) {
      for (const form of SELECTOR_FORMS('app=web')) {
        expect([form, shown(question.replace('{}', form))]).toEqual([
          form,
          command,
        ]);
      }
    }
    for (const form of SELECTOR_FORMS('app=web,tier!=db')) {
      expect(shown(`delete pods -n shop ${form}`)).toBe(
        "kubectl delete pods -n shop -l 'app=web,tier!=db'",
      );
    }
    // A name with a selector, in any form, is refused with kubectl's error (both were dropped: the
    // name because "pod" was read as "pods", so "get pod x -n shop" listed every pod in shop).
    expect(shown('get pod x -n shop')).toBe('kubectl get pod/x -n shop');
    for (const form of SELECTOR_FORMS('a=b')) {
      expect(refusal(`get pod x -n shop ${form}`)).toContain(
        'error: name cannot be provided when a selector is specified',
      );
    }
  });

  it('refuses a selector it cannot carry out for the verb, saying so', () => {
    // Was refused as "not to how many replicas".
    const why = refusal('scale deployments -l=app=web --replicas=0 -n shop');
    expect(why).toMatch(
      /^I understood that you want to .+, but .+\. Nothing was planned\.$/,
    );
    expect(why).toContain('-l app=web');
    expect(why).not.toContain('how many replicas');
    // Was `kubectl get events -n shop …`: every event.
    expect(refusal('get events -n shop -l app=web')).toContain('-l app=web');
  });

  it('refuses -L and other flags whose meaning depends on their case, which lower-casing turned into -l, -n or -A', () => {
    // `-L` is --label-columns (and not a flag of delete): it was read as `-l`, deleting the pods matching app=web.
    for (const [question, flag] of [
      ['delete pods -L app=web -n shop', '-L'],
      ['get pods -n shop -L app', '-L'],
      ['get pods -n shop -R', '-R'],
      ['get pods -N shop', '-N'],
      ['get pods -a', '-a'],
      ['get configmap app-config -n shop -O yaml', '-O'],
    ]) {
      const why = refusal(question);
      expect(why).toMatch(
        /^I understood that you want to .+, but .+\. Nothing was planned\.$/,
      );
      expect(why).toContain(flag);
      expect(why).toContain('case');
    }
    expect(shown('get pods -A')).toBe('kubectl get pods -A');
    expect(shown('get pods --all-namespaces')).toBe('kubectl get pods -A');
  });

  it('reads the namespace, log and scale flags in each form kubectl accepts', () => {
    // `--namespace=shop`, `-nshop`, `-n=shop` were dropped: every namespace.
    for (const form of [
      '-n shop',
      '-nshop',
      '-n=shop',
      '--namespace shop',
      '--namespace=shop',
      "-n 'shop'",
    ]) {
      expect(shown(`get pods ${form}`)).toBe('kubectl get pods -n shop');
      expect(shown(`delete pods ${form} -l app=web`)).toBe(
        'kubectl delete pods -n shop -l app=web',
      );
    }
    // `--tail`, `-c`, `-p` were dropped: 200 lines of every container of the running pod.
    expect(shown('logs pod web-1 -n shop --tail=20')).toBe(
      'kubectl logs web-1 -n shop --all-containers --tail=20',
    );
    expect(shown('logs pod web-1 -n shop --tail 20')).toBe(
      'kubectl logs web-1 -n shop --all-containers --tail=20',
    );
    for (const form of [
      '-c app',
      '-capp',
      '-c=app',
      '--container app',
      '--container=app',
    ]) {
      expect(shown(`logs pod web-1 -n shop ${form}`)).toBe(
        'kubectl logs web-1 -n shop -c app --tail=200',
      );
    }
    for (const form of ['-p', '--previous']) {
      expect(shown(`logs pod web-1 -n shop ${form}`)).toBe(
        'kubectl logs web-1 -n shop --all-containers --previous --tail=200',
      );
    }
    expect(shown('logs pod web-1 -n shop --all-containers')).toBe(
      'kubectl logs web-1 -n shop --all-containers --tail=200',
    );
    // `--replicas=3` was refused as "not to how many replicas".
    for (const form of ['--replicas=3', '--replicas 3']) {
      expect(shown(`scale deployment web ${form} -n shop`)).toBe(
        'kubectl scale deployment/web --replicas=3 -n shop',
      );
    }
    // The flags of the command the assistant shows are its own.
    expect(
      shown('kubectl drain node-1 --ignore-daemonsets --delete-emptydir-data'),
    ).toBe('kubectl drain node-1 --ignore-daemonsets --delete-emptydir-data');
    expect(shown('label pods -l app=web tier=x -n shop --overwrite')).toBe(
      'kubectl label pods tier=x --overwrite -n shop -l app=web',
    );
    expect(
      shown(
        `patch deployment web -n shop --type=merge -p '{"spec":{"replicas":2}}'`,
      ),
    ).toBe(
      `kubectl patch deployment/web -n shop --type=merge -p '{"spec":{"replicas":2}}'`,
    );
    expect(shown('kubectl exec -it web-1 -n shop -- sh')).toBe(
      'kubectl exec -it web-1 -n shop -- sh',
    );
  });

  it('refuses a flag value it cannot carry out exactly, naming the flag', () => {
    for (const [question, flag] of [
      ['logs pod web-1 -n shop --tail=-1', '--tail'],
      ['logs pod web-1 -n shop --tail=100000', '--tail'],
      ['scale deployment web to 2 --replicas=3 -n shop', '--replicas'],
      ['get pods -n shop -n payments', '-n'],
      ['get pods -n shop -l app=web -l tier=db', '-l'],
      ['get pods -n', '-n'],
      ['get pods -n Shop', '-n'],
      ['get deployment web -A', '-A'],
      // The flag and the words name different namespaces (was planned with the flag's, `-A` wider).
      ['get pods in shop -A', '-A'],
      ['delete pods in payments -n shop -l app=web', '-n shop'],
      ['get pods across all namespaces -n shop', '-n shop'],
      ['logs pod web-1 -n shop -c app --all-containers', '--all-containers'],
      ['get pods -n shop --previous', '--previous'],
      ['scale deployment web --replicas=3 -n shop --overwrite', '--overwrite'],
    ]) {
      const why = refusal(question);
      expect([question, why]).toEqual([
        question,
        expect.stringMatching(
          /^I understood that you want to .+, but .+\. Nothing was planned\.$/,
        ),
      ]);
      expect([question, why]).toEqual([
        question,
        expect.stringContaining(flag),
      ]);
    }
  });

  /**
   * Held out before the fix: kubectl-like questions with flags the parser does not read. Each must
   * be refused, naming the flag (never the value it was given). All but `-o wide` were planned
   * without the flag or refused for another reason; `wider` marks a plan that reached or did more
   * than was asked, `elsewhere` one on the cluster the question was asked on, not the one named.
   */
  const UNREAD_FLAGS: Array<[string, string]> = [
    ['delete pods --all -n shop', '--all'],
    ['delete pod web-1 -n shop --force', '--force'],
    ['delete pod web-1 -n shop --grace-period=0', '--grace-period'],
    ['delete pod web-1 -n shop --now', '--now'],
    [
      'delete pods -n shop -l app=web --field-selector=status.phase=Succeeded',
      '--field-selector',
    ], // wider
    [
      'get pods -n shop --field-selector=spec.nodeName=node-1',
      '--field-selector',
    ], // wider
    [
      'get pods -n shop --field-selector status.phase=Running',
      '--field-selector',
    ], // read as the label selector status.phase=running
    ['get pods -n shop -o wide', '-o wide'],
    ['get pods -n shop --context prod', '--context'], // elsewhere
    ['delete pod web-1 -n shop --context prod', '--context'], // elsewhere
    ['get pods -n shop --kubeconfig admin.conf', '--kubeconfig'],
    ['get pods -n shop --cluster prod', '--cluster'],
    ['get pods -n shop --user admin', '--user'],
    ['delete pods -l app=web -n shop --as admin', '--as'],
    ['get secrets -n shop --as-group admins', '--as-group'],
    ['get pods -n shop -s other-cluster', '-s'],
    ['get pods -n shop --token=abc123xyz', '--token'],
    ['scale deployment web --replicas=3 -A', '-A'],
    ['restart deployment web -A', '-A'],
    ['logs deployment/web -A', '-A'],
    ['cordon node-1 -A', '-A'],
    ['get pods -n shop -w', '-w'],
    ['get pods -n shop --watch', '--watch'],
    ['logs pod web-1 -n shop -f', '-f'],
    ['logs pod web-1 -n shop --since=1h', '--since'], // wider
    ['logs pod web-1 -n shop --timestamps', '--timestamps'],
    ['get pods -n shop --sort-by=.metadata.name', '--sort-by'],
    ['get pods -n shop --show-labels', '--show-labels'],
    ['get pods -n shop --no-headers', '--no-headers'],
    ['delete pods -l app=web -n shop --dry-run=client', '--dry-run'], // wider (deletes for real)
    ['label pods -l app=web tier=x -n shop --dry-run=server', '--dry-run'], // wider (labels for real)
    ['rollout undo deployment web -n shop --to-revision=2', '--to-revision'],
    ['rollout history deployment web -n shop --revision=3', '--revision'],
    ['drain node-1 --force', '--force'],
    ['drain node-1 --pod-selector=app=web', '--pod-selector'], // wider
    ['drain node-1 --disable-eviction', '--disable-eviction'],
    ['kubectl exec -it web-1 -n shop -- ls -la /', '--'], // wider (a shell)
    ['kubectl exec web-1 -n shop -- cat /etc/hosts', '--'], // wider (a shell)
    ['delete deployment web -n shop --cascade=orphan', '--cascade'], // wider (its pods deleted too)
    ['delete namespace shop --wait=false', '--wait'],
    ['top pods -n shop --containers', '--containers'],
    [
      'get pods -n shop --selector app=web --field-selector status.phase=Running',
      '--field-selector',
    ], // read as the label selector app=web,status.phase=running
    ['delete pods -n shop --ignore-not-found -l app=web', '--ignore-not-found'],
    ['label pods --all tier=x -n shop', '--all'],
    [
      'annotate pods -n shop -l app=web note=x --resource-version=5',
      '--resource-version',
    ],
    ['describe pods -n shop --show-events=false', '--show-events'],
    ['get pods -n shop -v=9', '-v'],
    ['get pods -n shop --help', '--help'],
    ['restart deployments -n shop --selector app=web --all', '--all'],
    [
      'patch deployment web -n shop --type=json -p \'[{"op":"remove","path":"/spec/x"}]\'',
      '--type',
    ],
    ['get pods -n shop -l app=web -i', '-i'],
    ['get pods -n shop --labels=app=web', '--labels'], // wider
    ['delete pods -n shop -selector=app=web', '-selector'],
    ['get pods -all-namespaces', '-all-namespaces'],
  ];

  it('refuses every flag it does not read, naming it, instead of dropping it', () => {
    const wrong: string[] = [];
    for (const [question, flag] of UNREAD_FLAGS) {
      let why: string;
      try {
        why = refusal(question);
      } catch (e) {
        wrong.push((e as Error).message.split(' {')[0]);
        continue;
      }
      if (
        !/^I understood that you want to .+, but .+\. Nothing was planned\.$/.test(
          why,
        ) ||
        !why.includes(flag)
      ) {
        wrong.push(`refused without naming ${flag}: ${question} → ${why}`);
      }
    }
    expect(wrong).toEqual([]);
    // The value given to a flag it does not read is not repeated.
    expect(refusal('get pods -n shop --token=abc123xyz')).not.toContain(
      'abc123xyz',
    );
  });
});
