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
  /** Removes latency, error rate and verb failures (the API keeps its started/stopped state). */
  clear(): void;
}

/** The state the HTTP layer consults for every request. */
export class FaultState {
  latencyMs = 0;
  errorRate = 0;
  failures: VerbFailure[] = [];

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
