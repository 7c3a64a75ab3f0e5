import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  /** Configuration of the KubeChart audit log. */
  auditLog?: {
    /** The hash chain the audit events form. */
    chain?: {
      /**
       * The key the chain is signed with: new events are hash chain version 3, HMAC-SHA256 with
       * this key, so that whoever can write the database but does not have this configuration
       * cannot rewrite events (or cut the tail) without `GET /verify` reporting it. At least
       * 32 characters; generate one with `openssl rand -base64 48` and pass it from the
       * environment (`key: ${AUDIT_CHAIN_KEY}`). It is never stored in the database: each event
       * keeps only the key's id. Set the same key on every replica. Once set, verify fails
       * until the chain ends in an event signed with a configured key (the backend signs one
       * when it starts) and fails on any unsigned event after a signed one.
       * Default: none, the chain is unkeyed (sha256, version 2) and a warning is logged at
       * start-up.
       * @visibility secret
       */
      key?: string;
      /**
       * Keys that signed earlier events, for rotation: they verify the events they signed but
       * sign nothing. Listed oldest first (add the key being retired at the end): keys take over
       * the chain in this order, then `key`, and verify fails on an event signed with an older
       * key after one signed with a newer key. Remove one only once every event it signed has
       * been pruned; until then verify reports those events as signed with an unknown key.
       * Default: none.
       * @visibility secret
       */
      previousKeys?: string[];
    };
    retention?: {
      /**
       * Events older than this many days are pruned; the chain keeps a
       * checkpoint so it still verifies. Unset (the default) keeps events
       * forever. Must not be below `minimumDays`.
       */
      days?: number;
      /**
       * No prune, scheduled or on request (`POST /prune`), may remove events
       * younger than this many days; a request that would is a 400.
       * Default 90.
       */
      minimumDays?: number;
      /**
       * Where each prune's checkpoint (the hash at the cut) is written before
       * anything is deleted, so a witness outside the database can check the
       * remaining chain. It is always logged at `warn`; if a target below is
       * configured and cannot take it, nothing is pruned. The same targets
       * receive the head anchors (see `auditLog.anchor`) and the loss records
       * of events a stopping backend could not store.
       */
      checkpoint?: {
        /**
         * A file to append one JSON line per checkpoint and per head anchor to.
         * `GET /verify` reads its last 64 KiB (more, up to 1 MiB, while that
         * holds no anchor) and checks the chain against the
         * newest anchor there (a file with records but no anchor there fails
         * verify while anchors are published); a start-up appends the gap
         * record of each loss record there that the chain lacks. Make it
         * writable by the backend only (append-only storage), or it proves
         * nothing. Default: none.
         */
        file?: string;
        /** An http(s) endpoint that receives each checkpoint, head anchor and loss record as a JSON POST. Default: none. */
        webhook?: {
          /**
           * Without a user or password (refused at start-up; use `token`). Secret, as a
           * webhook's address may hold its own key.
           * @visibility secret
           */
          url: string;
          /**
           * Sent as `Authorization: Bearer <token>`. Default: none.
           * @visibility secret
           */
          token?: string;
        };
      };
      /**
       * When the retention task runs. Default: every hour, first run one
       * minute after start-up, 30 minute timeout.
       */
      schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
    };
    /**
     * Head anchors: the chain head (`seq`, `hash` of the newest event) published
     * outside the database on a schedule, to an `info` log line and to the
     * file and webhook of `retention.checkpoint`, so that `GET /verify` can
     * tell a tail cut from the database (it checks the newest anchor in
     * `retention.checkpoint.file`).
     */
    anchor?: {
      /**
       * Whether anchors are published. Default true (without a file or webhook
       * only as log lines). When false, a witness file without an anchor does
       * not fail verify.
       */
      enabled?: boolean;
      /**
       * How often the head is published (on one replica at a time; a head that
       * did not move is not published again), e.g. `{ minutes: 5 }`.
       * Default 5 minutes, first run one minute after start-up.
       */
      frequency?: {
        years?: number;
        months?: number;
        weeks?: number;
        days?: number;
        hours?: number;
        minutes?: number;
        seconds?: number;
        milliseconds?: number;
      };
    };
    /**
     * The in-memory queue between the auditor service and the database,
     * one per backend process.
     */
    queue?: {
      /** Maximum number of buffered events. Default 10000. */
      maxSize?: number;
      /** Maximum number of events written in one transaction. Default 500. */
      batchSize?: number;
      /** How long a partial batch may wait before it is written, in ms. Default 50. */
      flushIntervalMs?: number;
      /**
       * How long an audited request may wait for room in a full queue before
       * its event is dropped (and counted), in ms. Default 100.
       */
      maxEnqueueWaitMs?: number;
      /**
       * How long writes may keep failing (database down) before the events of
       * a failing batch are dropped and marked by a gap record, in ms.
       * Default 300000 (5 minutes).
       */
      maxRetryDurationMs?: number;
      /**
       * How long a stopping backend waits, in all, for audited operations in
       * progress to record their outcome while the database is still open, in
       * ms. Default 10000.
       */
      maxShutdownWaitMs?: number;
      /**
       * How long an audited change of severity `medium` or above waits for its
       * `initiated` event to be written to the trail before it is refused with
       * 503 (the change is not made), in ms. Default 5000.
       */
      maxStoreWaitMs?: number;
    };
    /** Who may act on behalf of a signed-in user. */
    onBehalfOf?: {
      /**
       * Plugins (`plugin:<plugin id>`) that may pass a signed-in user's
       * credentials on to the audit log (`getPluginRequestToken({ onBehalfOf })`:
       * the request reads as the user). A user's credentials passed on by any
       * other plugin are refused (403, naming the plugin and this setting) on
       * every route and by the `query-audit-events` action; a user's own token
       * and a service's are not affected. The action reads the REST API with the
       * user's credentials passed on by `plugin:audit-log`: without it in the
       * list the action is refused to every user (a warning says so at
       * start-up). Default: `plugin:scaffolder` and `plugin:mcp-actions` (they
       * invoke the action for their user) and `plugin:audit-log`. An entry that
       * is not `plugin:<plugin id>` stops the backend at start-up.
       */
      relayingPlugins?: string[];
    };
    /** Severity floors applied when events are stored. */
    severity?: {
      /**
       * Plugin id → event id → the lowest severity that event is stored
       * with; a higher severity given by the emitter is kept. Added to the
       * built-in floors (KubeChart cluster mutations are `high`).
       * Default: the built-in floors only.
       */
      minimum?: {
        [pluginId: string]: {
          [eventId: string]: 'low' | 'medium' | 'high' | 'critical';
        };
      };
    };
  };
}
