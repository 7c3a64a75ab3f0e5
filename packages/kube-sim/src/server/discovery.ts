import { createHash } from 'node:crypto';
import { groupVersion, ResourceRegistry, ResourceType } from './resources';

/** The server version kube-sim reports: the one the reference recordings were made against. */
export const VERSION_INFO = {
  major: '1',
  minor: '26',
  gitVersion: 'v1.26.1',
  gitCommit: '8f94681cd294aa8cfd3407b8191f6c70214973a4',
  gitTreeState: 'clean',
  buildDate: '2023-01-18T15:51:24Z',
  goVersion: 'go1.19.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function storageVersionHash(t: ResourceType): string {
  // The API server's: base64 of the first 8 bytes of sha256("group/version/kind").
  return createHash('sha256')
    .update(`${t.group}/${t.version}/${t.kind}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

function resourceEntries(t: ResourceType) {
  const main: Record<string, unknown> = {
    name: t.plural,
    singularName: t.kind.toLowerCase(),
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
  };
  if (t.shortNames) main.shortNames = t.shortNames;
  if (t.categories) main.categories = t.categories;
  if (!t.virtual && !t.review) main.storageVersionHash = storageVersionHash(t);
  if (t.review) main.singularName = '';
  const subs = (t.subresources ?? []).map(sub => {
    if (sub === 'scale') {
      return {
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      };
    }
    if (sub === 'token') {
      return {
        name: `${t.plural}/token`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'authentication.k8s.io',
        version: 'v1',
        kind: 'TokenRequest',
        verbs: ['create'],
      };
    }
    if (sub === 'log') {
      return {
        name: `${t.plural}/log`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get'],
      };
    }
    return {
      name: `${t.plural}/status`,
      singularName: '',
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ['get', 'patch', 'update'],
    };
  });
  return [main, ...subs];
}

/** The order a v1.26 server lists its built-in groups in `/apis` (crd/01-discovery-apis-before.json). */
const GROUP_ORDER = [
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
];

export class Discovery {
  constructor(private readonly registry: ResourceRegistry) {}

  coreVersions(serverAddress: string) {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }

  private groups() {
    const byGroup = new Map<string, string[]>();
    for (const gv of this.registry.groupVersions()) {
      if (!gv.group) continue;
      byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv.version]);
    }
    // The API server's group priority; other groups (custom resources) follow in the order they came.
    const rank = (g: string) => {
      const i = GROUP_ORDER.indexOf(g);
      return i < 0 ? GROUP_ORDER.length : i;
    };
    const ordered = [...byGroup.entries()]
      .map((entry, i) => ({ entry, i }))
      .sort((a, b) => rank(a.entry[0]) - rank(b.entry[0]) || a.i - b.i)
      .map(x => x.entry);
    return ordered.map(([name, versions]) => ({
      name,
      versions: versions.map(v => ({
        groupVersion: `${name}/${v}`,
        version: v,
      })),
      preferredVersion: {
        groupVersion: `${name}/${versions[0]}`,
        version: versions[0],
      },
    }));
  }

  groupList() {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: this.groups() };
  }

  group(name: string) {
    const g = this.groups().find(x => x.name === name);
    return g ? { kind: 'APIGroup', apiVersion: 'v1', ...g } : undefined;
  }

  resourceList(group: string, version: string) {
    const types = this.registry.inGroupVersion(group, version);
    if (types.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      ...(group ? { apiVersion: 'v1' } : {}),
      groupVersion: groupVersion({ group, version }),
      resources: types
        .slice()
        .sort((a, b) => a.plural.localeCompare(b.plural))
        .flatMap(resourceEntries),
    };
  }

  /* ---- OpenAPI v3 for group-versions without a recorded document (see schema/serve.ts) ---- */

  /** A made-up document for a group-version without a recorded one (what helm needs). */
  openApiDoc(group: string, version: string) {
    const paths: Record<string, unknown> = {};
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    for (const t of this.registry.inGroupVersion(group, version)) {
      if (t.virtual || t.review) continue;
      const path = t.namespaced
        ? `${prefix}/namespaces/{namespace}/${t.plural}/{name}`
        : `${prefix}/${t.plural}/{name}`;
      const gvk = { group: t.group, version: t.version, kind: t.kind };
      const params = ['fieldValidation', 'fieldManager', 'dryRun', 'force'].map(
        name => ({
          name,
          in: 'query',
          schema: { type: name === 'force' ? 'boolean' : 'string' },
        }),
      );
      const op = (action: string) => ({
        'x-kubernetes-action': action,
        'x-kubernetes-group-version-kind': gvk,
        parameters: params,
        responses: { '200': { description: 'OK' } },
      });
      paths[path] = {
        get: op('get'),
        put: op('put'),
        patch: op('patch'),
        delete: op('delete'),
      };
    }
    return {
      openapi: '3.0.0',
      info: { title: 'kube-sim', version: VERSION_INFO.gitVersion },
      paths,
      components: { schemas: {} },
    };
  }
}
