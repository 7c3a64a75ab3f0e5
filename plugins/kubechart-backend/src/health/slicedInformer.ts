import {
  ApiException,
  Informer,
  KubernetesObject,
  ObjectCache,
  ObjectCallback,
} from '@kubernetes/client-node';
import { ListedPage } from './listInPages';
import { WatchRequest } from './watchRequest';

/** Objects a relist applies to the cache before it lets the event loop run other work. */
export const RELIST_SLICE = 500;

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';
const is410 = (err: any) => err?.statusCode === 410 || err?.code === 410;
/** An ERROR event's Status saying the watch's resourceVersion is too old (410 Gone / Expired). */
const isExpired = (status: any) =>
  status?.code === 410 ||
  status?.reason === 'Expired' ||
  status?.reason === 'Gone';

/**
 * The error an ERROR event (other than 410) ends a watch with: its Status as an answer of the API
 * server (code, reason, message), as client-go's reflector returns it. A Status without a code is
 * taken as 500 (an ERROR event is the server's failure).
 */
function watchStatusError(path: string, status: any): ApiException<unknown> {
  const code =
    typeof status?.code === 'number' && status.code > 0 ? status.code : 500;
  const what = `the watch of ${path} sent an ERROR event${
    typeof status?.reason === 'string' ? ` (${status.reason})` : ''
  }`;
  const body = status && typeof status === 'object' ? { ...status } : {};
  if (typeof body.message !== 'string' || !body.message) body.message = what;
  return new ApiException(code, what, body, {});
}
const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));
/** The events of a watch besides ERROR. */
const WATCH_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

/**
 * The least `timeoutSeconds` a watch asks for; each watch asks for a random time between this and
 * twice this, as client-go's reflector does (5 to 10 minutes), so the server ends it then.
 */
export const MIN_WATCH_TIMEOUT_SECONDS = 300;
/** How long past its `timeoutSeconds` a watch may stay open before it is taken to hang. */
export const WATCH_DEADLINE_GRACE_MS = 30_000;
/**
 * The delay before listing again after a watch expired (410) when the watch before it expired too
 * with no event in between; it doubles with each such 410 up to {@link MAX_EXPIRED_RELIST_DELAY_MS}
 * (client-go's reflector backs off from 800 ms to 30 s). Each wait is a random time between half the
 * delay and the whole of it.
 */
export const EXPIRED_RELIST_DELAY_MS = 800;
/** See {@link EXPIRED_RELIST_DELAY_MS}. */
export const MAX_EXPIRED_RELIST_DELAY_MS = 30_000;

/**
 * A watch that neither ended at its `timeoutSeconds` nor sent anything in the grace time after it
 * (not even its response headers): the connection hangs (a dead peer or a stuck proxy between). It
 * was aborted; the informer lists again when started.
 */
export class WatchStalledError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(path: string, timeoutSeconds: number, graceMs: number) {
    super(
      `the watch of ${path} neither ended at its timeout (${timeoutSeconds} s) nor sent anything in the ${Math.round(
        graceMs / 1000,
      )} s after it: the connection hangs, and the watch was aborted`,
    );
    this.name = 'WatchStalledError';
  }
}

/**
 * An informer with client-node's ListWatch semantics (list, then watch from the list's
 * resourceVersion; a 410 Expired lists again, at once the first time and
 * after a growing delay while every watch after a list expires without an event, see
 * {@link EXPIRED_RELIST_DELAY_MS}; a failed list or watch is an `error` event, and
 * `start()` again resumes; objects gone from a new list are deleted), except that a list is applied
 * to the cache page by page as the pages arrive, in slices of {@link RELIST_SLICE} objects with a turn
 * of the event loop between them. ListWatch replaces its cache and emits add/update/delete for every
 * object in one synchronous block, which at tens of thousands of pods held every request back for the
 * whole relist; and a list held whole until applied kept a second copy of every object alive long
 * enough to be promoted to the old generation, only to die there (long GC pauses).
 *
 * While a relist is being applied the cache holds each object either as it was or as a newer list
 * has it (a list that fails part way leaves the pages applied so far; the next start lists again);
 * objects missing from the list are deleted once its last page was applied. `map` applies to watched
 * objects (listed ones are mapped by the list). A relist finds most objects unchanged: the list is
 * given `cached`, with which it maps an item of the resourceVersion the cache holds to the cached
 * object itself (applying it changes nothing, as applying a copy of it would not), so a relist of tens
 * of thousands of unchanged objects makes no new copies of them. The copies it made (a trimmed pod
 * each) were garbage in the old generation: V8, having seen every copy of the first list kept,
 * allocated them there from the start (allocation-site pretenuring), and full GCs in the middle of
 * the relist collected them.
 *
 * Each watch is bounded, as client-go bounds its reflector's: it asks the server to end it after
 * `timeoutSeconds` (a random time between `minWatchTimeoutSeconds` and twice that) and then watches
 * again from where it was. A watch still open `watchDeadlineGraceMs` after that (answered or not) is
 * aborted through the signal the informer gave its request: when it sent nothing in that grace time
 * the connection hangs, which is reported as an `error` ({@link WatchStalledError}) and lists again on
 * the next start; otherwise it is watched again. A watch given up, ended or running when the informer
 * stops is aborted, its connection closed. {@link SlicedListWatch.provenAt} says when the informer
 * last knew its cache to be current.
 *
 * `start()` resolves once the informer has proof its cache is current (a list completed, or, resuming
 * a watch, an event or bookmark or a clean end of it), or it failed (an `error`), or it was stopped or
 * started again: never later than the watch's deadline, and not when a watch was merely answered.
 */
export class SlicedListWatch<T extends KubernetesObject>
  implements Informer<T>, ObjectCache<T>
{
  private objects = new Map<string, Map<string, T>>();
  private readonly callbacks: Record<Verb, Array<(arg?: any) => void>> = {
    add: [],
    update: [],
    delete: [],
    error: [],
    connect: [],
  };
  private resourceVersion = '';
  private stopped = true;
  /** Bumped by start() and stop(): work of an earlier run stops at its next step. */
  private run = 0;
  /** Aborts the current watch request, answered or not. */
  private request?: AbortController;
  /** Resolves the pending `start()`. */
  private settleStart?: () => void;
  /** Bumped for every watch request: the callbacks of an aborted one do nothing. */
  private watchSeq = 0;
  /** The current watch's deadline, or the wait before listing again after repeated 410s. */
  private timer?: NodeJS.Timeout;
  /** Watches in a row that ended in 410 with no event delivered since the one before. */
  private expiredInARow = 0;
  /** When something last arrived on the current watch (or it was asked for). */
  private watchHeardAt = 0;
  private proven?: number;
  /** When it began waiting to list again after repeated 410s, until a list proves the cache current. */
  private waitingFrom?: number;

  constructor(
    private readonly path: string,
    private readonly watcher: { watch: WatchRequest },
    /**
     * Lists the collection. `cached` gives the object the cache holds under the same namespace and
     * name when it has the same resourceVersion (unchanged since it was cached), else undefined: a
     * list may map an item to it instead of to a new copy (see {@link SlicedListWatch}).
     */
    private readonly listFn: (
      cached: (object: T) => T | undefined,
    ) => AsyncIterable<ListedPage<T>>,
    private readonly options: {
      fieldSelector?: string;
      map?: (object: T) => T;
      slice?: number;
      /** See {@link MIN_WATCH_TIMEOUT_SECONDS}. */
      minWatchTimeoutSeconds?: number;
      /** See {@link WATCH_DEADLINE_GRACE_MS}. */
      watchDeadlineGraceMs?: number;
      /** See {@link EXPIRED_RELIST_DELAY_MS}. */
      expiredRelistDelayMs?: number;
      /** See {@link MAX_EXPIRED_RELIST_DELAY_MS}. */
      maxExpiredRelistDelayMs?: number;
    } = {},
  ) {}

  /**
   * The last time the informer knew its cache to be the cluster's: a list completed, its watch
   * delivered an event (ADDED, MODIFIED, DELETED or BOOKMARK), or the server ended its watch cleanly
   * (no `ERROR` event on it). Not when a watch was merely opened or answered, nor by an `ERROR` event,
   * a broken connection, a 410 or a hanging watch given up. Undefined before the first list.
   */
  provenAt(): number | undefined {
    return this.proven;
  }

  /**
   * While the informer waits to list again after repeated 410s (see {@link SlicedListWatch}), and
   * then lists: when it began to wait. No watch is open meanwhile, so what the cache holds is the
   * cluster's as of {@link SlicedListWatch.provenAt} only. Undefined once a list proved the cache
   * current again, or the informer failed, stopped or was started again.
   */
  waitingSince(): number | undefined {
    return this.waitingFrom;
  }

  /** Lists (unless a watch can resume from the last resourceVersion) and starts watching. */
  async start(): Promise<void> {
    this.stopped = false;
    this.settle();
    this.expiredInARow = 0;
    this.waitingFrom = undefined;
    const run = ++this.run;
    const settled = new Promise<void>(resolve => {
      this.settleStart = resolve;
    });
    void this.next(run, null);
    await settled;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.run++;
    this.abort();
    this.waitingFrom = undefined;
    this.settle();
  }

  private settle() {
    const settle = this.settleStart;
    this.settleStart = undefined;
    settle?.();
  }

  /** The cache is known to be the cluster's now. */
  private prove() {
    this.proven = Date.now();
    this.waitingFrom = undefined;
    this.settle();
  }

  on(verb: 'add' | 'update' | 'delete' | 'change', cb: ObjectCallback<T>): void;
  on(verb: 'error' | 'connect', cb: (err?: any) => void): void;
  on(verb: string, cb: (arg?: any) => void): void {
    if (verb === 'change') {
      for (const v of ['add', 'update', 'delete'] as const) this.on(v, cb);
      return;
    }
    const list = this.callbacks[verb as Verb];
    if (!list) throw new Error(`Unknown verb: ${verb}`);
    list.push(cb);
  }

  off(
    verb: 'add' | 'update' | 'delete' | 'change',
    cb: ObjectCallback<T>,
  ): void;
  off(verb: 'error' | 'connect', cb: (err?: any) => void): void;
  off(verb: string, cb: (arg?: any) => void): void {
    if (verb === 'change') {
      for (const v of ['add', 'update', 'delete'] as const) this.off(v, cb);
      return;
    }
    const list = this.callbacks[verb as Verb];
    if (!list) throw new Error(`Unknown verb: ${verb}`);
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace || '')?.get(name);
  }

  list(namespace?: string): T[] {
    if (!namespace) {
      const all: T[] = [];
      for (const inNs of this.objects.values()) all.push(...inNs.values());
      return all;
    }
    return [...(this.objects.get(namespace)?.values() ?? [])];
  }

  latestResourceVersion(): string {
    return this.resourceVersion;
  }

  private emit(verb: Verb, arg?: unknown) {
    for (const cb of this.callbacks[verb].slice()) cb(arg);
    if (verb === 'error') {
      this.waitingFrom = undefined;
      this.settle();
    }
  }

  private abort() {
    this.watchSeq++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.request?.abort();
    this.request = undefined;
  }

  /** A watch still open past its deadline: watched again, or reported as hanging (see the class). */
  private overdue(
    run: number,
    seq: number,
    timeoutSeconds: number,
    graceMs: number,
  ) {
    if (run !== this.run || seq !== this.watchSeq) return;
    const silent = Date.now() - this.watchHeardAt >= graceMs;
    this.abort();
    if (!silent) {
      void this.next(run, null);
      return;
    }
    // What the cache holds was last proven current before the hang: the next start lists again.
    this.resourceVersion = '';
    this.emit(
      'error',
      new WatchStalledError(this.path, timeoutSeconds, graceMs),
    );
  }

  /**
   * After a watch ended (or at start): on 410 (`expired`) list again, after a delay when the watch
   * before also expired with no event in between; on another error report it; else watch again.
   */
  private async next(
    run: number,
    err: unknown,
    expired = is410(err),
  ): Promise<void> {
    if (run !== this.run) return;
    this.abort();
    if (expired) this.resourceVersion = '';
    else if (err) {
      this.emit('error', err);
      return;
    }
    if (this.stopped) return;
    if (expired && this.expiredInARow > 1) {
      // The server expires every watch as soon as it is opened: listing again at once would list
      // and watch as fast as it answers. Waited for (abort(), by stop() or start(), ends the wait).
      const base = this.options.expiredRelistDelayMs ?? EXPIRED_RELIST_DELAY_MS;
      const max =
        this.options.maxExpiredRelistDelayMs ?? MAX_EXPIRED_RELIST_DELAY_MS;
      const delay = Math.min(
        max,
        base * 2 ** Math.min(this.expiredInARow - 2, 30),
      );
      this.waitingFrom = Date.now();
      this.timer = setTimeout(
        () => void this.next(run, null),
        delay / 2 + (Math.random() * delay) / 2,
      );
      this.timer.unref?.();
      return;
    }
    this.emit('connect');
    if (!this.resourceVersion) {
      let listed: string | undefined;
      try {
        listed = await this.apply(run, this.listFn(this.cached));
      } catch (e) {
        if (run === this.run) this.emit('error', e);
        return;
      }
      if (listed === undefined) return;
      this.resourceVersion = listed;
      this.prove();
    }
    const minTimeout =
      this.options.minWatchTimeoutSeconds ?? MIN_WATCH_TIMEOUT_SECONDS;
    const timeoutSeconds = Math.max(
      1,
      Math.floor(minTimeout * (1 + Math.random())),
    );
    const query: Record<string, string> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    if (this.options.fieldSelector !== undefined)
      query.fieldSelector = this.options.fieldSelector;
    // Set before the request: one whose answer never comes is overdue too.
    const seq = ++this.watchSeq;
    const graceMs =
      this.options.watchDeadlineGraceMs ?? WATCH_DEADLINE_GRACE_MS;
    this.watchHeardAt = Date.now();
    this.timer = setTimeout(
      () => this.overdue(run, seq, timeoutSeconds, graceMs),
      timeoutSeconds * 1000 + graceMs,
    );
    this.timer.unref?.();
    const current = () => run === this.run && seq === this.watchSeq;
    // The informer's own: abort() ends the request whether or not it was answered.
    const request = new AbortController();
    this.request = request;
    // Whether the stream sent an ERROR event: its end then proves nothing.
    let failed = false;
    // Whether it sent a 410 Expired as an ERROR event.
    let sentExpired = false;
    try {
      await this.watcher.watch(
        this.path,
        query,
        (phase, object) => {
          if (!current()) return;
          this.watchHeardAt = Date.now();
          if (phase === 'ERROR') {
            failed = true;
            // 410 Expired comes as an ERROR event on a 200 answer; the watch ends next and lists again.
            if (isExpired(object)) {
              this.resourceVersion = '';
              sentExpired = true;
              return;
            }
            // Any other (500 when the server cannot decode or decrypt an object it would send) ends
            // the watch as the informer's failure, as client-go's reflector: watching again at once
            // from the same resourceVersion fails the same way, as fast as the server answers.
            void this.next(run, watchStatusError(this.path, object));
            return;
          }
          if (!WATCH_EVENTS.has(phase)) {
            // Not an event a watch sends: what it means for the cache is not known.
            void this.next(
              run,
              new Error(
                `the watch of ${
                  this.path
                } sent an event of unknown type ${JSON.stringify(phase)}`,
              ),
            );
            return;
          }
          this.expiredInARow = 0;
          this.onEvent(phase, object);
          this.prove();
        },
        (e: unknown) => {
          if (!current()) return;
          // Only a stream the server ended cleanly carried everything up to now: not a broken
          // connection, an answer other than 200 (410 too), nor a stream that sent an ERROR.
          if (!e && !failed) this.prove();
          // An ERROR of 410 then a broken connection is the broken connection's failure.
          const gone = e ? is410(e) : sentExpired;
          this.expiredInARow = gone ? this.expiredInARow + 1 : 0;
          void this.next(run, e, gone);
        },
        request.signal,
      );
    } catch (e) {
      // A request that could not even be prepared (credentials of the kubeconfig): an error event
      // too, never a rejection.
      if (current()) {
        this.abort();
        this.emit('error', e);
      }
    }
  }

  private onEvent(phase: string, object: any) {
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.put(this.map(object));
        break;
      case 'DELETED':
        this.remove(this.map(object));
        break;
      default:
        // BOOKMARK: only the resourceVersion to resume from.
        break;
    }
    this.resourceVersion = object?.metadata?.resourceVersion || '';
  }

  /** The cached object of the same namespace, name and resourceVersion as `object`, if any. */
  private readonly cached = (object: T): T | undefined => {
    const version = object?.metadata?.resourceVersion;
    if (!version) return undefined;
    const found = this.objects
      .get(object.metadata?.namespace || '')
      ?.get(object.metadata?.name || '');
    return found?.metadata?.resourceVersion === version ? found : undefined;
  };

  private map(object: T): T {
    return this.options.map ? this.options.map(object) : object;
  }

  /**
   * Brings the cache to a new list, page by page as they arrive and a slice at a time: adds and
   * updates, then deletes what the list no longer holds (what its last attempt, after an expired
   * continue token, did not hold). The list's resourceVersion; undefined when the informer was
   * stopped or restarted meanwhile.
   */
  private async apply(
    run: number,
    pages: AsyncIterable<ListedPage<T>>,
  ): Promise<string | undefined> {
    const slice = this.options.slice ?? RELIST_SLICE;
    let listed = new Map<string, Set<string>>();
    let resourceVersion = '';
    let n = 0;
    for await (const page of pages) {
      if (run !== this.run) return undefined;
      if (page.first) listed = new Map();
      resourceVersion = page.resourceVersion;
      for (const item of page.items) {
        const ns = item.metadata?.namespace || '';
        let names = listed.get(ns);
        if (!names) listed.set(ns, (names = new Set()));
        names.add(item.metadata?.name || '');
        this.put(item);
        if (++n % slice === 0) {
          await nextTurn();
          if (run !== this.run) return undefined;
        }
      }
    }
    for (const [ns, inNs] of this.objects) {
      const names = listed.get(ns);
      for (const [name, object] of inNs) {
        // Every object looked at counts towards a slice, kept or not.
        if (!names?.has(name)) this.remove(object);
        if (++n % slice === 0) {
          await nextTurn();
          if (run !== this.run) return undefined;
        }
      }
    }
    return resourceVersion;
  }

  /** Adds or replaces an object; an object of the same resourceVersion changes nothing. */
  private put(object: T) {
    const ns = object.metadata?.namespace || '';
    const name = object.metadata?.name || '';
    let inNs = this.objects.get(ns);
    if (!inNs) this.objects.set(ns, (inNs = new Map()));
    const found = inNs.get(name);
    if (!found) {
      inNs.set(name, object);
      this.emit('add', object);
    } else if (
      !found.metadata?.resourceVersion ||
      found.metadata.resourceVersion !== object.metadata?.resourceVersion
    ) {
      inNs.set(name, object);
      this.emit('update', object);
    }
  }

  private remove(object: T) {
    const ns = object.metadata?.namespace || '';
    const inNs = this.objects.get(ns);
    if (!inNs) return;
    const found = inNs.get(object.metadata?.name || '');
    if (!found) return;
    inNs.delete(object.metadata?.name || '');
    if (inNs.size === 0) this.objects.delete(ns);
    this.emit('delete', object);
  }
}
