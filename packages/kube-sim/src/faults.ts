/** A verb and resource to fail, e.g. `{ verb: 'list', resource: 'pods', status: 503 }`. */
export interface VerbFailure {
  /** One of get, list, watch, create, update, patch, delete, deletecollection, or '*'. */
  verb: string;
  /** The resource's plural name (`pods`, `deployments`), optionally with a subresource (`pods/log`), or '*'. */
  resource: string;
  /** HTTP status to answer with; 500 when left out. */
  status?: number;
  /** Only in this namespace, when set. */
  namespace?: string;
}

/** Watches to hold open silently, e.g. `{ resource: 'deployments' }`. */
export interface WatchHang {
  /** The resource's plural name (`pods`, `deployments`), or '*' (the default). */
  resource?: string;
  /** Only in this namespace (a watch of all namespaces is not held), when set. */
  namespace?: string;
  /**
   * Hold new watches before any response header is sent (the request is read, and never answered), as
   * a stuck proxy or a peer gone before it answered does; watches already open are held silently as
   * without it.
   */
  beforeHeaders?: boolean;
}

/** Fault injection on a running kube-sim: what tests use to exercise a client's error paths. */
export interface KubeSimFaults {
  /** Closes the listening socket and drops open connections: clients get "connection refused". */
  stopApi(): Promise<void>;
  /** Listens again on the same port. */
  startApi(): Promise<void>;
  /** Delays every response by `ms` milliseconds. */
  setLatency(ms: number): void;
  /** Answers this fraction (0..1) of API requests with a 500/503 Status. */
  setErrorRate(rate: number): void;
  /** Answers every matching request with the given Status code. */
  failVerb(failure: VerbFailure): void;
  /**
   * Compacts the watch cache, as etcd compaction does on a real cluster: every open watch ends with
   * an `ERROR` event `410 Expired`, and resuming from an older resourceVersion gets the same, so
   * informers must list again (relist).
   */
  expireWatches(): void;
  /**
   * Holds matching watches open silently, as a dead peer or a stuck proxy between does: every open
   * watch of the resource and every new one (answered `200` with its headers) sends nothing more —
   * no events, no bookmarks, no `ERROR` — and is not ended, not even at its `timeoutSeconds`. A held
   * watch stays held until the client hangs up; `clear()` lets new watches work again. Lists and
   * other requests are answered as usual. With `beforeHeaders`, new watches get no answer at all, not
   * even the `200` headers.
   */
  hangWatches(hang?: WatchHang): void;
  /** Watch requests held now (by `hangWatches`) whose client has not hung up yet. */
  heldWatches(): number;
  /** Removes latency, error rate, verb failures and watch hangs (the API keeps its started/stopped state). */
  clear(): void;
}

/** The state the HTTP layer consults for every request. */
export class FaultState {
  latencyMs = 0;
  errorRate = 0;
  failures: VerbFailure[] = [];
  hangs: WatchHang[] = [];
  /** Watch requests held now, until their client hangs up. */
  held = 0;
  private readonly hangListeners = new Set<() => void>();

  private hangsOf(resource: string, namespace: string | undefined) {
    return this.hangs.filter(
      h =>
        (!h.resource || h.resource === '*' || h.resource === resource) &&
        (!h.namespace || h.namespace === namespace),
    );
  }

  /** Whether a watch of this resource (in this namespace; undefined: all namespaces) is held. */
  isHung(resource: string, namespace: string | undefined): boolean {
    return this.hangsOf(resource, namespace).length > 0;
  }

  /** Whether a new watch of this resource is held before its response headers. */
  isHungBeforeHeaders(
    resource: string,
    namespace: string | undefined,
  ): boolean {
    return this.hangsOf(resource, namespace).some(h => h.beforeHeaders);
  }

  hang(hang: WatchHang) {
    this.hangs.push(hang);
    for (const listener of [...this.hangListeners]) listener();
  }

  /** Calls `listener` whenever a hang is added; returns how to stop. */
  onHang(listener: () => void): () => void {
    this.hangListeners.add(listener);
    return () => this.hangListeners.delete(listener);
  }

  match(
    verb: string,
    resource: string,
    namespace: string | undefined,
  ): VerbFailure | undefined {
    return this.failures.find(
      f =>
        (f.verb === '*' || f.verb === verb) &&
        (f.resource === '*' || f.resource === resource) &&
        (!f.namespace || f.namespace === namespace),
    );
  }
}
