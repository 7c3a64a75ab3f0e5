export interface Config {
  /** Configuration of the kubechart plugins. Clusters come from `kubernetes.clusterLocatorMethods` (type `config`). */
  kubechart?: {
    helm?: {
      /** Path or name of the helm binary (helm 3 or 4). Default: `helm` on PATH. */
      binary?: string;
      /** Timeout of one helm invocation in seconds; helm is killed after it. Default 300. */
      timeoutSeconds?: number;
      /**
       * Directories holding local charts: a chart reference without a repository and without "/"
       * is looked up as `<dir>/<chart>/Chart.yaml` here first. Default: none.
       */
      chartDirectories?: string[];
    };
    policy?: {
      /** `enforce` blocks installs on a failed error rule, `warn` only reports, `off` skips. Default `enforce`. */
      mode?: 'enforce' | 'warn' | 'off';
      /**
       * Severity per rule id (`image-tag`, `trusted-registry`, `run-as-non-root`, `no-privilege-escalation`,
       * `read-only-root-filesystem`, `no-privileged`, `no-host-namespaces`, `resource-requests`,
       * `resource-limits`, `probes`, `replicas`, `pod-disruption-budget`, `no-plain-secrets`, `service-type`,
       * and rules added through the extension point): `error`, `warning`, `info` or `off`.
       */
      rules?: { [ruleId: string]: 'error' | 'warning' | 'info' | 'off' };
      /** Registries images may come from, e.g. `registry.example.com` or `ghcr.io/acme`. Default: any registry. */
      trustedRegistries?: string[];
      /** Service types that are allowed. Default `ClusterIP` and `ExternalName`. */
      allowedServiceTypes?: string[];
    };
    wait?: {
      /** Deadline for every workload to become Ready, in seconds. Default 600. */
      timeoutSeconds?: number;
      /** How often readiness is checked while waiting, in milliseconds. Default 2000. */
      pollIntervalMs?: number;
      /** A pod failing (CrashLoopBackOff, ImagePullBackOff…) this long fails the run early, in seconds. Default 30. */
      failFastSeconds?: number;
      /**
       * How long a tenant delete waits for the tenant namespace to be gone (it stays Terminating until its
       * contents are deleted), reporting progress in the run log; the run fails after it. In seconds. Default 300.
       */
      namespaceDeletionTimeoutSeconds?: number;
    };
    limits?: {
      /** Maximum number of tenants (not counting deleted ones). Default 100. */
      maxTenants?: number;
      /** Runs one user may start per minute; more get HTTP 429. Default 10. */
      runsPerUserPerMinute?: number;
    };
    recovery?: {
      /** A running run whose heartbeat is older than this is reconciled, in seconds. Default 120. */
      staleAfterSeconds?: number;
      /** How often an executing backend updates the heartbeat of its runs, in seconds. Default 15. */
      heartbeatSeconds?: number;
      /** How often the scheduled reconciliation runs, in minutes. Default 2. */
      frequencyMinutes?: number;
      /**
       * A reconciled run keeps its locks until its last heartbeat is this old (or until its backend, when it
       * was only late, stops the run itself), so no second run starts on the same target while the first
       * may still hold a helm process. In seconds; at least `staleAfterSeconds`. Default 300.
       */
      releaseLocksAfterSeconds?: number;
    };
    tenant?: {
      /** Namespace of the ingress controller, allowed through the tenant NetworkPolicy. Default `ingress-nginx`. */
      ingressNamespace?: string;
      /** Default ResourceQuota `hard` of a tenant. Default requests.cpu 4, requests.memory 8Gi, limits.cpu 8, limits.memory 16Gi, pods 50. */
      quota?: { [resource: string]: string };
      /** Default container limits of the tenant LimitRange. Default cpu 500m, memory 512Mi. */
      defaultLimits?: { [resource: string]: string };
      /** Default container requests of the tenant LimitRange. Default cpu 100m, memory 128Mi. */
      defaultRequests?: { [resource: string]: string };
    };
    health?: {
      /** Start the watch-fed health caches of every cluster when the backend starts. Default true. */
      startOnBoot?: boolean;
    };
  };
}
