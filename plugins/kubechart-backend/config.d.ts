import { HumanDuration } from '@backstage/types';

export interface Config {
  /**
   * The clusters, as the Backstage Kubernetes plugin reads them. Declared here too (only the
   * credentials, with the Kubernetes plugin's visibility) so that Backstage redacts them from
   * logs also when `@backstage/plugin-kubernetes-backend` is not installed. Their other keys are
   * the Kubernetes plugin's to describe (open here, so `config:check --strict` accepts them).
   */
  kubernetes?: {
    clusterLocatorMethods?: Array<{
      clusters?: Array<{
        /** @visibility secret */
        serviceAccountToken?: string;
        /** @visibility secret */
        caData?: string;
        /** @visibility secret */
        caFile?: string;
        [key: string]: unknown;
      }>;
      [key: string]: unknown;
    }>;
    [key: string]: unknown;
  };
  /** Configuration of the kubechart plugins. Clusters come from `kubernetes.clusterLocatorMethods` (type `config`). */
  kubechart?: {
    helm?: {
      /** Path or name of the helm binary (helm 3 or 4). Default: `helm` on PATH. */
      binary?: string;
      /** Timeout of one helm invocation in seconds; helm is killed after it. Default 300. */
      timeoutSeconds?: number;
      /**
       * At most this many helm processes run at once on this backend instance; further helm calls
       * wait in order for a free slot (the timeout counts from when helm starts). Default 4.
       */
      maxConcurrent?: number;
      /**
       * Directories holding local charts: a chart name without a repository resolves only here, to
       * `<dir>/<chart>` (a chart directory) or `<dir>/<chart>.tgz`; absolute paths, `..` and symlinks out
       * of these directories are refused (400, rule `chart-directory`). Default: none.
       */
      chartDirectories?: string[];
      /**
       * Where remote charts may come from: a host (`charts.example.com`, `ghcr.io`) allows every https:// and
       * oci:// URL on it; a URL (`https://charts.example.com/stable`, `oci://ghcr.io/acme`) allows it and the
       * paths below it. Plain http://, file:// and other schemes are always refused. Default: none (local charts only).
       */
      allowedRepositories?: string[];
      /**
       * helm 3 renders hooks again at install without the post-renderer, after the engine checked them
       * from a server dry run, so a release is refused on helm 3 when the templates read here call a
       * function whose output can change between two renders (`lookup`, `tpl`, randomness, the clock,
       * map order) or the chart has packaged subcharts. `any-template` (default) reads every template
       * and named template of the chart. `hook-templates` reads only the templates the dry run names as
       * hooks or that spell `helm.sh/hook`, and the named templates: it lets a chart whose hook
       * annotation is built at render time (`{{ printf "helm.sh/%s" "hook" }}`) in a template that calls
       * such a function run a hook on helm 3 that was never checked. helm 4 post-renders hooks and needs
       * neither.
       */
      helm3HookInputs?: 'any-template' | 'hook-templates';
    };
    policy?: {
      /**
       * `enforce` blocks installs on a failed error rule, `warn` only reports, `off` skips. Default `enforce`.
       * `run-scope`, `valid-object` and the `rbac-*` rules but `rbac-pod-exec` block in every mode.
       * So do the `cross-namespace-*` rules.
       */
      mode?: 'enforce' | 'warn' | 'off';
      /**
       * Severity per rule id (see the kubechart-node README for the table: `image-tag`, `host-path`,
       * `dangerous-capabilities`, `rbac-cluster-admin`, …, and rules added through the extension point):
       * `error`, `warning`, `info` or `off`. `run-scope` and `valid-object` always block and cannot be set; the
       * `rbac-*` rules but `rbac-pod-exec` always block and can only be set to `error`.
       */
      rules?: { [ruleId: string]: 'error' | 'warning' | 'info' | 'off' };
      /**
       * Exemptions of one rule for one namespace and/or object, each with a reason kept in the report
       * (the result is marked `exempt` and does not count). `name` may use `*`. Each entry must name a
       * namespace or an object. `run-scope` and `valid-object` cannot be exempted. Default: none.
       */
      exceptions?: Array<{
        rule: string;
        namespace?: string;
        kind?: string;
        name?: string;
        reason: string;
      }>;
      /** How `no-plain-secrets` recognises secret env and ConfigMap key names. */
      secrets?: {
        /**
         * Words or phrases (`password`, `api_key`) that mark a name as secret when they are whole words of it
         * (`DB_PASSWORD`, `apiKey`; not `monkey` or `cache_key_prefix`). Replaces the default list: password,
         * passwd, passphrase, pwd, secret, token, credential(s), apikey, api_key, private_key, access_key,
         * secret_key, ssh_key, signing_key, encryption_key, master_key, client_secret, auth_key, dsn.
         */
        keyNames?: string[];
        /** Exact names (case-insensitive) never treated as secret, e.g. `TOKEN_TTL`. Default: none. */
        ignoreKeys?: string[];
      };
      /** Registries images may come from, e.g. `registry.example.com` or `ghcr.io/acme`. Default: any registry. */
      trustedRegistries?: string[];
      /**
       * Service types that are allowed. Default `ClusterIP` (headless included). `ExternalName` is not
       * allowed unless listed: its name can resolve to another namespace's Service, which an Ingress
       * would then publish through the shared ingress controller.
       */
      allowedServiceTypes?: string[];
      /**
       * Volume types pods may use besides those Pod Security `restricted` allows (configMap, csi,
       * downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret), e.g. `nfs`. The
       * `volume-types` rule refuses other types in every policy mode. Default: none.
       */
      allowedVolumeTypes?: string[];
      /**
       * The DNS name tenants' ingress hosts go under, e.g. `apps.example.com` (no wildcard, no trailing dot;
       * any case). When set, the `ingress-host` rule allows an Ingress (`spec.rules[].host`,
       * `spec.tls[].hosts[]`, the ingress-nginx `server-alias` annotation) or Gateway API route
       * (`spec.hostnames[]`) in namespace `team-a` only `team-a.apps.example.com` and names or wildcards
       * under it (`web.team-a.apps.example.com`, `*.team-a.apps.example.com`). Default: none (hosts are not
       * tied to namespaces: each run is checked against the hosts the cluster's Ingresses and routes hold,
       * and a host another namespace holds is refused; catch-alls and wildcards are still refused).
       */
      ingressHostDomain?: string;
      /**
       * Allow what takes every host of a shared ingress controller: Ingress rules without a host,
       * `spec.defaultBackend`, TLS entries without hosts, Gateway API routes without hostnames and, without
       * `ingressHostDomain`, wildcard hosts. Only for clusters whose ingress controller serves one tenant.
       * Default false.
       */
      allowCatchAllIngress?: boolean;
      /**
       * ingress-nginx annotations an Ingress may carry beyond the built-in allow-list (numbers, sizes,
       * booleans that name nothing: `proxy-body-size`, `ssl-redirect`, …, and `server-alias`), each a name
       * (`rewrite-target`) or key (`nginx.ingress.kubernetes.io/rewrite-target`). Every other annotation
       * under `nginx.ingress.kubernetes.io/` or `ingress.kubernetes.io/` is refused (rule
       * `ingress-annotations`): snippets, URLs (`auth-url`), Secrets of any namespace (`proxy-ssl-secret`).
       * Default: none.
       */
      allowedIngressAnnotations?: string[];
      /**
       * What operators' namespaced custom resources may reach past their namespace: the `cross-namespace-*`
       * rules (which block in every mode) refuse an ExternalSecret or PushSecret using a ClusterSecretStore
       * or ClusterGenerator, a KEDA trigger using a ClusterTriggerAuthentication, a cert-manager Certificate
       * (or Ingress/Gateway annotation) naming a ClusterIssuer, Prometheus monitors reaching other
       * namespaces, Flux objects without `serviceAccountName` or naming other namespaces, Argo CD
       * Applications and Kyverno PolicyExceptions. Each entry allows one object of the whole cluster the
       * platform offers to tenants, `<Kind>.<group>/<name>` (or `/*` for every one of the kind:
       * `ClusterIssuer.cert-manager.io/letsencrypt`, `ClusterSecretStore.external-secrets.io/tenant-vault`),
       * or a form its operators are set up to make safe: `monitor-namespace-selectors` (Prometheus
       * `ignoreNamespaceSelectors: true`), `servicemonitor-files` (`arbitraryFSAccessThroughSMs.deny: true`),
       * `argocd-applications` (AppProjects confine each tenant), `flux-default-service-account` (controllers
       * run with `--default-service-account`), `kyverno-policy-exceptions` (`--exceptionNamespace`). Any
       * other entry stops start-up. Default: none.
       */
      allowCrossNamespace?: string[];
      /**
       * Allow Services to name the addresses they take traffic for: `spec.externalIPs` and
       * `spec.loadBalancerIP`. Default false: every node sends connections to an external IP to the
       * Service, from every pod of the cluster too, whoever the address belongs to (CVE-2020-8554;
       * Kubernetes refuses them only with the DenyServiceExternalIPs admission plugin). Only for a cluster
       * of one tenant; hand one tenant's Service its address with an exception instead.
       */
      allowServiceExternalIPs?: boolean;
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
    /**
     * Approval gates: runs against protected targets wait for approvers before anything is applied.
     * A run whose target matches a rule is recorded as `awaiting-approval` with its rendered plan;
     * approvers (never the requester) approve or reject it with a comment; the run applies exactly the
     * approved plan, or fails if the plan changed. Without rules nothing needs approval.
     */
    approvals?: {
      /** Default lifetime of an approval request, e.g. `{ hours: 24 }` or `P1D`. Default 24 hours. */
      expiresAfter?: HumanDuration | string;
      /** How often expired requests are ended and approved runs waiting for a lock are started, in seconds. Default 60. */
      checkSeconds?: number;
      rules?: Array<{
        /** Name shown to requesters and approvers, e.g. `production`. */
        name?: string;
        /** Cluster names (`*` is a wildcard). Default: every cluster. */
        clusters?: string[];
        /** Namespace patterns, e.g. `prod-*`. With `tenants` empty too: every namespace of the clusters. */
        namespaces?: string[];
        /** Tenant codes whose runs are protected. */
        tenants?: string[];
        /**
         * Who may approve: `owner` (the owning group of the run's tenant, entity or namespace) and/or
         * entity refs such as `group:default/platform-team`. Default `[owner]`. The requester never may.
         */
        approvers?: string[];
        /** Distinct approvals needed. Default 1. */
        required?: number;
        /** Lifetime of a request under this rule. Default `expiresAfter`. */
        expiresAfter?: HumanDuration | string;
      }>;
    };
    limits?: {
      /** Maximum number of tenants (not counting deleted ones). Default 100. */
      maxTenants?: number;
      /**
       * Maximum number of tenants (not counting deleted ones) one owner, a user or a group, may have;
       * a tenant run that would create one more for that owner (or move a tenant to it) is refused
       * with HTTP 429, unless the caller holds `kubechart.tenants.admin`. Default 10.
       */
      maxTenantsPerOwner?: number;
      /** Runs one user may start per minute; more get HTTP 429. Default 10. */
      runsPerUserPerMinute?: number;
      /**
       * Runs one user may have active (pending or running) at once, counted across every backend
       * instance; more get HTTP 429 and nothing is recorded. An approved run waits for a free slot of
       * its requester (the approvals task starts it). Keep it below `helm.maxConcurrent` so that one
       * user cannot hold every helm process. A whole number from 1 to 1000. Default 3.
       */
      runsPerUserAtOnce?: number;
      /**
       * Approval requests one user may have open (awaiting decisions, or approved and not started)
       * at once; more get HTTP 429 and nothing is recorded, so one user cannot bury approvers'
       * inboxes under requests. A whole number from 1 to 1000. Default 10.
       */
      openApprovalsPerUser?: number;
      /** Run event streams (`GET /runs/:id/events?follow=true`) one caller may hold open at once; more get HTTP 429. Default 10. */
      followStreamsPerCaller?: number;
      /**
       * Run event streams (`GET /runs/:id/events?follow=true`) one backend instance holds open at
       * once, whoever holds them (each polls the database until its run ends); more get HTTP 503
       * with `Retry-After`, and the run's events stay readable a page at a time without `follow`.
       * A whole number of at least 1. Default 500.
       */
      maxOpenStreams?: number;
      /**
       * How long one run event stream (`GET /runs/:id/events?follow=true`) stays open at most, in
       * seconds; it then ends with a `{"type":"reconnect","after":<seq>}` line. At least 1. Default 900.
       */
      followStreamMaxSeconds?: number;
      /**
       * Previews and policy checks (`POST /runs/preview`, `POST /policy/check`, and what the scaffolder's
       * dry runs and the MCP tools send there) one caller may have under way at once; more get HTTP 429.
       * They run `helm template` in the pool every run shares (`helm.maxConcurrent`). Default 2.
       */
      previewsPerUserAtOnce?: number;
      /** Previews and policy checks one caller may ask for per minute; more get HTTP 429. Default 30. */
      previewsPerUserPerMinute?: number;
      /**
       * Refused changes (403, 404) of one caller recorded in the audit trail one by one per minute, per
       * backend instance; the rest are still refused, and counted in `refusedNotRecorded` of the next
       * one recorded. Default 30.
       */
      refusedAttemptsAuditedPerMinute?: number;
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
      /**
       * The longest a recorded run (`POST /runs/record`) may stay active, in seconds: the scheduled
       * reconciliation ends one recorded longer ago as `failed` ("lifetime exceeded: …") and releases
       * its locks at once, however often its action posts events (which keep its heartbeat fresh);
       * what the action sends afterwards gets 409. Default 3600.
       */
      recordedRunMaxSeconds?: number;
    };
    /**
     * Drift: the latest succeeded chart, tenant, rollback or manifests run on each target is compared
     * with the live objects (only the fields the run applied count) by a scheduled job that runs on
     * one replica at a time, and again shortly after each such run succeeds.
     */
    drift?: {
      /** Whether the drift job runs. Default true. The drift endpoints answer from what was recorded either way. */
      enabled?: boolean;
      /** How often the drift job compares every current run with its cluster, in seconds. Default 120. */
      frequencySeconds?: number;
      /** How long one pass of the drift job may take before it is abandoned, in seconds. Default 300. */
      timeoutSeconds?: number;
      /**
       * Fields a field manager other than helm and kubechart may add to an object without it being
       * drift. `path` is a drift path (`spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`,
       * `[*]` for any list item) and covers the fields under it; `manager`, when given, limits the
       * entry to that field manager. Tenant runs keep the labels and annotations it covers on the
       * ResourceQuota, LimitRange and default-deny NetworkPolicy they own whole (those drift reports
       * as added they take out). Replaces the default whole; a path that cannot be read stops
       * the backend from starting. Default: the pod template annotation
       * `kubectl.kubernetes.io/restartedAt` (any manager, `kubectl rollout restart`), the
       * Deployment annotation `deployment.kubernetes.io/revision` (any manager, the deployment
       * controller's bookkeeping), and
       * `webhooks[*].clientConfig.caBundle` and `spec.conversion.webhook.clientConfig.caBundle`
       * written by `cert-manager-cainjector`.
       */
      ignoreAddedFields?: Array<{ manager?: string; path: string }>;
    };
    tenant?: {
      /** Namespace of the ingress controller, allowed through the tenant NetworkPolicy. Default `ingress-nginx`. */
      ingressNamespace?: string;
      /** Default ResourceQuota `hard` of a tenant. Default requests.cpu 4, requests.memory 8Gi, limits.cpu 8, limits.memory 16Gi, pods 50. */
      quota?: { [resource: string]: string };
      /**
       * The most of each resource a tenant run's `quota.hard` may ask for without `kubechart.tenants.admin`
       * (403 above it); a resource only `quota` names may not be raised above its default. Replaces the
       * default whole. Default requests.cpu 16, requests.memory 32Gi, limits.cpu 32, limits.memory 64Gi, pods 200.
       */
      maxQuota?: { [resource: string]: string };
      /** Default container limits of the tenant LimitRange. Default cpu 500m, memory 512Mi. */
      defaultLimits?: { [resource: string]: string };
      /** Default container requests of the tenant LimitRange. Default cpu 100m, memory 128Mi. */
      defaultRequests?: { [resource: string]: string };
      /**
       * The deployer identity of each tenant namespace: a ServiceAccount `<serviceAccount>-<namespace>` in
       * `namespace`, bound (RoleBinding `<serviceAccount>`) to a ClusterRole in the tenant namespace only.
       * Tenant-scoped helm and apply calls impersonate it, so the API server refuses anything outside the
       * namespace; nothing in the tenant namespace can run as it or read its tokens.
       */
      deployer?: {
        /** Prefix of the ServiceAccounts' names and name of their RoleBindings. Default `kubechart-deployer`. */
        serviceAccount?: string;
        /**
         * The namespace holding every deployer ServiceAccount, which only KubeChart's engine writes (created
         * when missing, labelled `app.kubernetes.io/managed-by: kubechart`). Grant no one else rights in it.
         * Default `kubechart-deployers`.
         */
        namespace?: string;
        /**
         * ClusterRole bound in the namespace. Default `admin` (the built-in namespaced admin role). The chart
         * policy refuses a chart's binding of it (`rbac-cluster-admin`), as of `admin`.
         */
        clusterRole?: string;
      };
      /**
       * Pod Security admission of tenant namespaces: the Pod Security Standard the API server enforces
       * there (the namespace's `pod-security.kubernetes.io/enforce` label), also on pods a workload
       * holding rights in the namespace creates itself, which no chart policy sees.
       */
      podSecurity?: {
        /** `baseline` (default), `restricted`, `privileged`, or `none` for no label (the cluster's default). */
        enforce?: 'baseline' | 'restricted' | 'privileged' | 'none';
      };
    };
    /** Per cluster (names from `kubernetes.clusterLocatorMethods`): what runs may touch beyond tenant namespaces. */
    clusters?: {
      [cluster: string]: {
        /**
         * Cluster-scoped kinds runs may apply on this cluster, as `<group>/<Kind>` (`""` group for core,
         * e.g. `apiextensions.k8s.io/CustomResourceDefinition`). Only callers holding the
         * `kubechart.runs.cluster-scoped` permission may use them. Default: none.
         */
        allowedClusterScopedKinds?: string[];
        /**
         * Namespaces that are not kubechart tenants but that an owner may deploy to, e.g.
         * `{ shop: { owner: 'group:default/shop-team' } }`. Default: none.
         */
        namespaces?: { [namespace: string]: { owner: string } };
      };
    };
    health?: {
      /** Start the watch-fed health caches of every cluster when the backend starts. Default true. */
      startOnBoot?: boolean;
      /**
       * How often each cluster's node usage is read from metrics.k8s.io, in seconds. Usage older than
       * three intervals is not shown; utilisation then comes from pod requests. Default 60.
       */
      metricsIntervalSeconds?: number;
      /**
       * The least time, in seconds, each watch of a health cache asks the API server to end it after
       * (`timeoutSeconds`); each asks for a random time between this and twice this, as client-go does,
       * and watches again from where it was. A watch still open 30 s past its timeout that sent nothing
       * meanwhile hangs: it is given up, the informer lists again, and answers say the cache does not
       * follow the cluster meanwhile. At least 1. Default 300.
       */
      watchTimeoutSeconds?: number;
    };
    /** Who may start runs for someone else. */
    onBehalfOf?: {
      /**
       * Service principals (token subjects: `plugin:<plugin id>` or `external:<subject>`) whose `onBehalfOf`
       * field is honoured: the run is recorded for, and rate-limited as, that user. From any other caller an
       * `onBehalfOf` is refused (403). Default: none (the shipped scaffolder actions send the user's own token).
       * An entry of another form stops the backend at start-up.
       */
      allowedServices?: string[];
      /**
       * Plugins (`plugin:<plugin id>`) that may pass a signed-in user's credentials on to kubechart
       * (`getPluginRequestToken({ onBehalfOf })`; the request acts as the user, and its audit event names
       * the plugin as `relayedBy`). A user's credentials passed on by any other plugin are refused (403) on
       * every route, reads included. A call of kubechart's own actions is passed on by `plugin:kubechart` for
       * the plugin that invoked the action: both must be listed (without `plugin:kubechart`, every kubechart
       * action is refused, and a warning says so at start-up).
       * Default: `plugin:scaffolder` (its kubechart actions), `plugin:kubechart` (its actions) and
       * `plugin:mcp-actions` (Backstage's MCP actions backend). An entry that is not `plugin:<plugin id>`
       * stops the backend at start-up.
       */
      relayingPlugins?: string[];
    };
  };
}
