import { IncomingMessage, ServerResponse } from 'node:http';
import { KubeApi } from './api';
import { groupVersion, ResourceType, typeId } from './resources';
import {
  FieldRequirement,
  LabelRequirement,
  matchesFields,
  matchesLabels,
} from './selectors';
import { StatusError } from './status';
import { StoreEvent } from './store';
import { toTable } from './table';
import { partialObject } from './partialMetadata';
import { KubeObject } from './types';

export interface WatchParams {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  resourceVersion: string;
  /** allowWatchBookmarks */
  bookmarks: boolean;
  timeoutSeconds: number;
  /** `kubectl get -w`: each object goes out as a one-row Table. */
  table: boolean;
  /** Send objects as `meta.k8s.io` PartialObjectMetadata of this version. */
  metadataVersion?: string;
  /** A converted view (events.k8s.io/v1 of the core Events): its type and how objects are converted. */
  view?: { type: ResourceType; convert: (o: KubeObject) => KubeObject };
  /**
   * Fault injection: whether the watch is to be held open silently now (before its response headers
   * too), how to hear of a hang added later (returns how to stop listening), and what counts the
   * watches held (`held()` when one is held, the function it returns when its client hung up).
   */
  hang?: {
    now(): boolean;
    beforeHeaders(): boolean;
    onHang(listener: () => void): () => void;
    held(): () => void;
  };
}

/**
 * Serves a watch: a chunked stream of JSON events (one per line) that starts from the current state,
 * from a resourceVersion (410 Expired when it is older than the watch cache), or as a streaming list.
 */
export function serveWatch(
  api: KubeApi,
  bookmarkIntervalMs: number,
  req: IncomingMessage,
  res: ServerResponse,
  type: ResourceType,
  namespace: string | undefined,
  w: WatchParams,
) {
  const id = typeId(type);
  const ns = type.namespaced ? namespace : undefined;
  const matches = (o: KubeObject | undefined) =>
    !!o &&
    (!ns || o.metadata.namespace === ns) &&
    matchesLabels(o.metadata.labels, w.labels) &&
    matchesFields(o, w.fields, id);
  let rv: number | undefined;
  if (w.resourceVersion && w.resourceVersion !== '0') {
    if (!/^\d+$/.test(w.resourceVersion)) {
      // The real server's answer: a 500 Status without a reason.
      throw new StatusError(
        500,
        '',
        `resourceVersion: Invalid value: ${JSON.stringify(
          w.resourceVersion,
        )}: strconv.ParseUint: parsing ${JSON.stringify(
          w.resourceVersion,
        )}: invalid syntax`,
      );
    }
    rv = Number(w.resourceVersion);
  }
  const hold = () => {
    const released = w.hang!.held();
    let once = false;
    const release = () => {
      if (once) return;
      once = true;
      released();
    };
    req.on('close', release);
    res.on('close', release);
  };
  if (w.hang?.beforeHeaders()) {
    // Never answered: no status line, no headers; only the client ends it.
    hold();
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  if (w.hang?.now()) {
    // Held open silently from the start: nothing is sent, and only the client ends it.
    hold();
    return;
  }
  // Set once a hang is injected: from then on the watch sends nothing and is not ended.
  let held = false;
  const write = (type_: string, object: unknown) => {
    if (res.writableEnded || held) return;
    const stored = object as KubeObject;
    const o =
      w.view && type_ !== 'ERROR' && type_ !== 'BOOKMARK'
        ? w.view.convert(stored)
        : stored;
    const body =
      w.table &&
      (type_ === 'ADDED' || type_ === 'MODIFIED' || type_ === 'DELETED')
        ? toTable(w.view?.type ?? type, [o], {
            resourceVersion: o.metadata.resourceVersion,
          })
        : metadataOnly(o, w.metadataVersion, type_);
    res.write(`${JSON.stringify({ type: type_, object: body })}\n`);
  };
  const toWire = (e: StoreEvent): [string, KubeObject] | undefined => {
    const now = matches(e.object);
    if (e.type !== 'MODIFIED' || !e.old)
      return now ? [e.type, e.object] : undefined;
    const before = matches(e.old);
    if (now && before) return ['MODIFIED', e.object];
    if (now) return ['ADDED', e.object];
    if (before) return ['DELETED', e.object];
    return undefined;
  };
  const bookmark = (annotations?: Record<string, string>) =>
    write('BOOKMARK', {
      kind: (w.view?.type ?? type).kind,
      apiVersion: groupVersion(w.view?.type ?? type),
      metadata: {
        resourceVersion: String(api.store.currentRv()),
        creationTimestamp: null,
        ...(annotations ? { annotations } : {}),
      },
    });
  function expired(from: number, oldest: number) {
    write('ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${from} (${oldest})`,
      reason: 'Expired',
      code: 410,
    });
  }
  if (rv === undefined) {
    for (const o of api.select(type, ns, {
      labels: w.labels,
      fields: w.fields,
    }))
      write('ADDED', o);
  } else {
    const past = api.store.eventsSince(rv);
    if (!past) {
      expired(rv, api.store.oldestResumableRv());
      res.end();
      return;
    }
    for (const e of past) {
      if (e.typeId !== id) continue;
      const out = toWire(e);
      if (out) write(out[0], out[1]);
    }
  }
  // The last resourceVersion this watch sent: what a compaction makes too old.
  let sentRv = rv ?? api.store.currentRv();
  const unsubscribe = api.store.subscribe(e => {
    if (e.typeId !== id) return;
    sentRv = e.rv;
    const out = toWire(e);
    if (out) write(out[0], out[1]);
  });
  const timers: NodeJS.Timeout[] = [];
  if (w.bookmarks) {
    timers.push(setInterval(() => bookmark(), bookmarkIntervalMs));
  }
  let unsubscribeExpiry = () => {};
  let unsubscribeHang = () => {};
  const close = () => {
    unsubscribe();
    unsubscribeExpiry();
    unsubscribeHang();
    timers.forEach(t => clearTimeout(t));
    if (!res.writableEnded && !held) res.end();
  };
  if (w.hang) {
    const hang = w.hang;
    unsubscribeHang = hang.onHang(() => {
      if (!hang.now()) return;
      held = true;
      close();
      hold();
    });
  }
  unsubscribeExpiry = api.store.onExpire(oldest => {
    expired(sentRv, oldest);
    close();
  });
  if (w.timeoutSeconds > 0)
    timers.push(setTimeout(close, w.timeoutSeconds * 1000));
  req.on('close', close);
  res.on('close', close);
}

function metadataOnly(
  o: KubeObject,
  version: string | undefined,
  type: string,
) {
  if (!version || type === 'ERROR' || type === 'BOOKMARK') return o;
  return partialObject(o, version);
}
