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
  /**
   * KubeChart's settings the assistant reads too, when KubeChart is installed in the same Backstage
   * (declared as in KubeChart's config.d.ts, which describes them, so they are checked when the
   * assistant is installed alone).
   */
  kubechart?: {
    tenant?: {
      deployer?: {
        /** Name of KubeChart's deployer RoleBinding in tenant namespaces. Default `kubechart-deployer`. */
        serviceAccount?: string;
        /** Namespace of KubeChart's deployer ServiceAccounts. Default `kubechart-deployers`. */
        namespace?: string;
      };
    };
    approvals?: {
      /** Targets KubeChart protects with approvals; the assistant does not change them. */
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
  };
  /** Configuration of the Kubernetes assistant (`kube-assistant` plugin). */
  kubeAssistant?: {
    /**
     * Providers tried in this order until one answers with a valid plan.
     * Default: only `builtin`.
     */
    providers?: Array<{
      /** Provider id: `builtin`, `ollama`, `openai`, or one added by a module. */
      id: string;
      /** Give up on this provider after this many milliseconds. Default 10000 (builtin: 1000). */
      timeoutMs?: number;
      /** Base URL of Ollama (e.g. http://localhost:11434) or of an OpenAI-compatible API. */
      baseUrl?: string;
      /** Model name, for `ollama` and `openai`. */
      model?: string;
      /**
       * API key sent as a Bearer token, for `openai`.
       * @visibility secret
       */
      apiKey?: string;
    }>;
    /** Who may act on behalf of a signed-in user. */
    onBehalfOf?: {
      /**
       * Plugins (`plugin:<plugin id>`) that may pass a signed-in user's
       * credentials on to the assistant (`getPluginRequestToken({ onBehalfOf })`:
       * the request asks and runs as the user). A user's credentials passed on by
       * any other plugin are refused (403, naming the plugin and this setting) by
       * `/ask`, `/execute`, `/conversations` and the `plan-question` action, before
       * anything is planned or run; a refused question or run is audited with
       * `stage: "relay"` and `relayedBy`. A user's own token is not affected.
       * Default: `plugin:scaffolder` and `plugin:mcp-actions` (they invoke the
       * `plan-question` action for their user). An entry that is not
       * `plugin:<plugin id>` stops the backend at start-up.
       */
      relayingPlugins?: string[];
    };
    /**
     * Allow running dangerous plans (delete, drain, exec, apply/patch,
     * reading Secret data) at all. Users also need the
     * `kube-assistant.execute.dangerous` permission and must type the
     * resource's name. Default false.
     */
    allowDangerous?: boolean;
    /** Most rows a result table returns. Default 200. */
    maxRows?: number;
    /**
     * How long running one plan may take on the cluster before the assistant
     * stops and answers 503 with the reason: no request is sent after it, so a
     * change over several objects changes no further object. With 30 s more,
     * how long a run can be recorded as `running` before it no longer counts
     * in `limits.runsAtOncePerUser`. Default 30.
     */
    executionTimeoutSeconds?: number;
    /**
     * How long, in milliseconds, a question waits for the names of the
     * cluster (its namespaces, nodes and workloads, listed once and then
     * cached) that the builtin parser reads names by; after it, the question
     * is planned without them and the listing goes on for the next
     * questions. Keep it below the builtin provider's `timeoutMs`, which it
     * counts against. A whole number, at least 1. Default 400.
     */
    nameLookupTimeoutMs?: number;
    /** Name of the cluster used when neither the entity nor the plan names one. Default: the first configured cluster. */
    defaultCluster?: string;
    /**
     * How long the single-use confirmation handed out with a warning or
     * dangerous plan stays valid, in seconds. Default 300.
     */
    confirmationTtlSeconds?: number;
    /**
     * Send every cluster request as the signed-in user, so the cluster's own
     * RBAC applies. `Impersonate-User` is the name of a user of the catalog
     * namespace `default` (`user:default/alice` → `alice`); a user of another
     * catalog namespace is refused (403) unless
     * `impersonationUserPrefixes` gives that namespace a prefix, since as
     * `alice` `user:team-a/alice` would act as `user:default/alice`. The
     * configured service account needs the `impersonate` verb on users.
     * Groups are not sent. Default false.
     */
    impersonation?: boolean;
    /**
     * With `impersonation`, the prefix of the Kubernetes user name of each
     * catalog namespace named here: `{ team-a: 'team-a/' }` makes
     * `user:team-a/alice` the Kubernetes user `team-a/alice`. A prefix is
     * letters, digits, `.`, `_` or `-` ending in `:` or `/`, not `system:`,
     * and each namespace's differs (checked at start-up). Naming `default`
     * here gives its users the prefix too. Default: none.
     */
    impersonationUserPrefixes?: { [catalogNamespace: string]: string };
    /**
     * Namespaces the platform assigned by hand, per cluster: namespace →
     * owner entity ref (`group:default/team-a`; a bare name is a group of
     * `default`). Without `kube-assistant.cluster-wide` an entity's
     * `backstage.io/kubernetes-namespace` is the assistant's scope only when
     * the platform assigned that namespace to the entity's owner: here, or
     * (for a namespace not named here) by the `kubechart.io/owner`
     * annotation of the Namespace object, which KubeChart writes on the
     * tenant namespaces it creates and which the assistant reads with its own
     * service account (it needs `get` on namespaces). A namespace named here
     * is decided by this entry alone. Default: none.
     */
    namespaceOwners?: {
      [cluster: string]: { [namespace: string]: string };
    };
    /**
     * How much one caller may ask, and add to the audit trail, a minute (per backend instance), and
     * how many questions one conversation keeps.
     */
    limits?: {
      /**
       * Questions one user may ask `/ask` (or the `plan-question` action) a
       * minute; more are answered 429 before any provider is asked, and
       * recorded as refusals. A whole number, at least 1. Default 60.
       */
      questionsPerUserPerMinute?: number;
      /**
       * Refused requests of one caller recorded in the audit trail one by one
       * a minute: questions of a user without `kube-assistant.query` (403),
       * questions beyond `questionsPerUserPerMinute` (429) and runs of
       * answers that are not the caller's (404). The rest are still refused,
       * but only counted: the count goes in `refusedNotRecorded` of the next
       * one recorded, or in one `refusals-not-recorded` event when the
       * caller's minute ends (or the backend stops). A whole number, at least
       * 0. Default 30.
       */
      refusedQuestionsAuditedPerMinute?: number;
      /**
       * Questions (answered or refused) one conversation keeps. A question
       * asked in a conversation that holds this many is answered 409 ("This
       * conversation has reached its limit of 200 questions …: start a new
       * conversation to ask more."), before any provider is asked; asking
       * without `conversationId` starts a new conversation (the widget does so
       * with the next question). `GET /conversations/:id` answers at most 200
       * messages at once, whatever this is. A whole number, at least 1.
       * Default 200.
       */
      messagesPerConversation?: number;
      /**
       * Runs (succeeded, failed or refused) one answer keeps. `POST /execute`
       * of an answer that has run this many times is answered 409 ("This
       * answer has reached its limit of 50 runs …: ask the question again to
       * run it more."), audited as refused with `stage: "runs"`, and nothing
       * is added to its runs. `GET /conversations/:id` shows the newest 10
       * runs of each answer, with `runCount`, whatever this is. A whole
       * number, at least 1. Default 50. A run is taken before it runs (kept
       * as `running` until its outcome is recorded), so runs asked for at once
       * never go beyond it.
       */
      runsPerAnswer?: number;
      /**
       * Commands (`POST /execute`) one user may have running at once, on all
       * backends sharing the database together: the runs recorded as
       * `running` are counted in the transaction that takes a run (on
       * PostgreSQL under a lock per user), so two replicas allow 3 in all, not
       * 3 each. One more is answered 429 ("user:default/alice has 3 commands
       * running; the limit is 3 at once …") after the permissions and the
       * scope are checked and before anything runs, nothing is added to the
       * answer's runs, and it is recorded as refused with `stage:
       * "runs-at-once"` within `refusedQuestionsAuditedPerMinute`. A run still
       * `running` after `executionTimeoutSeconds` and 30 s more (the time to
       * check and record it, on the database's clock) does not count: its
       * backend stopped, or it is still under way; it is then recorded as
       * failed ("Not reported within …"), until its outcome, if it comes,
       * replaces that.
       * A whole number, at least 1. Default 3.
       */
      runsAtOncePerUser?: number;
      /**
       * Most megabytes (MiB) one answer reads from the cluster, all its reads
       * together: the objects a question reaches are read, parsed and held
       * within it, one page of at most 4 MiB at a time. A table stops there
       * and says so; any other command whose answer needs more is refused
       * (ask about fewer objects). A whole number, at least 1. Default 32.
       */
      readMegabytesPerAnswer?: number;
      /**
       * Most megabytes (MiB) read from clusters that the backend holds at
       * once, all answers under way together (per backend instance). A table
       * holds one page of objects at a time (then only the cells of the rows
       * it may show); other commands hold what they read until they end. A
       * read that would hold more is given up and its command refused (503,
       * recorded as refused: "The assistant already holds the most it reads
       * from clusters at once … try again when they are done …"). Parsed,
       * objects take several times their bytes of memory. A whole number, at
       * least `readMegabytesPerAnswer`. Default twice
       * `readMegabytesPerAnswer` (64).
       */
      readMegabytesAtOnce?: number;
    };
  };
}
