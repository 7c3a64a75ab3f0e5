import {
  KubeObject,
  parseManifests,
  parseYamlLimited,
} from '@kubechart/plugin-kubechart-node';
import { KubeClient } from '../lib/KubeClient';
import { CurrentHelmReleases } from '../lib/helmRelease';
import {
  describeKubeError,
  isNotFound,
  kubeStatusCode,
} from '../lib/kubeErrors';
import { RunFailure } from './errors';
import { currentRunSignal, noteClusterChange } from './lease';
import { liveObjectKey } from './releaseOwnership';

/** helm's `releaseutil.InstallOrder`: the order of kinds helm creates in (hooks of one weight too). */
export const INSTALL_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'Ingress',
  'APIService',
];

/** helm's `releaseutil.UninstallOrder`: the order of kinds `helm uninstall` deletes a release's objects in. */
export const UNINSTALL_ORDER = [
  'APIService',
  'Ingress',
  'Service',
  'CronJob',
  'Job',
  'StatefulSet',
  'HorizontalPodAutoscaler',
  'Deployment',
  'ReplicaSet',
  'ReplicationController',
  'Pod',
  'DaemonSet',
  'RoleBindingList',
  'RoleBinding',
  'RoleList',
  'Role',
  'ClusterRoleBindingList',
  'ClusterRoleBinding',
  'ClusterRoleList',
  'ClusterRole',
  'CustomResourceDefinition',
  'PersistentVolumeClaim',
  'PersistentVolume',
  'StorageClass',
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'PodDisruptionBudget',
  'PodSecurityPolicy',
  'LimitRange',
  'ResourceQuota',
  'NetworkPolicy',
  'Namespace',
];

/**
 * helm's kind order of two kinds in `order`: a known kind by its place, before every unknown kind;
 * unknown kinds by name. 0 for one kind (the caller sorts stably, or by name).
 */
export function compareKinds(a: string, b: string, order: string[]): number {
  const i = order.indexOf(a);
  const j = order.indexOf(b);
  if (i < 0 && j < 0) return compareText(a, b);
  if (i < 0) return 1;
  if (j < 0) return -1;
  return i - j;
}

/** The order of two names, as helm's sorters compare them. */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

const HOOK_ANNOTATION = 'helm.sh/hook';
const RESOURCE_POLICY_ANNOTATION = 'helm.sh/resource-policy';

type ReleaseRecord = CurrentHelmReleases['all'][number];
type Hook = ReleaseRecord['hooks'][number];
type HookEvent = 'pre-delete' | 'post-delete';

/** An object of a release record helm's uninstall deletes, with the kind its document states (a List's for its items). */
type RecordObject = { object: KubeObject; headKind: string };

/** What a checked release is uninstalled by (see {@link uninstallChecked}). */
export type CheckedUninstall = {
  release: string;
  namespace: string;
  /** Every record of the release the check read: helm acts on the last and deletes them all. */
  records: ReleaseRecord[];
  /** A kind's scope, as the check told it. */
  isNamespaced: (apiVersion: string, kind: string) => boolean | undefined;
  /** By `liveObjectKey`: the uid of each object of the records the check read and found the release's. */
  objectUids: Map<string, string>;
  /** By `liveObjectKey`: the uid of each existing object of a delete hook's kind and name the check read. */
  hookUids: Map<string, string>;
  /** The identity helm would delete the release's objects and records as. */
  client: KubeClient;
  /** The namespace's deployer: it reads the records, and creates, waits for and deletes the hooks. */
  deployer: KubeClient;
  /** How long a hook may run, and a deleted hook object take to go; how often to look. */
  waitTimeoutMs: number;
  pollIntervalMs: number;
  log(message: string, level?: 'info' | 'warn'): void;
  /** The run's words for what it did not change (`nothing was …`, see RunContext.refusalOutcome). */
  outcome(nothing: string): string;
};

/**
 * Uninstalls a release whose records the engine checked, as `helm uninstall` would, from what it
 * checked, without helm reading the records again (a Secret the namespace's users may write in the
 * meantime). From the last record: its pre-delete hooks, run as the deployer; its objects, in helm's
 * uninstall order, background propagation, each deleted only while it is the object the check read
 * (a precondition on its uid; one that did not exist then is skipped, one gone since is done), those
 * it marks `helm.sh/resource-policy` or `helm.sh/hook` kept as helm keeps them; its post-delete hooks.
 * Then every record the check read, each only while it is as read (uid and resourceVersion). A record
 * at `uninstalled` (helm's `--keep-history`) has only its records deleted, as helm does. Anything
 * else fails the run with a {@link RunFailure} naming the object or record and what was done.
 */
export async function uninstallChecked(u: CheckedUninstall): Promise<void> {
  const { release, namespace, records } = u;
  const what = `Release ${release} in ${namespace}`;
  const last = records.reduce((a, b) => (b.version > a.version ? b : a));
  const hooksOf = (event: HookEvent) =>
    last.hooks.filter(h => h.events.includes(event));
  if (last.status !== 'uninstalled') {
    const odd = [...hooksOf('pre-delete'), ...hooksOf('post-delete')].filter(
      h => h.odd,
    );
    if (odd.length > 0) {
      throw new RunFailure(
        `${what} was not uninstalled: its release record ${
          last.secret
        } has delete hooks that are not as helm writes them (${odd
          .map(
            h => `${h.kind || '(no kind)'}/${h.name || '(no name)'}: ${h.odd}`,
          )
          .join(
            '; ',
          )}), so how helm would run them cannot be known; ${u.outcome(
          'nothing was deleted',
        )}. The release record is a Secret in the namespace: correct or delete it and try again.`,
      );
    }
    // Objects the hooks create are known by the uid they were created with.
    const known = new Map(u.hookUids);
    await runHooks(u, hooksOf('pre-delete'), 'pre-delete', known);
    await deleteObjects(u, last);
    await runHooks(u, hooksOf('post-delete'), 'post-delete', known);
  }
  await deleteRecords(u);
  noteClusterChange(`uninstalled release ${release} in ${namespace}`);
}

/**
 * The objects of a record's manifest, each with the kind and annotations helm's uninstall reads it
 * by: its document's. A List's items go by the List's kind, and are kept when the List or the item is
 * marked. Only objects the check read are deleted, whatever is read here.
 */
function recordObjects(manifest: string): RecordObject[] {
  const out: RecordObject[] = [];
  for (const doc of parseYamlLimited(manifest, {
    what: 'Manifests',
    schema: 'helm',
  })) {
    if (!doc || typeof doc !== 'object') continue;
    const head = doc as KubeObject & { items?: unknown[] };
    const headKind = String(head.kind);
    if (!isList(head)) {
      out.push({ object: head, headKind });
      continue;
    }
    const marks = Object.fromEntries(
      Object.entries(head.metadata?.annotations ?? {}).filter(([k]) =>
        [HOOK_ANNOTATION, RESOURCE_POLICY_ANNOTATION].includes(k),
      ),
    );
    for (const item of head.items ?? []) {
      if (!item || typeof item !== 'object') continue;
      const object = item as KubeObject;
      out.push({
        object: {
          ...object,
          metadata: {
            ...object.metadata,
            annotations: { ...marks, ...object.metadata?.annotations },
          },
        } as KubeObject,
        headKind,
      });
    }
  }
  return out;
}

/** A document whose items helm creates (as `parseManifests` unpacks it): a `…List` kind with one `items` array. */
function isList(doc: { kind?: unknown; items?: unknown }): boolean {
  return (
    typeof doc.kind === 'string' &&
    doc.kind.endsWith('List') &&
    Array.isArray(doc.items) &&
    Object.keys(doc).filter(
      k => k.toLowerCase() === 'items' || k.toUpperCase() === 'ITEMS',
    ).length === 1
  );
}

/** `Kind/name` of an object. */
const named = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/** The object as a delete or read addresses it, in the release's namespace when namespaced. */
function reference(u: CheckedUninstall, o: KubeObject) {
  const namespaced = u.isNamespaced(String(o.apiVersion), String(o.kind));
  const name = String(o.metadata?.name ?? '');
  return {
    ref: {
      apiVersion: String(o.apiVersion),
      kind: String(o.kind),
      metadata: namespaced ? { name, namespace: u.namespace } : { name },
    },
    key: liveObjectKey(
      String(o.apiVersion),
      String(o.kind),
      namespaced ? u.namespace : undefined,
      name,
    ),
  };
}

/**
 * Deletes the objects of the last record as helm's uninstall does: its documents in helm's uninstall
 * order (stable), but those marked `helm.sh/resource-policy` (helm keeps `keep`, and deletes no other
 * value either) or `helm.sh/hook` (helm reads them as hooks, which an uninstall does not delete).
 */
async function deleteObjects(u: CheckedUninstall, last: ReleaseRecord) {
  const what = `Release ${u.release} in ${u.namespace}`;
  const all = recordObjects(last.manifest);
  const marked = (o: KubeObject, a: string) =>
    o.metadata?.annotations?.[a] !== undefined;
  const kept = all.filter(
    ({ object }) =>
      marked(object, RESOURCE_POLICY_ANNOTATION) ||
      marked(object, HOOK_ANNOTATION),
  );
  const ordered = all
    .filter(o => !kept.includes(o))
    .map((o, i) => ({ ...o, i }))
    .sort(
      (a, b) =>
        compareKinds(a.headKind, b.headKind, UNINSTALL_ORDER) || a.i - b.i,
    );
  const deleted: string[] = [];
  const skipped: string[] = [];
  for (const { object } of ordered) {
    const { ref, key } = reference(u, object);
    const uid = u.objectUids.get(key);
    // Not there when checked: whatever is there now was not checked.
    if (!uid) {
      skipped.push(named(object));
      continue;
    }
    try {
      if (
        (await u.client.delete(ref, {
          preconditions: { uid },
          propagationPolicy: 'Background',
        })) === 'deleted'
      )
        deleted.push(named(object));
    } catch (e) {
      const replaced = kubeStatusCode(e) === 409;
      throw new RunFailure(
        `${what} was not uninstalled: ${named(object)} ${
          replaced
            ? 'is no longer the object its release record named when the record was checked (it was deleted and created again since), so it was not deleted'
            : 'could not be deleted'
        }: ${describeKubeError(e)}; ${u.outcome(
          'nothing was deleted',
        )}. The release records were kept; ${
          replaced ? `check what ${named(object)} is now, then ` : ''
        }try again.`,
      );
    }
  }
  u.log(
    `deleted ${deleted.length} object(s) of release record ${last.secret}${
      deleted.length ? `: ${deleted.join(', ')}` : ''
    }${
      kept.length
        ? `; kept as the record marks them (helm.sh/resource-policy or helm.sh/hook): ${kept
            .map(o => named(o.object))
            .join(', ')}`
        : ''
    }${
      skipped.length
        ? `; not there when the record was checked: ${skipped.join(', ')}`
        : ''
    }`,
  );
}

/** Deletes every record the check read, each only as read; then no record of the release may be left. */
async function deleteRecords(u: CheckedUninstall) {
  const { release, namespace, records } = u;
  const what = `Release ${release} in ${namespace}`;
  const changed: Array<{ secret: string; why: string }> = [];
  for (const r of records) {
    if (!r.uid || !r.resourceVersion) {
      changed.push({
        secret: r.secret,
        why: 'it was read without a uid and resourceVersion',
      });
      continue;
    }
    try {
      await u.client.delete(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: r.secret, namespace },
        },
        { preconditions: { uid: r.uid, resourceVersion: r.resourceVersion } },
      );
    } catch (e) {
      if (kubeStatusCode(e) !== 409) {
        throw new RunFailure(
          `${what} was not uninstalled completely: its release record ${
            r.secret
          } could not be deleted: ${describeKubeError(e)}; ${u.outcome(
            'nothing was deleted',
          )}. Try again.`,
        );
      }
      changed.push({ secret: r.secret, why: describeKubeError(e) });
    }
  }
  if (changed.length > 0) {
    const one = changed.length === 1;
    throw new RunFailure(
      `${what} was not uninstalled completely: its release record${
        one ? '' : 's'
      } ${changed.map(c => c.secret).join(', ')} changed after ${
        one ? 'it was' : 'they were'
      } checked (${changed.map(c => c.why).join('; ')}), so ${
        one ? 'it was' : 'they were'
      } kept: what ${
        one ? 'it names' : 'they name'
      } now was not checked, and nothing was deleted for it; ${u.outcome(
        'nothing was deleted',
      )}. The release record is a Secret in the namespace: check what it names, correct or delete it, then try again.`,
    );
  }
  const left = (
    await u.deployer.core.listNamespacedSecret({
      namespace,
      labelSelector: `name=${release},owner=helm`,
    })
  ).items.map(s => s.metadata?.name ?? '(unnamed Secret)');
  if (left.length > 0) {
    throw new RunFailure(
      `${what} was not uninstalled completely: release record ${left.join(
        ', ',
      )} was written after its records were checked, so it was kept: what it names was not checked, and nothing was deleted for it; ${u.outcome(
        'nothing was deleted',
      )}. The release record is a Secret in the namespace: check what it names, correct or delete it, then try again.`,
    );
  }
}

/**
 * Runs the hooks of one event as helm does: by weight, then kind (helm's install order), then name;
 * each hook's objects created as the deployer once the ones its `before-hook-creation` (the default
 * policy) deletes are gone, a Job waited for to complete and a Pod to succeed; `hook-failed` deletes
 * a hook that failed, `hook-succeeded` each hook once all succeeded (the last first). A hook object
 * is deleted only while it is the one the check read or the hook created (`known`, by uid).
 */
async function runHooks(
  u: CheckedUninstall,
  hooks: Hook[],
  event: HookEvent,
  known: Map<string, string>,
) {
  const ordered = [...hooks].sort(
    (a, b) =>
      a.weight - b.weight ||
      compareKinds(a.kind, b.kind, INSTALL_ORDER) ||
      compareText(a.name, b.name),
  );
  const what = `Release ${u.release} in ${u.namespace}`;
  const failed = (h: Hook, why: string) =>
    new RunFailure(
      `${what} was not uninstalled${
        event === 'post-delete' ? ' completely' : ''
      }: its ${event} hook ${h.kind}/${h.name} ${why}; ${u.outcome(
        'nothing was deleted',
      )}. The release records were kept; try again.`,
    );
  const policies = (h: Hook) =>
    h.deletePolicies.length ? h.deletePolicies : ['before-hook-creation'];
  for (const h of ordered) {
    const objects = parseManifests(h.manifest);
    if (policies(h).includes('before-hook-creation'))
      await deleteHookObjects(u, h, objects, known, failed);
    for (const o of objects) {
      const { ref, key } = reference(u, o);
      try {
        const created = await u.deployer.create<KubeObject>({
          ...o,
          metadata: { ...o.metadata, ...ref.metadata },
        });
        const uid = created.metadata?.uid;
        if (typeof uid === 'string') known.set(key, uid);
      } catch (e) {
        throw failed(
          h,
          `could not be created: ${describeKubeError(e)}${
            kubeStatusCode(e) === 409
              ? ` (${named(
                  o,
                )} exists and was not there, or not a helm hook, when the record was checked)`
              : ''
          }`,
        );
      }
    }
    u.log(`${event} hook ${h.kind}/${h.name}: created`);
    for (const o of objects) {
      const why = await hookOutcome(u, o, known);
      if (why === undefined) continue;
      if (policies(h).includes('hook-failed'))
        await deleteHookObjects(u, h, objects, known, failed);
      throw failed(h, why);
    }
    u.log(`${event} hook ${h.kind}/${h.name}: succeeded`);
  }
  for (const h of [...ordered].reverse()) {
    if (policies(h).includes('hook-succeeded'))
      await deleteHookObjects(u, h, parseManifests(h.manifest), known, failed);
  }
}

/** Deletes a hook's objects, each only while it is the one known by its uid, and waits until they are gone. */
async function deleteHookObjects(
  u: CheckedUninstall,
  h: Hook,
  objects: KubeObject[],
  known: Map<string, string>,
  failed: (h: Hook, why: string) => RunFailure,
) {
  for (const o of objects) {
    const { ref, key } = reference(u, o);
    const uid = known.get(key);
    if (!uid) continue;
    try {
      await u.deployer.delete(ref, {
        preconditions: { uid },
        propagationPolicy: 'Background',
      });
    } catch (e) {
      throw failed(
        h,
        `could not delete ${named(o)}${
          kubeStatusCode(e) === 409
            ? ', which is no longer the object the record was checked with or the hook created'
            : ''
        }: ${describeKubeError(e)}`,
      );
    }
    const gone = await poll(u, async () => {
      const live = await u.deployer.read(ref);
      return !live || live.metadata?.uid !== uid ? true : undefined;
    });
    if (!gone)
      throw failed(
        h,
        `could not be run: ${named(o)} was still there ${
          u.waitTimeoutMs / 1000
        }s after it was deleted`,
      );
    known.delete(key);
  }
}

/** Why a hook object did not succeed (a Job that failed, a Pod that failed, either not done in time); undefined when it did. */
async function hookOutcome(
  u: CheckedUninstall,
  o: KubeObject,
  known: Map<string, string>,
): Promise<string | undefined> {
  if (o.kind !== 'Job' && o.kind !== 'Pod') return undefined;
  const { ref, key } = reference(u, o);
  const outcome = await poll<string>(u, async () => {
    const live = await u.deployer.read<any>(ref);
    if (!live || live.metadata?.uid !== known.get(key))
      return `failed: ${named(o)} was deleted while it ran`;
    if (o.kind === 'Pod') {
      if (live.status?.phase === 'Succeeded') return 'ok';
      if (live.status?.phase === 'Failed') return `failed: ${named(o)} failed`;
      return undefined;
    }
    const condition = (type: string) =>
      (live.status?.conditions ?? []).find(
        (c: any) => c.type === type && c.status === 'True',
      );
    if (condition('Complete')) return 'ok';
    const failure = condition('Failed');
    if (failure)
      return `failed: ${named(o)} failed${
        failure.reason ? ` (${failure.reason})` : ''
      }`;
    return undefined;
  });
  if (outcome === 'ok') return undefined;
  return (
    outcome ??
    `did not complete: ${named(o)} was not done ${
      u.waitTimeoutMs / 1000
    }s after it was created (kubechart.wait.timeoutSeconds)`
  );
}

/** Asks `check` every poll interval until it answers, at most the wait timeout; undefined when it never did. */
async function poll<T>(
  u: CheckedUninstall,
  check: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const until = Date.now() + u.waitTimeoutMs;
  for (;;) {
    const answer = await check().catch(e => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (answer !== undefined) return answer;
    if (Date.now() >= until) return undefined;
    currentRunSignal()?.throwIfAborted();
    await new Promise(r => setTimeout(r, u.pollIntervalMs));
  }
}
