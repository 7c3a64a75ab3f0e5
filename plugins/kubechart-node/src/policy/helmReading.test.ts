import yaml from 'js-yaml';
import { labelManifests } from '../helm/tenantLabels';
import { PolicyEngine, parseManifests } from './PolicyEngine';

const engine = new PolicyEngine({
  trustedRegistries: ['registry.example.com'],
});

/** The failed error results of a report, as `rule Kind/name: message`. */
const errors = (manifests: string) =>
  engine
    .checkYaml(manifests)
    .results.filter(r => !r.passed && r.severity === 'error')
    .map(r => `${r.ruleId} ${r.object.kind}/${r.object.name}: ${r.message}`)
    .sort();

const pod = (spec: string[], container: string[] = []) =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: { name: p }',
    'spec:',
    '  automountServiceAccountToken: false',
    '  securityContext: { runAsNonRoot: true }',
    ...spec.map(l => `  ${l}`),
    '  containers:',
    '    - name: app',
    '      image: registry.example.com/team/web:1.0.0',
    '      imagePullPolicy: Always',
    '      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: 100m, memory: 64Mi } }',
    '      securityContext:',
    '        allowPrivilegeEscalation: false',
    '        readOnlyRootFilesystem: true',
    '        capabilities: { drop: [ALL] }',
    ...container.map(l => `        ${l}`),
  ].join('\n');

describe('the policy reads manifests as helm does', () => {
  it('passes the hardened pod the cases below start from', () => {
    expect(errors(pod([]))).toEqual([]);
  });

  it('reads YAML 1.1 booleans (yes, on, y, ...) as helm and kubectl do: true, so the rules see them', () => {
    expect(
      errors(pod(['hostNetwork: yes', 'hostPID: on'], ['privileged: Y'])),
    ).toEqual([
      'no-host-namespaces Pod/p: hostNetwork is true; hostPID is true',
      'no-privileged Pod/p: container "app": runs privileged',
    ]);
    // `off` and `no` are false to helm: nothing to report.
    expect(
      errors(
        pod(['hostIPC: off']).replace(
          'allowPrivilegeEscalation: false',
          'allowPrivilegeEscalation: no',
        ),
      ),
    ).toEqual([]);
    // Octal and hexadecimal integers as helm reads them.
    expect(
      parseManifests('a: 0644\nb: 0x1F\nc: "0644"\nd: off\n')[0] as any,
    ).toEqual({ a: 420, b: 31, c: '0644', d: false });
  });

  it('reads numbers as helm does: underscores dropped, 0o and 0X prefixes, a leading dot', () => {
    expect(
      parseManifests(
        'a: 1_000\nb: 0o17\nc: 0X1f\nd: -.5\ne: "0o17"\nf: 08\ng: 2024-01-01\n',
      )[0],
    ).toEqual({
      a: 1000,
      b: 15,
      c: 31,
      d: -0.5,
      e: '0o17',
      f: 8,
      g: '2024-01-01',
    });
  });

  it('refuses a YAML merge key: helm lets one overwrite the keys written before it', () => {
    // helm 3 and 4 apply hostNetwork: true for this pod spec; js-yaml would read false.
    expect(() =>
      parseManifests(
        'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  hostNetwork: false\n  <<: { hostNetwork: true }\n  containers: []\n',
      ),
    ).toThrow(/merge key \(<<\) at spec: helm's YAML reader lets it overwrite/);
  });

  it('refuses U+0085, U+2028 and U+2029, in comments too: helm reads each as a line break, js-yaml as text', () => {
    // go-yaml v2 ends the comment at the character, so helm applies `hostNetwork: true` and
    // `privileged: true`; js-yaml reads one comment each and would pass the pod.
    for (const [char, name] of [
      ['\u2028', 'U+2028 (LINE SEPARATOR)'],
      ['\u2029', 'U+2029 (PARAGRAPH SEPARATOR)'],
      ['\u0085', 'U+0085 (NEXT LINE)'],
    ]) {
      const text = pod(
        [`# pod notes${char}  hostNetwork: true`],
        [`# notes${char}        privileged: true`],
      );
      expect(() => parseManifests(text)).toThrow(
        `Manifests holds ${name} on line 7: helm's YAML reader reads it as a line break and js-yaml does not`,
      );
      expect(() => engine.checkYaml(text)).toThrow(name);
    }
    // In a string, inside a value or at the end of the text alike.
    expect(() => parseManifests('a: 1\n---\nb: "x\u2028y"\n')).toThrow(
      /U\+2028 \(LINE SEPARATOR\) on line 3/,
    );
    expect(() => parseManifests('a: 1\n# end\u2029')).toThrow(
      /U\+2029 \(PARAGRAPH SEPARATOR\) on line 2/,
    );
    // Written as an escape in a double-quoted string, both read the same character: fine.
    expect(parseManifests('b: "x\\u2028y"\n')).toEqual([{ b: 'x\u2028y' }]);
  });

  it('refuses a byte order mark at the start of a line: helm drops it at the start of each document, js-yaml only of the text', () => {
    // To js-yaml the RoleBinding has no subjects (an unknown key); helm binds every authenticated user.
    const binding = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: c }',
      '---',
      '\ufeffsubjects: [{ kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io }]',
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: RoleBinding',
      'metadata: { name: everyone }',
      'roleRef: { kind: ClusterRole, name: admin, apiGroup: rbac.authorization.k8s.io }',
    ].join('\n');
    expect(() => parseManifests(binding)).toThrow(
      "Manifests holds U+FEFF (BYTE ORDER MARK) at the start of line 5: helm's YAML reader drops it at the start of a document and js-yaml does not",
    );
    // At the start of the text both drop it; inside a value both keep it.
    expect(parseManifests('\ufeffa: 1\n---\nb: x\ufeffy\n')).toEqual([
      { a: 1 },
      { b: 'x\ufeffy' },
    ]);
  });

  it('refuses a line helm splits documents at and js-yaml does not', () => {
    // apimachinery's YAMLReader ends a document at any line starting with `---` whose rest, with
    // Unicode spaces trimmed, is empty or a comment; js-yaml only when a space, tab or line end
    // follows. Here js-yaml reads one ConfigMap (the Pod is a block string under the key
    // `---\u00a0#`) and helm a ConfigMap and a Pod with hostNetwork.
    const hidden = (separator: string) =>
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: c }',
        `${separator}: |`,
        ...pod(['hostNetwork: true'])
          .split('\n')
          .map(l => `  ${l}`),
      ].join('\n');
    expect(() => parseManifests(hidden('---\u00a0#'))).toThrow(
      "Manifests has a line starting with --- followed by U+00A0 on line 4: helm's YAML reader starts a new document there and js-yaml does not",
    );
    for (const [separator, after] of [
      ['---#', '#'],
      ['---\f#', 'U+000C'],
      ['---\v#', 'U+000B'],
      ['---\u3000#', 'U+3000'],
      ['---\u2000#x', 'U+2000'],
      ['---\u202f #', 'U+202F'],
    ]) {
      expect(() => parseManifests(hidden(separator))).toThrow(
        `followed by ${after} on line 4`,
      );
    }
    expect(() => parseManifests('a: 1\n---\u00a0\nb: 2\n')).toThrow(
      /--- followed by U\+00A0 on line 2/,
    );
    // A comment js-yaml ends at a carriage return and helm at the line's end.
    expect(() => parseManifests('a: 1\n--- #c\rb: 2\n')).toThrow(
      /line starting with --- followed by a comment holding a carriage return on line 2/,
    );
    // Separators both read alike.
    expect(
      parseManifests(
        '---\na: 1\n--- # x\nb: 2\n---\t\nc: 3\n---  \r\nd: 4\n---\r\ne: 5\n---\t#y\nf: 6\n---',
      ),
    ).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }, { e: 5 }, { f: 6 }]);
    // `---x` starts no document for either (a key here).
    expect(parseManifests('a: 1\n---x: 2\n')).toEqual([{ a: 1, '---x': 2 }]);
  });

  it('refuses a security flag that is not a boolean: nothing can say how it is read', () => {
    const refused = errors(
      pod(['hostNetwork: "yes"'], ['privileged: 1', 'runAsNonRoot: "true"']),
    );
    expect(refused).toEqual([expect.stringMatching(/^valid-object Pod\/p: /)]);
    const [message] = refused;
    for (const field of [
      'spec.hostNetwork is not a boolean ("yes")',
      'spec.containers[0].securityContext.privileged is not a boolean (1)',
      'spec.containers[0].securityContext.runAsNonRoot is not a boolean ("true")',
    ])
      expect(message).toContain(field);
    // Blocking in every mode, like every valid-object result.
    const warnOnly = new PolicyEngine({ mode: 'warn' });
    expect(warnOnly.checkYaml(pod(['hostPID: "on"'])).blocking).toBe(true);
  });

  it('refuses a document with an items field that is not a List: helm would create its items instead', () => {
    const wrapper = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: wrapper }',
      'data: { a: b }',
      'items:',
      ...pod(['hostPID: true'], ['privileged: true'])
        .split('\n')
        .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)),
    ].join('\n');
    const report = engine.checkYaml(wrapper);
    expect(report.blocking).toBe(true);
    expect(errors(wrapper)).toEqual([
      expect.stringMatching(
        /^valid-object ConfigMap\/wrapper: it has an "items" field: helm reads a document with one as a list/,
      ),
    ]);
    // However the field is spelled, and whatever it holds.
    for (const items of ['Items: []', 'items: null', 'items: {}']) {
      expect(
        errors(
          `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n${items}\n`,
        ),
      ).toEqual([
        expect.stringMatching(/^valid-object ConfigMap\/c: it has an "/),
      ]);
    }
  });

  it('checks the items of a List one by one, and refuses a list inside a list', () => {
    const list = (items: string) =>
      `apiVersion: v1\nkind: List\nmetadata: {}\nitems:\n${items}`;
    const item = pod(['hostNetwork: yes'])
      .split('\n')
      .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`))
      .join('\n');
    expect(errors(list(item))).toEqual([
      'no-host-namespaces Pod/p: hostNetwork is true',
    ]);
    expect(
      errors(
        list(
          '  - { apiVersion: v1, kind: List, metadata: { name: inner }, items: [] }\n',
        ),
      ),
    ).toEqual([
      expect.stringMatching(
        /^valid-object List\/inner: it has an "items" field/,
      ),
    ]);
    expect(
      errors(
        `apiVersion: v1\nkind: PodList\nmetadata: { name: l }\nitems: {}\n`,
      ),
    ).toEqual([
      expect.stringMatching(
        /^valid-object PodList\/l: it has an "items" field/,
      ),
    ]);
  });

  it('refuses a helm release record (helm and rollbacks trust it), in any form', () => {
    const records = [
      'apiVersion: v1\nkind: Secret\nmetadata: { name: anything }\ntype: helm.sh/release.v1\ndata: { release: ZTMwPQ== }',
      'apiVersion: v1\nkind: Secret\nmetadata: { name: sh.helm.release.v1.web.v3 }\ndata: { release: ZTMwPQ== }',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: sh.helm.release.v1.web.v3, labels: { owner: helm } }\ndata: { release: x }',
      'apiVersion: v1\nkind: Secret\nmetadata: { name: other, labels: { owner: helm, name: web, status: deployed, version: "9" } }\ndata: { release: ZTMwPQ== }',
    ];
    for (const record of records) {
      expect(errors(record)).toEqual([
        expect.stringMatching(
          /^valid-object (Secret|ConfigMap)\/.*helm release record/,
        ),
      ]);
    }
    // An ordinary Secret of the chart is judged by the ordinary rules.
    expect(
      errors(
        'apiVersion: v1\nkind: Secret\nmetadata: { name: sh-helm, labels: { owner: team } }\ntype: Opaque\n',
      ),
    ).toEqual([]);
  });
});

describe('tenant labels on what helm creates', () => {
  const TENANT = { 'kubechart.io/tenant': 'acme' };

  it('labels the items of any document helm reads as a list', () => {
    const out = labelManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: w }\nitems:\n  - { apiVersion: v1, kind: ConfigMap, metadata: { name: a } }\n',
      TENANT,
    );
    expect((yaml.load(out) as any).items[0].metadata.labels).toEqual(TENANT);
  });

  it('without labels, writes the manifests out as helm reads them and adds nothing', () => {
    const out = labelManifests(
      'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { hostNetwork: yes }\n',
      {},
    );
    expect(yaml.load(out)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { hostNetwork: true },
    });
  });
});
