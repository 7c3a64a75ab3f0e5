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
  /** How long the whole uninstall may take (`kubechart.helm.timeoutSeconds`, as helm's `--timeout` was). */
  timeoutMs: number;
  log(message: string, level?: 'info' | 'warn'): void;
  /** The run's words for what it did not change (`nothing was …`, see RunContext.refusalOutcome). */
  outcome(nothing: string): string;
};

/** A checked uninstall under way: when it must be done by. */
type Uninstall = CheckedUninstall & { until: number };

/** A hook that did not succeed: the objects of its manifest, and why. */
class HookFailure extends Error {
  constructor(readonly hook: string, readonly why: string) {
    super(`${hook} ${why}`);
  }
}

/** `Kind/name` of an object. */
const named = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/**
 * Uninstalls a release whose records the engine checked, as `helm uninstall` would, from what it
 * checked, without helm reading the records again (a Secret the namespace's users may write in the
 * meantime). From the last record: its pre-delete hooks, run as the deployer; its objects, in helm's
 * uninstall order, background propagation, each deleted only while it is the object the check read
 * (a precondition on its uid; one that did not exist then is skipped, one gone since is done), those
 * it marks `helm.sh/resource-policy` or `helm.sh/hook` kept as helm keeps them; its post-delete hooks.
 * Then every record the check read, each only while it is as read (uid and resourceVersion); also
 * when a post-delete hook failed, as helm deletes them then too, before the run fails naming the hook.
 * A record at `uninstalled` (helm's `--keep-history`) has only its records deleted, as helm does, the
 * objects it names told in a warning. Every wait ends by one deadline, `timeoutMs` from the start.
 * Anything else fails the run with a {@link RunFailure} naming the object or record and what was done.
 */
export async function uninstallChecked(
  checked: CheckedUninstall,
): Promise<void> {
  const u: Uninstall = { ...checked, until: Date.now() + checked.timeoutMs };
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
    try {
      await runHooks(u, hooksOf('pre-delete'), 'pre-delete', known);
    } catch (e) {
      if (!(e instanceof HookFailure)) throw e;
      throw new RunFailure(
        `${what} was not uninstalled: its pre-delete hook ${
          e.message
        }; ${u.outcome(
          'nothing was deleted',
        )}. The release records were kept; try again.`,
      );
    }
    await deleteObjects(u, last);
    try {
      await runHooks(u, hooksOf('post-delete'), 'post-delete', known);
    } catch (e) {
      if (!(e instanceof HookFailure)) throw e;
      // helm deletes the records when a post-delete hook failed, then reports the failure: a record
      // kept would make every next uninstall run the hooks again and fail the same way.
      const hook = `its post-delete hook ${e.message}`;
      try {
        await deleteRecords(u);
      } catch (f) {
        if (!(f instanceof RunFailure)) throw f;
        throw new RunFailure(`${f.message} Before that, ${hook}.`);
      }
      noteClusterChange(`uninstalled release ${release} in ${namespace}`);
      throw new RunFailure(
        `${what} was uninstalled, but ${hook}; its objects and its release records were deleted (as helm deletes them when a post-delete hook fails), so the hook is not run again; ${u.outcome(
          'nothing was deleted',
        )}. Check what the hook should have done, and do it yourself.`,
      );
    }
  } else {
    const kept = recordObjects(last.manifest).map(o => named(o.object));
    if (kept.length > 0)
      u.log(
        `release record ${
          last.secret
        } is at uninstalled (helm's --keep-history): only the release records were deleted, as helm deletes nothing more; the objects it names were not deleted: ${kept.join(
          ', ',
        )}`,
        'warn',
      );
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

/** The object as a delete or read addresses it, in the release's namespace when namespaced. */
function reference(u: Uninstall, o: KubeObject) {
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
async function deleteObjects(u: Uninstall, last: ReleaseRecord) {
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

/**
 * Deletes every record the check read, each only as read; then no record of the release may be left
 * but one of those just deleted that a finalizer still holds (told in a warning).
 */
async function deleteRecords(u: Uninstall) {
  const { release, namespace, records } = u;
  const what = `Release ${release} in ${namespace}`;
  const changed: Array<{ secret: string; why: string }> = [];
  const deleted = new Set<string>();
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
      deleted.add(r.uid);
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
  const found = (
    await u.deployer.core.listNamespacedSecret({
      namespace,
      labelSelector: `name=${release},owner=helm`,
    })
  ).items;
  // A record just deleted that a finalizer holds is the one checked, on its way out.
  const going = found.filter(
    s =>
      s.metadata?.deletionTimestamp &&
      s.metadata.uid &&
      deleted.has(s.metadata.uid),
  );
  for (const s of going) {
    const finalizers = s.metadata?.finalizers ?? [];
    let holder = 'it goes once the API server has removed it';
    if (finalizers.length === 1)
      holder = `the finalizer ${finalizers[0]} holds it; it goes once that finalizer is removed`;
    else if (finalizers.length > 1)
      holder = `the finalizers ${finalizers.join(
        ', ',
      )} hold it; it goes once they are removed`;
    u.log(
      `release record ${s.metadata?.name} is still being deleted: ${holder}`,
      'warn',
    );
  }
  const left = found
    .filter(s => !going.includes(s))
    .map(s => s.metadata?.name ?? '(unnamed Secret)');
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

/** A hook as it is named: the `Kind/name` of its manifest's objects (what is created). */
function hookName(objects: KubeObject[]): string {
  return objects.length > 0 ? objects.map(named).join(', ') : '(no object)';
}

/**
 * Runs the hooks of one event as helm does: by weight, then kind (helm's install order), then name
 * (the record's fields, which order them only); each hook's objects, as its manifest states them,
 * created as the deployer once the ones its `before-hook-creation` (the default policy) deletes are
 * gone, a Job waited for to complete and a Pod to succeed (one deleted meanwhile, as by its
 * `ttlSecondsAfterFinished`, is done, as helm's watch takes it); `hook-failed` deletes a hook that
 * failed, `hook-succeeded` each hook once all succeeded (the last first). A hook object is deleted only
 * while it is the one the check read or the hook created (`known`, by uid). A hook that fails throws
 * a {@link HookFailure} naming it.
 */
async function runHooks(
  u: Uninstall,
  hooks: Hook[],
  event: HookEvent,
  known: Map<string, string>,
) {
  const ordered = [...hooks]
    .sort(
      (a, b) =>
        a.weight - b.weight ||
        compareKinds(a.kind, b.kind, INSTALL_ORDER) ||
        compareText(a.name, b.name),
    )
    .map(h => ({ h, objects: parseManifests(h.manifest) }));
  const policies = (h: Hook) =>
    h.deletePolicies.length ? h.deletePolicies : ['before-hook-creation'];
  for (const { h, objects } of ordered) {
    const name = hookName(objects);
    if (policies(h).includes('before-hook-creation'))
      await deleteHookObjects(u, name, objects, known);
    for (const o of objects) {
      const { ref, key } = reference(u, o);
      try {
        // As the manifest states it: client-node's typed models would drop the fields they do not know.
        const created = await u.deployer.createAsIs<KubeObject>({
          ...o,
          metadata: { ...o.metadata, ...ref.metadata },
        });
        const uid = created.metadata?.uid;
        if (typeof uid === 'string') known.set(key, uid);
      } catch (e) {
        throw new HookFailure(
          name,
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
    u.log(`${event} hook ${name}: created`);
    for (const o of objects) {
      const why = await hookOutcome(u, o, known);
      if (why === 'gone') {
        u.log(
          `${event} hook ${name}: ${named(
            o,
          )} is gone (deleted before it was seen done); taken as done, as helm takes a deleted hook`,
        );
        continue;
      }
      if (why === undefined) continue;
      if (policies(h).includes('hook-failed'))
        await deleteHookObjects(u, name, objects, known);
      throw new HookFailure(name, why);
    }
    u.log(`${event} hook ${name}: succeeded`);
  }
  for (const { h, objects } of [...ordered].reverse()) {
    if (policies(h).includes('hook-succeeded'))
      await deleteHookObjects(u, hookName(objects), objects, known);
  }
}

/** Deletes a hook's objects, each only while it is the one known by its uid, and waits until they are gone. */
async function deleteHookObjects(
  u: Uninstall,
  hook: string,
  objects: KubeObject[],
  known: Map<string, string>,
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
      throw new HookFailure(
        hook,
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
      throw new HookFailure(
        hook,
        `could not be run: ${named(o)} was still there ${waited(
          u,
          'after it was deleted',
        )}`,
      );
    known.delete(key);
  }
}

/**
 * Why a hook object did not succeed (a Job that failed, a Pod that failed, either not done in time);
 * `gone` when the object created is no longer there (deleted, as by its `ttlSecondsAfterFinished`,
 * before it was seen done); undefined when it succeeded.
 */
async function hookOutcome(
  u: Uninstall,
  o: KubeObject,
  known: Map<string, string>,
): Promise<string | undefined> {
  if (o.kind !== 'Job' && o.kind !== 'Pod') return undefined;
  const { ref, key } = reference(u, o);
  const outcome = await poll<string>(u, async () => {
    const live = await u.deployer.read<any>(ref);
    if (!live || live.metadata?.uid !== known.get(key)) return 'gone';
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
  // What the hook created is gone: nothing of it is left to delete.
  if (outcome === 'gone') known.delete(key);
  return (
    outcome ??
    `did not complete: ${named(o)} was not done ${waited(
      u,
      'after it was created',
    )}`
  );
}

/**
 * How long a wait that ended unanswered lasted: the wait timeout, or what was left of the whole
 * uninstall's time when that ran out first.
 */
function waited(u: Uninstall, after: string): string {
  return Date.now() >= u.until
    ? `when the uninstall's time ran out: it did not finish within ${
        u.timeoutMs / 1000
      }s (kubechart.helm.timeoutSeconds)`
    : `${u.waitTimeoutMs / 1000}s ${after} (kubechart.wait.timeoutSeconds)`;
}

/**
 * Asks `check` every poll interval until it answers, at most the wait timeout and never past the
 * uninstall's deadline; undefined when it never did.
 */
async function poll<T>(
  u: Uninstall,
  check: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const until = Math.min(Date.now() + u.waitTimeoutMs, u.until);
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
