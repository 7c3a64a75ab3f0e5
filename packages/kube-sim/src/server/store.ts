import { ResourceType, typeId } from './resources';
import { KubeObject } from './types';

/** One change, as the watch cache keeps it. */
export interface StoreEvent {
  rv: number;
  typeId: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  old?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

interface Table {
  objects: Map<string, KubeObject>;
  sorted?: string[];
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * The in-memory "etcd": objects per resource type, one global resourceVersion counter,
 * and a bounded window of recent changes that watches resume from.
 */
export class Store {
  private rv = 1;
  private readonly tables = new Map<string, Table>();
  private readonly history: StoreEvent[] = [];
  private historyStart = 0;
  /** Changes before this resourceVersion were never in the watch cache (it starts with the server). */
  private watchCacheStart = 0;
  private readonly listeners = new Set<StoreListener>();
  private readonly expiryListeners = new Set<(oldestRv: number) => void>();
  /** uid of an owner → `typeId|key` of its dependents. */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(private readonly historySize: number) {}

  currentRv(): number {
    return this.rv;
  }

  nextRv(): number {
    this.rv += 1;
    return this.rv;
  }

  /** The oldest resourceVersion a watch can resume from. */
  oldestResumableRv(): number {
    const first = this.history[this.historyStart];
    return Math.max(this.watchCacheStart, first ? first.rv - 1 : this.rv);
  }

  /**
   * Marks the current resourceVersion as where the watch cache begins (after the seed), so a watch
   * from an older one (e.g. `resourceVersion=1`) gets 410 Expired at once, as on a real server.
   */
  startWatchCache() {
    this.watchCacheStart = this.rv;
  }

  /**
   * Compacts the watch cache as etcd compaction does: every resourceVersion older than the current
   * one becomes too old to resume from, and every open watch ends with a `410 Expired` ERROR event
   * (a fault for tests of a client's relist).
   */
  expireWatches() {
    this.watchCacheStart = this.rv;
    for (const l of [...this.expiryListeners]) l(this.rv);
  }

  /** Called when {@link expireWatches} compacts the cache; returns the unsubscribe function. */
  onExpire(listener: (oldestRv: number) => void): () => void {
    this.expiryListeners.add(listener);
    return () => this.expiryListeners.delete(listener);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(id: string): Table {
    let t = this.tables.get(id);
    if (!t) {
      t = { objects: new Map() };
      this.tables.set(id, t);
    }
    return t;
  }

  get(type: ResourceType, namespace: string | undefined, name: string) {
    return this.table(typeId(type)).objects.get(objectKey(namespace, name));
  }

  getById(id: string, key: string): KubeObject | undefined {
    return this.tables.get(id)?.objects.get(key);
  }

  /** Objects of a type in key order (namespace, then name), as etcd would return them. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const table = this.table(typeId(type));
    if (!table.sorted) {
      table.sorted = [...table.objects.keys()].sort();
    }
    const out: KubeObject[] = [];
    for (const key of table.sorted) {
      const obj = table.objects.get(key)!;
      if (!namespace || obj.metadata.namespace === namespace) {
        out.push(obj);
      }
    }
    return out;
  }

  count(type: ResourceType): number {
    return this.table(typeId(type)).objects.size;
  }

  dependentsOf(uid: string): Array<{ typeId: string; key: string }> {
    return [...(this.dependents.get(uid) ?? [])].map(ref => {
      const i = ref.indexOf('|');
      return { typeId: ref.slice(0, i), key: ref.slice(i + 1) };
    });
  }

  /** Stores `obj` (already carrying its new resourceVersion) and records the change. */
  put(type: ResourceType, obj: KubeObject): StoreEvent {
    const id = typeId(type);
    const table = this.table(id);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name!);
    const old = table.objects.get(key);
    if (!old) table.sorted = undefined;
    table.objects.set(key, obj);
    this.indexOwners(id, key, old, obj);
    return this.record({
      rv: Number(obj.metadata.resourceVersion),
      typeId: id,
      type: old ? 'MODIFIED' : 'ADDED',
      object: obj,
      old,
    });
  }

  /** Removes an object; `finalState` is the object as the DELETED event shows it. */
  remove(type: ResourceType, finalState: KubeObject): StoreEvent | undefined {
    const id = typeId(type);
    const table = this.table(id);
    const key = objectKey(
      finalState.metadata.namespace,
      finalState.metadata.name!,
    );
    const old = table.objects.get(key);
    if (!old) return undefined;
    table.objects.delete(key);
    table.sorted = undefined;
    this.indexOwners(id, key, old, undefined);
    return this.record({
      rv: Number(finalState.metadata.resourceVersion),
      typeId: id,
      type: 'DELETED',
      object: finalState,
      old,
    });
  }

  /** Changes after `rv`, or undefined when `rv` is older than the window kept. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.oldestResumableRv()) return undefined;
    const out: StoreEvent[] = [];
    for (let i = this.history.length - 1; i >= this.historyStart; i--) {
      const e = this.history[i];
      if (e.rv <= rv) break;
      out.push(e);
    }
    return out.reverse();
  }

  private record(event: StoreEvent): StoreEvent {
    this.history.push({ ...event, old: undefined });
    if (this.history.length - this.historyStart > this.historySize) {
      this.historyStart += 1;
      // Compact the array now and then instead of shifting on every write.
      if (
        this.historyStart > 1024 &&
        this.historyStart > this.history.length / 2
      ) {
        this.history.splice(0, this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const l of this.listeners) {
      l(event);
    }
    return event;
  }

  private indexOwners(
    id: string,
    key: string,
    before: KubeObject | undefined,
    after: KubeObject | undefined,
  ) {
    const ref = `${id}|${key}`;
    for (const o of before?.metadata.ownerReferences ?? []) {
      this.dependents.get(o.uid)?.delete(ref);
      if (this.dependents.get(o.uid)?.size === 0) this.dependents.delete(o.uid);
    }
    for (const o of after?.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(o.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(o.uid, set);
      }
      set.add(ref);
    }
  }
}
