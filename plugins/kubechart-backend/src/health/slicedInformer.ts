import {
  Informer,
  KubernetesObject,
  ObjectCache,
  ObjectCallback,
  Watch,
} from '@kubernetes/client-node';
import { ListedPage } from './listInPages';

/** Objects a relist applies to the cache before it lets the event loop run other work. */
export const RELIST_SLICE = 500;

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';
const is410 = (err: any) => err?.statusCode === 410 || err?.code === 410;
const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));

/**
 * An informer with client-node's ListWatch semantics (list, then watch from the list's
 * resourceVersion; a 410 Expired lists again; a failed list or watch is an `error` event, and
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
 * objects (listed ones are mapped by the list).
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
  private request?: AbortController;

  constructor(
    private readonly path: string,
    private readonly watcher: Pick<Watch, 'watch'>,
    private readonly listFn: () => AsyncIterable<ListedPage<T>>,
    private readonly options: {
      fieldSelector?: string;
      map?: (object: T) => T;
      slice?: number;
    } = {},
  ) {}

  /** Lists (unless a watch can resume from the last resourceVersion) and starts watching. */
  async start(): Promise<void> {
    this.stopped = false;
    const run = ++this.run;
    await this.next(run, null);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.run++;
    this.abort();
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
  }

  private abort() {
    this.request?.abort();
    this.request = undefined;
  }

  /** After a watch ended (or at start): on 410 list again, on another error report it, else watch again. */
  private async next(run: number, err: unknown): Promise<void> {
    if (run !== this.run) return;
    this.abort();
    if (is410(err)) this.resourceVersion = '';
    else if (err) {
      this.emit('error', err);
      return;
    }
    if (this.stopped) return;
    this.emit('connect');
    if (!this.resourceVersion) {
      let listed: string | undefined;
      try {
        listed = await this.apply(run, this.listFn());
      } catch (e) {
        if (run === this.run) this.emit('error', e);
        return;
      }
      if (listed === undefined) return;
      this.resourceVersion = listed;
    }
    const query: Record<string, string> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
    };
    if (this.options.fieldSelector !== undefined)
      query.fieldSelector = this.options.fieldSelector;
    let request: AbortController;
    try {
      request = await this.watcher.watch(
        this.path,
        query,
        (phase, object) => {
          if (run === this.run) this.onEvent(phase, object);
        },
        (e: unknown) => void this.next(run, e),
      );
    } catch (e) {
      // client-node's Watch reports a failed request through `done`, but one it could not even
      // prepare (credentials of the kubeconfig) it throws: an error event too, never a rejection.
      if (run === this.run) this.emit('error', e);
      return;
    }
    if (run === this.run) this.request = request;
    else request.abort();
  }

  private onEvent(phase: string, object: any) {
    switch (phase) {
      case 'ERROR':
        // 410 Expired comes as an ERROR event on a 200 answer; the watch ends next and lists again.
        if (object?.code === 410) this.resourceVersion = '';
        return;
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
