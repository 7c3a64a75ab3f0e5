import { Watch } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { withDeadline } from '@kubechart/plugin-audit-log-common';
import { KubeClient } from '../lib/KubeClient';
import { RunFailure } from './errors';
import { isNotFound } from '../lib/kubeErrors';

/** How long the gate waits for the watch to show the marker it wrote before it refuses. */
export const RECORD_MARKER_WAIT_MS = 30_000;

/** A change of a release's records that helm did not make (see {@link ReleaseRecordWatch}). */
export type ReleaseRecordChange = {
  /** The Secret that changed. */
  secret: string;
  was: 'created' | 'changed' | 'deleted';
};

/** A watch of a release's record Secrets from when they were checked (see {@link watchReleaseRecords}). */
export type ReleaseRecordWatch = {
  /**
   * The first change of the release's records since the check that helm did not make; undefined when
   * there was none. `created`, once helm wrote its record (a rollback's), names that Secret: the first
   * record created since the check must be it, and what came after it is not compared (helm had read
   * the records it acts on by then); without it, any record created is a change. Writes a marker
   * Secret (labelled `name=<release>,owner=kubechart`, which helm's `owner=helm` lookup never reads)
   * and waits until the watch shows it: every earlier change has then been seen. Throws a
   * {@link RunFailure} when that cannot be told (the watch ended or failed, the marker could not be
   * written or was not seen within `waitMs`, `created` is not the record the watch saw created); the
   * marker is deleted again.
   */
  changedSince(created?: string): Promise<ReleaseRecordChange | undefined>;
  close(): void;
};

/** The watch of a release's records could not be opened, or ended at once. */
export class ReleaseRecordWatchFailure extends RunFailure {
  constructor(
    message: string,
    /** The identity may not watch Secrets in the namespace (403). */
    readonly forbidden: boolean,
  ) {
    super(message);
  }
}

export type ReleaseRecordWatchOptions = {
  /** How long {@link ReleaseRecordWatch.changedSince} waits for its marker; {@link RECORD_MARKER_WAIT_MS} by default. */
  waitMs?: number;
  /**
   * helm may prune the release's history before it writes its record (a rollback does): a checked
   * record deleted before then is no change, unless it is one of `current` (the Secrets of the
   * records helm acts on as current, which it never prunes).
   */
  pruning?: { current: string[] };
  /** Told, with why, when a marker Secret could not be deleted again; it stays until deleted by hand. */
  onMarkerLeft?: (message: string) => void;
  /** Told of each marker an earlier check left behind that this watch deleted (see {@link watchReleaseRecords}). */
  onStaleMarkerDeleted?: (message: string) => void;
};

/** How a marker Secret is named: `kubechart-records-` and 16 hex digits. */
const MARKER_NAME = /^kubechart-records-[0-9a-f]{16}$/;

/**
 * Whether `s` is a marker Secret of `release` as {@link watchReleaseRecords} writes one: named as
 * one, of type `Opaque`, holding nothing, labelled exactly `name=<release>,owner=kubechart`.
 */
function isMarkerOf(
  s: {
    type?: string;
    data?: Record<string, string>;
    metadata?: { name?: string; labels?: Record<string, string> };
  },
  release: string,
): boolean {
  const labels = s.metadata?.labels ?? {};
  return (
    MARKER_NAME.test(s.metadata?.name ?? '') &&
    s.type === 'Opaque' &&
    Object.keys(s.data ?? {}).length === 0 &&
    Object.keys(labels).length === 2 &&
    labels.name === release &&
    labels.owner === 'kubechart'
  );
}

/**
 * Watches the Secrets labelled `name=<release>` in `namespace` from `listedAt`, the resourceVersion of
 * the list the release's records were checked from (`uids`: the record Secrets it held). Any event of
 * a Secret labelled `owner=helm`, or of a checked record, is a change of the records helm reads,
 * except what `options.pruning` allows and what follows the first record created (see
 * {@link ReleaseRecordWatch.changedSince}). The watch is not resumed: one that ends or fails (410
 * Gone included) before the gate refuses. `client` is the identity helm runs as, which writes the
 * release's records; a watch it cannot open throws a {@link ReleaseRecordWatchFailure}.
 *
 * A marker is deleted once seen, but one whose backend stopped in between stays. Once its first
 * marker is written, the watch deletes the release's markers created more than `waitMs` (and the
 * second the API server's times are rounded to) before it, by the server's own times: every check
 * deletes its marker within `waitMs` of writing it, so only a check that stopped leaves one that old.
 * Only Secrets exactly as a marker is written are deleted ({@link isMarkerOf}), each told to
 * `options.onStaleMarkerDeleted`; what cannot be listed or deleted is told to `options.onMarkerLeft`.
 */
export async function watchReleaseRecords(
  client: KubeClient,
  namespace: string,
  release: string,
  from: { listedAt?: string; uids: string[] },
  options: ReleaseRecordWatchOptions = {},
): Promise<ReleaseRecordWatch> {
  const {
    waitMs = RECORD_MARKER_WAIT_MS,
    pruning,
    onMarkerLeft,
    onStaleMarkerDeleted,
  } = options;
  const checked = new Set(from.uids);
  /** The names of the markers this watch wrote: their events are no change of the records. */
  const markers = new Set<string>();
  /** The uids of the markers the watch showed created. */
  const markersSeen = new Set<string>();
  /** The first change of a record seen before the first record created. */
  let changed: ReleaseRecordChange | undefined;
  /** The first record created since the check: the watch compares nothing after it. */
  let firstCreated: { secret: string; uid?: string } | undefined;
  let ended: string | undefined;
  let forbidden = false;
  let closed = false;
  let controller: AbortController | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach(l => l());
  const end = (why: string) => {
    ended ??= why;
    notify();
  };
  const onEvent = (type: string, object: any) => {
    const name = String(object?.metadata?.name ?? '(unnamed Secret)');
    const uid = object?.metadata?.uid;
    const isRecord = object?.metadata?.labels?.owner === 'helm';
    // A marker relabelled `owner=helm` is a record helm reads, as any other.
    if (markers.has(name) && !isRecord) {
      if (type === 'ADDED' && typeof uid === 'string') markersSeen.add(uid);
      notify();
      return;
    }
    if (!isRecord && !checked.has(uid)) return;
    if (changed || firstCreated) return;
    if (type === 'ADDED' && isRecord && !checked.has(uid)) {
      firstCreated = { secret: name, uid };
    } else if (
      !(
        type === 'DELETED' &&
        pruning &&
        checked.has(uid) &&
        !pruning.current.includes(name)
      )
    ) {
      changed = {
        secret: name,
        was:
          ({ ADDED: 'created', DELETED: 'deleted' } as const)[
            type as 'ADDED' | 'DELETED'
          ] ?? 'changed',
      };
    }
  };
  if (!from.listedAt) {
    end('listing its release records gave no resourceVersion to watch from');
  } else {
    try {
      controller = await new Watch(client.kubeConfig).watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        {
          labelSelector: `name=${release}`,
          resourceVersion: from.listedAt,
          allowWatchBookmarks: true,
        },
        (type: string, object: any) => {
          if (closed) return;
          if (type === 'ERROR') {
            end(
              `the watch of its release records failed: ${
                object?.message ?? object?.reason ?? 'unknown error'
              }`,
            );
            return;
          }
          if (type !== 'BOOKMARK') onEvent(type, object);
        },
        (err: unknown) => {
          if (closed) return;
          forbidden ||= (err as { statusCode?: number })?.statusCode === 403;
          end(
            err
              ? `the watch of its release records ended: ${err}`
              : 'the watch of its release records ended',
          );
        },
      );
    } catch (e) {
      end(`the watch of its release records could not be opened: ${e}`);
    }
  }
  const close = () => {
    closed = true;
    listeners.clear();
    controller?.abort();
  };
  // client-node reports a watch it could not open (403 included) through `done`, not by throwing.
  if (ended) {
    close();
    throw new ReleaseRecordWatchFailure(ended, forbidden);
  }

  /** Whether the markers left behind were looked for (once, at the first marker). */
  let staleLookedFor = false;
  /** Deletes the release's markers created more than `waitMs` before `now` (a marker's creationTimestamp). */
  const deleteStaleMarkers = async (now: Date | undefined) => {
    if (staleLookedFor || !now) return;
    staleLookedFor = true;
    const left = `the marker Secrets of ${release} in ${namespace} left behind by earlier checks (labelled name=${release},owner=kubechart, which helm does not read)`;
    let items;
    try {
      ({ items } = await client.core.listNamespacedSecret({
        namespace,
        labelSelector: `name=${release},owner=kubechart`,
      }));
    } catch (e) {
      onMarkerLeft?.(
        `${left} could not be listed; delete those older than ${
          waitMs / 1000
        }s: ${(e as Error)?.message ?? e}`,
      );
      return;
    }
    for (const s of items) {
      const name = s.metadata?.name ?? '';
      const created = s.metadata?.creationTimestamp;
      if (!isMarkerOf(s, release) || markers.has(name) || !created) continue;
      // The API server's times are whole seconds: a marker a second younger may look older by one.
      const age = new Date(now).getTime() - new Date(created).getTime();
      if (!(age > waitMs + 1000)) continue;
      try {
        await client.core.deleteNamespacedSecret({
          name,
          namespace,
          body: { preconditions: { uid: s.metadata?.uid } },
        });
      } catch (e) {
        if (!isNotFound(e)) {
          onMarkerLeft?.(
            `the marker Secret ${name} in ${namespace}, left behind by an earlier check of release ${release}'s records, could not be deleted; delete it: ${
              (e as Error)?.message ?? e
            }`,
          );
        }
        continue;
      }
      onStaleMarkerDeleted?.(
        `deleted the marker Secret ${name} in ${namespace}, created at ${new Date(
          created,
        ).toISOString()} by an earlier check of release ${release}'s records that did not delete it (it is more than ${
          waitMs / 1000
        }s older than this check's marker)`,
      );
    }
  };

  /** Writes a marker and waits until the watch shows it; deletes it again, and the markers left behind. */
  const markerSeen = async () => {
    const marker = `kubechart-records-${randomBytes(8).toString('hex')}`;
    markers.add(marker);
    let check = () => {};
    let created = false;
    /** When the API server created the marker, by its clock. */
    let createdAt: Date | undefined;
    try {
      const secret = await client.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: marker,
            labels: { name: release, owner: 'kubechart' },
          },
          type: 'Opaque',
        },
      });
      created = true;
      createdAt = secret.metadata?.creationTimestamp;
      const uid = secret.metadata?.uid;
      if (!uid) throw new RunFailure(`its marker Secret ${marker} has no uid`);
      const seen = new Promise<void>((resolve, reject) => {
        check = () => {
          if (markersSeen.has(uid)) resolve();
          else if (ended) reject(new RunFailure(ended));
        };
      });
      listeners.add(check);
      check();
      await withDeadline(seen, waitMs, () => {
        throw new RunFailure(
          `the watch of its release records did not show the marker Secret ${marker} within ${
            waitMs / 1000
          }s`,
        );
      });
    } finally {
      listeners.delete(check);
      if (created) {
        await client.core
          .deleteNamespacedSecret({ name: marker, namespace })
          .catch(e => {
            // Already gone (another check deleted it as left behind): not left.
            if (isNotFound(e)) return;
            onMarkerLeft?.(
              `the marker Secret ${marker} in ${namespace} (labelled name=${release},owner=kubechart, which helm does not read) could not be deleted and is left behind; delete it: ${
                (e as Error)?.message ?? e
              }`,
            );
          });
        await deleteStaleMarkers(createdAt);
      }
    }
  };

  return {
    async changedSince(created) {
      await markerSeen();
      if (changed) return changed;
      if (!firstCreated) {
        if (created) {
          throw new RunFailure(
            `the watch of its release records did not show ${created} created`,
          );
        }
        return undefined;
      }
      const first: ReleaseRecordChange = {
        secret: firstCreated.secret,
        was: 'created',
      };
      if (!created || firstCreated.secret !== created) return first;
      const record = await client.read<any>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: created, namespace },
      });
      if (!record)
        throw new RunFailure(`there is no release record ${created}`);
      // A record of that name created first, then deleted and created again, is not helm's.
      return record.metadata?.uid === firstCreated.uid ? undefined : first;
    },
    close,
  };
}
