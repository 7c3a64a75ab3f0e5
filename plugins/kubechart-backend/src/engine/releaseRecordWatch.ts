import { Watch } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { withDeadline } from '../lib/deadline';
import { KubeClient } from '../lib/KubeClient';
import { RunFailure } from './errors';

/** How long the gate waits for the watch to show the marker it wrote before it refuses. */
export const RECORD_MARKER_WAIT_MS = 30_000;

/** A watch of a release's record Secrets from when they were checked (see {@link watchReleaseRecords}). */
export type ReleaseRecordWatch = {
  /**
   * Which record changed since the check, undefined when none did. Writes a marker Secret (labelled
   * `name=<release>,owner=kubechart`, which helm's `owner=helm` lookup never reads) and waits until the
   * watch shows it: every earlier change has then been seen. Throws a {@link RunFailure} when that
   * cannot be told (the watch ended or failed, the marker could not be written or was not seen within
   * `waitMs`); the marker is deleted again.
   */
  changedSince(): Promise<string | undefined>;
  close(): void;
};

/**
 * Watches the Secrets labelled `name=<release>` in `namespace` from `listedAt`, the resourceVersion of
 * the list the release's records were checked from (`uids`: the record Secrets it held). Any event of
 * a Secret labelled `owner=helm`, or of a checked record, is a change of the records helm reads. The
 * watch is not resumed: one that ends or fails (410 Gone included) before the gate refuses. `client`
 * is the identity helm runs as, which writes the release's records.
 */
export async function watchReleaseRecords(
  client: KubeClient,
  namespace: string,
  release: string,
  from: { listedAt?: string; uids: string[] },
  waitMs = RECORD_MARKER_WAIT_MS,
): Promise<ReleaseRecordWatch> {
  const checked = new Set(from.uids);
  const marker = `kubechart-records-${randomBytes(8).toString('hex')}`;
  /** The uids of the markers the watch showed created. */
  const markersSeen = new Set<string>();
  /** The first change of a record seen. */
  let changed: string | undefined;
  let ended: string | undefined;
  let closed = false;
  let controller: AbortController | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach(l => l());
  const end = (why: string) => {
    ended ??= why;
    notify();
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
          if (type === 'BOOKMARK') return;
          const name = object?.metadata?.name;
          const uid = object?.metadata?.uid;
          if (name === marker) {
            if (type === 'ADDED' && typeof uid === 'string') {
              markersSeen.add(uid);
            }
            notify();
            return;
          }
          if (
            !changed &&
            (object?.metadata?.labels?.owner === 'helm' || checked.has(uid))
          ) {
            changed = `Secret ${name} was ${
              { ADDED: 'created', DELETED: 'deleted' }[type] ?? 'changed'
            }`;
          }
        },
        (err: unknown) => {
          if (closed) return;
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
    throw new RunFailure(ended);
  }

  return {
    async changedSince() {
      let check = () => {};
      let created = false;
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
        const uid = secret.metadata?.uid;
        if (!uid)
          throw new RunFailure(`its marker Secret ${marker} has no uid`);
        const seen = new Promise<void>((resolve, reject) => {
          check = () => {
            if (markersSeen.has(uid)) resolve();
            else if (ended) reject(new RunFailure(ended));
          };
        });
        listeners.add(check);
        check();
        await withDeadline(
          seen,
          waitMs,
          () =>
            new RunFailure(
              `the watch of its release records did not show the marker Secret ${marker} within ${
                waitMs / 1000
              }s`,
            ),
        );
        return changed;
      } finally {
        listeners.delete(check);
        if (created) {
          await client.core
            .deleteNamespacedSecret({ name: marker, namespace })
            .catch(() => undefined);
        }
      }
    },
    close,
  };
}
