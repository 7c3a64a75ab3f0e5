import { createTranslationRef } from '@backstage/frontend-plugin-api';

/**
 * Translation reference of the kubechart plugin.
 * @public
 */
export const kubechartTranslationRef = createTranslationRef({
  id: 'kubechart',
  messages: {
    history: {
      title: 'Deployment history',
      emptyTitle: 'No deployments yet',
      emptyDescription:
        'Runs appear here once a template provisions a tenant, installs a chart or applies manifests for this entity.',
      emptyFiltered: 'No runs match these filters.',
      openTemplates: 'Open the templates',
      previousPage: 'Previous page',
      nextPage: 'Next page',
      columns: {
        status: 'Status',
        kind: 'Kind',
        target: 'Target',
        revision: 'Revision',
        actor: 'Actor',
        started: 'Started',
        duration: 'Duration',
      },
      filters: {
        status: 'Status',
        kind: 'Kind',
        actor: 'Actor',
        range: 'Time range',
        any: 'Any',
        range24h: 'Last 24 hours',
        range7d: 'Last 7 days',
        range30d: 'Last 30 days',
      },
    },
    run: {
      detailTitle: 'Run {{id}}',
      close: 'Close',
      failureReason: 'Failure reason',
      timeline: 'Steps and log',
      noEvents: 'No log lines yet.',
      values: 'Values (secrets redacted)',
      manifest: 'Manifest',
      noValues: 'This run recorded no values.',
      noManifest: 'This run recorded no manifest.',
      policyReport: 'Policy report',
      policyColumns: {
        rule: 'Rule',
        severity: 'Severity',
        object: 'Object',
        result: 'Result',
        message: 'Message',
        fix: 'Fix',
      },
      passed: 'passed',
      failed: 'failed',
      diffAgainst: 'Compare with',
      diffNone: 'Nothing to compare',
      diffValues: 'Values diff',
      diffManifest: 'Manifest diff',
      noChanges: 'No differences.',
    },
    actions: {
      rollback: 'Roll back to this revision',
      retry: 'Retry',
      cancel: 'Cancel',
      rollbackTitle: 'Roll back {{release}}?',
      rollbackBody:
        'Helm release {{release}} in namespace {{namespace}} on cluster {{cluster}} will be rolled back to revision {{revision}}. This starts a new run that replaces the current release state.',
      rollbackConfirm: 'Roll back',
      retryTitle: 'Retry this {{kind}} run?',
      retryBody:
        'A new {{kind}} run with the same input will be started against namespace {{namespace}} on cluster {{cluster}}. Existing resources are updated in place.',
      retryConfirm: 'Start run',
      retryRedacted:
        'Its recorded input has redacted secrets, so it cannot be started again from here: run its template again instead.',
      started: 'Started run {{id}}',
      failed: 'Run not started: {{reason}}',
      notAllowed: 'You are not allowed to do this.',
    },
    health: {
      clusterTitle: 'Cluster health',
      tenantTitle: 'Tenant health',
      version: 'Kubernetes {{version}}',
      nodes: 'Nodes ready',
      workloads: 'Workloads',
      healthy: 'healthy',
      degraded: 'degraded',
      failedWorkloads: 'failed',
      alert: 'Alert',
      cpu: 'CPU',
      memory: 'Memory',
      quota: 'Quota',
      releases: 'Releases',
      updated: 'Updated {{seconds}} s ago',
      unreachable: 'Cluster unreachable',
      lastSeen: 'Last seen {{seconds}} s ago',
      noClusters: 'No clusters are configured.',
      noTargets:
        'This entity has no kubechart annotations pointing to a cluster or tenant.',
    },
    tenants: {
      title: 'Tenants',
      subtitle: 'Everything provisioned by kubechart',
      emptyTitle: 'No tenants yet',
      emptyDescription:
        'Provision a tenant with the "Provision a tenant" template.',
      columns: {
        code: 'Tenant',
        status: 'Status',
        health: 'Health',
        owner: 'Owner',
        entity: 'Entity',
        namespace: 'Namespace',
        releases: 'Releases',
        created: 'Created',
      },
      history: 'Deployment history',
    },
  },
});
