import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  /** Configuration of the KubeChart audit log. */
  auditLog?: {
    retention?: {
      /**
       * Events older than this many days are pruned; the chain keeps a
       * checkpoint so it still verifies. Unset (the default) keeps events
       * forever.
       */
      days?: number;
      /**
       * When the retention task runs. Default: every hour, first run one
       * minute after start-up, 30 minute timeout.
       */
      schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
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
    };
  };
}
