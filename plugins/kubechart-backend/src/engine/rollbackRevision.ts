import { InputError } from '@backstage/errors';
import {
  PolicyReport,
  RollbackRunInput,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterDiscovery,
  ClusterRegistry,
  PolicyEngine,
  collectManifestSecretValues,
  collectSecretValues,
  parseManifests,
  parseManifestsInTurns,
  releasePolicyReport,
} from '@kubechart/plugin-kubechart-node';
import { Watch } from '@kubernetes/client-node';
import { StoredHelmRelease, helmReleaseOfSecret } from '../lib/helmRelease';
import { approvedRevisionOf } from '../approvals/approvedRevision';
import { KubeClient } from '../lib/KubeClient';
import { RunFailure } from './errors';
import { withHooks } from './helm3Hooks';
import { RunScope, toPolicyScope } from './scope';
import { ingressHostsOption } from './ingressHostsInUse';
import { withDeadline } from '@kubechart/plugin-audit-log-common';

/**
 * The manifest helm stored for one revision of a release, its hooks included (helm runs the
 * revision's hooks on rollback): what a rollback to that revision applies, and the values it was
 * installed with (their secret values are to be removed from whatever is shown or stored).
 */
function revisionOf(stored: StoredHelmRelease): {
  manifest: string;
  config: Record<string, unknown>;
} {
  return {
    manifest: withHooks(String(stored.manifest), stored.hooks),
    config: stored.config,
  };
}

type RollbackJudgeDeps = {
  policy: PolicyEngine;
  discovery: ClusterDiscovery;
  /** The clusters, whose Ingresses' and routes' hosts the check reads (see ingressHostsOption). */
  clusters: ClusterRegistry;
  enforceRunScope: boolean;
};

/**
 * The revision a rollback returns to, the record `stored` (read by the caller from the list of the
 * release's records it checks and watches), judged by the current chart policy with the run's scope
 * (`run-scope` included unless switched off for tests): its manifest and report. The caller's
 * `client` acts as the namespace's deployer.
 */
export async function judgeRollbackRecord(
  deps: RollbackJudgeDeps,
  stored: StoredHelmRelease,
  input: Pick<RollbackRunInput, 'cluster' | 'release'>,
  scope: RunScope,
): Promise<{
  manifest: string;
  report: PolicyReport;
  config: Record<string, unknown>;
}> {
  const { manifest, config } = revisionOf(stored);
  // Read as helm reads the stored text when it rolls back (YAML 1.1: `hostNetwork: yes` is true);
  // a record helm would read otherwise (U+2028 and the like, a `---` line only helm splits at) is
  // refused, so no forged record rolls back to objects the policy did not see.
  const objects = await parseManifestsInTurns(manifest);
  const options = deps.enforceRunScope
    ? {
        scope: toPolicyScope(
          scope,
          await deps.discovery.lookup(input.cluster, objects),
        ),
        ...(await ingressHostsOption(deps, input.cluster, objects)),
      }
    : {};
  return {
    manifest,
    config,
    report: releasePolicyReport(
      await deps.policy.checkInTurns(objects, options),
      input.release,
    ),
  };
}

/**
 * The secret values a rollback may show: those of the revision it returns to, and of the release's
 * latest revision (what it replaces, shown on the other side of a diff), their Secrets' values included.
 */
export function rollbackSecretValues(
  ...configsAndManifests: Array<
    { config?: Record<string, unknown>; manifest?: string } | undefined
  >
): string[] {
  const out = new Set<string>();
  for (const r of configsAndManifests) {
    if (!r) continue;
    for (const s of collectSecretValues(r.config ?? {})) out.add(s);
    if (r.manifest) {
      // Every object is read, however many (the limit of a policy check is no limit here). A
      // manifest that cannot be read is refused: its Secrets' values are not known, so it is not
      // shown (redactManifest shows the documents of it that parse on their own).
      let objects: unknown[];
      try {
        objects = parseManifests(r.manifest);
      } catch (e) {
        throw new InputError(
          `The secret values of a release manifest cannot be collected: ${
            e instanceof Error ? e.message : String(e)
          }; nothing of it is shown`,
        );
      }
      // More secret values than MAX_SECRET_VALUES is refused (400), never shown unscrubbed.
      for (const s of collectManifestSecretValues(objects)) out.add(s);
    }
  }
  return [...out];
}

/** A revision helm created, as it created it: the manifest it applied (hooks included) and its values. */
export type CreatedRevision = {
  version: number;
  /**
   * Its status as first written: helm writes a rollback's record `pending-rollback`, an upgrade's
   * `pending-upgrade` (`pending-install` for a first install), before it applies anything.
   */
  status: string;
  manifest: string;
  /** Its hooks, as its record held them (also in `manifest`). */
  hooks: StoredHelmRelease['hooks'];
  config: Record<string, unknown>;
  /** The digest of its release record as helm first wrote it (`approvedRevisionOf`). */
  digest: string;
};

/** A release record created after helm's own (see {@link RevisionCreations.createdFirst}). */
export type LaterRecord = {
  /** Its Secret's name. */
  secret: string;
  /** The revision its Secret's name states, if it states one. */
  revision?: number;
  /** It was created after helm's record and is gone again. */
  gone: boolean;
};

/** The release records helm created while a rollback or an upgrade ran (see {@link watchCreatedRevisions}). */
export interface RevisionCreations {
  /**
   * The first revision created since the watch began, which must be `version` (the revision helm
   * reports it wrote, as `helm upgrade` does, or the one after the last it reads, as `helm rollback`
   * writes): its record as helm first wrote it, whatever was written to it since. `later`: the
   * release's records created after it (helm writes one record; these are someone else's), those
   * listed now and the one the watch saw created second. A RunFailure naming why when helm's record
   * cannot be told: none created within the wait, the first created is another, the watch ended or
   * stopped before one was.
   */
  createdFirst(
    version: number,
  ): Promise<CreatedRevision & { later: LaterRecord[] }>;
  /**
   * What the watch holds now: the changes it remembers, the bytes of record content it keeps, and
   * whether it still follows the records.
   */
  retained(): { changes: number; contentBytes: number; watching: boolean };
  close(): void;
}

/** How long {@link RevisionCreations.createdFirst} waits for the watch to show a record created. */
export const CREATED_REVISION_WAIT_MS = 30_000;

/**
 * The most changes of a release's records {@link watchCreatedRevisions} remembers (a rollback makes
 * a handful). Past it the watch stops: a record it did not show created is refused, never guessed.
 */
export const MAX_FOLLOWED_RECORD_CHANGES = 10_000;

/** What cannot be done when {@link watchCreatedRevisions} cannot follow the records, in words. */
export type CreatedRevisionsRefusal = {
  /** What cannot be told, e.g. "What helm applies for a rollback of web cannot be compared …". */
  what: string;
  /** What was not done, e.g. "nothing was rolled back". */
  outcome: string;
};

/** The revision number a release record's Secret name states (`sh.helm.release.v1.<release>.v<n>`). */
const revisionOfName = (name: string, release: string) => {
  const prefix = `sh.helm.release.v1.${release}.v`;
  const n = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/**
 * Watches the release records of `release` (Secrets labelled `owner=helm,name=<release>`, as helm
 * finds them) from now on, to learn which record `helm rollback` or `helm upgrade` wrote and what it
 * applied ({@link RevisionCreations.createdFirst}). Helm reads the revision it returns to once,
 * writes it as a new revision (before it applies it), then applies that copy: the new record, as
 * first written, is what was applied. Rewriting the old revision's Secret (which the namespace's
 * users may) after the chart policy judged it shows there, and cannot be hidden by rewriting the new
 * record afterwards: only its first write counts, and a record created after it (someone's `helm
 * upgrade` by hand) is named, never taken for it. `client` acts as the namespace's deployer. A
 * RunFailure when the watch ends before it is returned (a deployer without `watch` on Secrets): helm
 * is not to run then.
 *
 * What it keeps does not grow with what the namespace's users do meanwhile: of each change only
 * which write it was, of the records only the first created (a Secret holds at most 1 MiB). A
 * second creation is someone else's record, so the watch stops there (the records listed once helm is
 * done name any later ones); it stops too past `maxChanges` changes.
 */
export async function watchCreatedRevisions(
  client: KubeClient,
  namespace: string,
  release: string,
  waitMs = CREATED_REVISION_WAIT_MS,
  maxChanges = MAX_FOLLOWED_RECORD_CHANGES,
  refusal: CreatedRevisionsRefusal = {
    what: `What helm applies for a rollback of ${release} cannot be compared with the revision the chart policy judged`,
    outcome: 'nothing was rolled back',
  },
): Promise<RevisionCreations> {
  const list = await client.core.listNamespacedSecret({
    namespace,
    labelSelector: `owner=helm,name=${release}`,
  });
  /** The records there were when the watch began (their uids): none of them is created since. */
  const existing = new Set(
    list.items.map(s => s.metadata?.uid).filter(uid => uid !== undefined),
  );
  /** Each change seen (`uid` and `resourceVersion`). */
  const changes = new Set<string>();
  const changeKey = (uid: unknown, resourceVersion: unknown) =>
    JSON.stringify([uid, resourceVersion]);
  let creations = 0;
  /** The first record created: the only one whose content is read. */
  let first: { uid?: string; secret: any } | undefined;
  /** The name of the second record created, the last the watch follows (see below). */
  let second: string | undefined;
  /** Why the watch stopped following the records, once it has. */
  let stopped: string | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach(l => l());
  let lastVersion = list.metadata?.resourceVersion;
  let ended: string | undefined;
  /** The watch was refused with 403: the deployer may not watch the namespace's Secrets. */
  let forbidden = false;
  let controller: AbortController | undefined;
  let closed = false;
  const end = (why: string) => {
    ended ??= why;
    notify();
  };
  const stop = (why: string) => {
    stopped ??= why;
    controller?.abort();
    notify();
  };
  const open = async () => {
    try {
      controller = await new Watch(client.kubeConfig).watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        {
          labelSelector: `owner=helm,name=${release}`,
          resourceVersion: lastVersion,
          allowWatchBookmarks: true,
        },
        (type: string, object: any) => {
          if (closed || stopped) return;
          if (type === 'ERROR') {
            end(
              `the watch of its release records failed: ${
                object?.message ?? object?.reason ?? 'unknown error'
              }`,
            );
            return;
          }
          const rv = object?.metadata?.resourceVersion;
          if (typeof rv === 'string') lastVersion = rv;
          if (type === 'BOOKMARK') return;
          if (changes.size >= maxChanges) {
            stop(
              `the release records of ${release} changed more than ${maxChanges} times while it ran, more than are followed`,
            );
            return;
          }
          const uid = object?.metadata?.uid;
          if (type === 'ADDED') {
            creations++;
            // Only the first creation's content is read; of the second, its name.
            first ??= { uid, secret: object };
            if (creations === 2) second = String(object?.metadata?.name ?? '');
          }
          changes.add(changeKey(uid, rv));
          // A second record is someone else's: what follows it is not followed (see `createdFirst`).
          if (creations > 1) stop('a second release record was created');
          else notify();
        },
        (err: unknown) => {
          if (closed || ended || stopped) return;
          // The server ends watches now and then: resume from the last change seen (nothing is missed).
          if (err) {
            forbidden ||= (err as { statusCode?: number }).statusCode === 403;
            end(`the watch of its release records ended: ${err}`);
          } else open();
        },
      );
      // Stopped or closed while it opened: it follows nothing more.
      if (closed || stopped) controller.abort();
    } catch (e) {
      end(`the watch of its release records could not be opened: ${e}`);
    }
  };
  if (!lastVersion) {
    end('listing its release records gave no resourceVersion to watch from');
  } else {
    await open();
  }
  // @kubernetes/client-node reports a watch it could not open (403 included) through `done`, not by
  // throwing: one that ended already shows nothing of what helm would write, so helm is not run.
  if (ended) {
    closed = true;
    controller?.abort();
    throw new RunFailure(
      `${refusal.what}: ${ended}${
        forbidden
          ? `; the deployer may not watch Secrets in ${namespace} (its ClusterRole, kubechart.tenant.deployer.clusterRole, needs the \`watch\` verb on Secrets there)`
          : ''
      }; ${refusal.outcome}`,
    );
  }

  /** The first record created as helm wrote it, which must be revision `version`'s (`name`). */
  const firstRecord = async (
    created: { uid?: string; secret: any },
    version: number,
    name: string,
  ): Promise<CreatedRevision> => {
    const record = await helmReleaseOfSecret(
      created.secret,
      namespace,
      release,
    );
    if (!record || record.version !== version) {
      throw new RunFailure(
        `${name} is not helm's release record of revision ${version}`,
      );
    }
    return {
      version,
      status: record.status,
      manifest: withHooks(String(record.manifest), record.hooks),
      hooks: record.hooks,
      config: record.config,
      digest: approvedRevisionOf(record),
    };
  };

  return {
    async createdFirst(version) {
      const name = `sh.helm.release.v1.${release}.v${version}`;
      let check = () => {};
      const seen = new Promise<void>((resolve, reject) => {
        check = () => {
          if (first) resolve();
          else if (stopped) reject(new RunFailure(stopped));
          else if (ended) reject(new RunFailure(ended));
        };
      });
      listeners.add(check);
      check();
      try {
        await withDeadline(seen, waitMs, () => {
          throw new RunFailure(
            `the watch of its release records did not show ${name} created within ${
              waitMs / 1000
            }s`,
          );
        });
      } finally {
        listeners.delete(check);
      }
      const created = first!;
      const firstName = String(created.secret?.metadata?.name ?? '');
      if (firstName !== name) {
        throw new RunFailure(
          `the first release record of ${release} created while it ran is ${firstName}, not ${name}, which helm wrote`,
        );
      }
      const revision = await firstRecord(created, version, name);
      // helm writes one record: any other created since the watch began is someone else's.
      const now = await client.core.listNamespacedSecret({
        namespace,
        labelSelector: `owner=helm,name=${release}`,
      });
      const later = new Map<string, LaterRecord>();
      for (const s of now.items) {
        const uid = s.metadata?.uid;
        const secret = s.metadata?.name ?? '';
        if (uid === created.uid || (uid !== undefined && existing.has(uid)))
          continue;
        later.set(secret, {
          secret,
          revision: revisionOfName(secret, release),
          gone: false,
        });
      }
      if (second !== undefined && !later.has(second)) {
        later.set(second, {
          secret: second,
          revision: revisionOfName(second, release),
          gone: true,
        });
      }
      return {
        ...revision,
        later: [...later.values()].sort(
          (a, b) => (a.revision ?? Infinity) - (b.revision ?? Infinity),
        ),
      };
    },
    retained() {
      return {
        changes: changes.size,
        contentBytes: first
          ? Buffer.byteLength(JSON.stringify(first.secret))
          : 0,
        watching: !closed && !ended && !stopped,
      };
    },
    close() {
      closed = true;
      listeners.clear();
      controller?.abort();
    },
  };
}
