import { createTranslationRef } from '@backstage/frontend-plugin-api';

/**
 * Translation reference of the kubechart plugin.
 * @public
 */
export const kubechartTranslationRef = createTranslationRef({
  id: 'kubechart',
  messages: {
    hiddenCharacters_one:
      'This text holds {{count}} invisible or direction-changing character, shown as ⟨U+…⟩.',
    hiddenCharacters_other:
      'This text holds {{count}} invisible or direction-changing characters, shown as ⟨U+…⟩.',
    history: {
      title: 'Deployment history',
      emptyTitle: 'No deployments yet',
      emptyDescription:
        'Runs appear here once a template provisions a tenant, installs a chart or applies manifests for this entity.',
      emptyFiltered: 'No runs match these filters.',
      notAllowedTitle: "You may not see this entity's deployment history",
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
        custom: 'Custom range',
        from: 'From',
        to: 'To',
      },
    },
    run: {
      detailTitle: 'Run {{id}}',
      detailsTitle: 'Details',
      close: 'Close',
      failureReason: 'Failure reason',
      noFailureReason: 'The run recorded no reason.',
      refusedTitle: 'Refused by the chart policy',
      refusedBody:
        'Nothing was applied. These rules failed on what the run would have applied:',
      stoppedTitle: 'Stopped by the chart policy',
      stoppedAfterChanges:
        'The run changed the cluster before the policy stopped it; review what it applied:',
      stoppedUnknown:
        'What the run changed in the cluster before the policy stopped it is not known (it was not recorded for this run).',
      rulesFailed: 'These rules failed:',
      changedBeforeFailing:
        'The run changed the cluster before it failed; review what it applied:',
      moreChanges: '… and {{rest}} more.',
      fixHint: 'fix: {{fix}}',
      moreRules: '… and {{rest}} more in the Policy tab.',
      timeline: 'Steps and log',
      log: 'Log',
      noEvents: 'No log lines yet.',
      tabs: {
        steps: 'Steps & log',
        policy: 'Policy',
        values: 'Values',
        manifest: 'Manifest',
        compare: 'Compare',
      },
      facts: {
        kind: 'Kind',
        target: 'Target',
        revision: 'Helm revision',
        actor: 'Started by',
        template: 'Template',
        started: 'Started',
        duration: 'Duration',
      },
      noPolicyReport: 'This run has no policy report.',
      values: 'Values (secrets redacted)',
      manifest: 'Manifest',
      manifestNotApplied:
        'Manifest the run rendered (not applied: the run failed or was refused)',
      manifestFailedAfterChanges:
        'Manifest the run rendered (the run failed after it changed the cluster: some or all of it may be applied)',
      manifestFailedUnknown:
        'Manifest the run rendered (the run failed; whether any of it was applied is not known)',
      manifestPlanned:
        'Manifest the run will apply once approved (nothing is applied yet)',
      noValues: 'This run recorded no values.',
      noValuesForKind:
        'A {{kind}} run has no Helm values; what it applied (or would have) is in the Manifest tab.',
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
      diffNotComputed: 'The diff was not computed: {{reason}}.',
      diffUnreadable:
        'No changed lines could be read from this diff. The backend answered: {{text}}',
      diffHiddenSecrets_one:
        '{{count}} secret value is hidden in these runs and is not compared: a changed secret does not show in this diff.',
      diffHiddenSecrets_other:
        '{{count}} secret values are hidden in these runs and are not compared: a changed secret does not show in this diff.',
    },
    actions: {
      rollback: 'Roll back to this revision',
      retry: 'Retry',
      cancel: 'Cancel',
      rollbackTitle: 'Roll back {{release}}?',
      rollbackBody:
        'Helm release {{release}} in namespace {{namespace}} on cluster {{cluster}} will be rolled back to revision {{revision}}. This starts a new run that replaces the current release state.',
      rollbackUnbound:
        'Revision {{revision}} is taken as the release holds it now: KubeChart cannot check that it is what this run installed (revision numbers restart after an uninstall).',
      rollbackConfirm: 'Roll back',
      retryTitle: 'Retry this {{kind}} run?',
      retryBody:
        'A new {{kind}} run with the same input will be started against namespace {{namespace}} on cluster {{cluster}}. Existing resources are updated in place.',
      retryConfirm: 'Start run',
      retryRedacted:
        'Its recorded input has redacted secrets, so it cannot be started again from here: run its template again instead.',
      started: 'Started run {{id}}',
      awaitingApproval:
        'Run {{id}} was created and waits for approval before anything is applied',
      protectedTarget:
        'This target was protected when this run was requested: the new run waits for approval if it still is.',
      failed: 'Run not started: {{reason}}',
      notAllowed: 'You are not allowed to do this.',
    },
    drift: {
      title: 'Drift from the last run',
      inSync: 'In sync',
      inSyncExceptOne:
        'In sync, except 1 field that holds a secret (not compared)',
      inSyncExceptMany:
        'In sync, except {{count}} fields that hold secrets (not compared)',
      reportedByAction:
        'as reported by action {{action}} (kubechart did not apply it)',
      driftedOne: 'Drifted (1 object) since {{since}}',
      driftedMany: 'Drifted ({{count}} objects) since {{since}}',
      unknown: 'Drift unknown: {{message}}',
      notChecked: 'Not compared with the cluster yet.',
      checkedAt: 'run {{runId}}, checked {{time}}',
      missing: 'object missing',
      deletingHeld:
        'being deleted (marked for deletion at {{time}}), held by finalizers: {{finalizers}}',
      deletingGrace:
        'being deleted (marked for deletion at {{time}}), gone once its grace period ends',
      absent: '(absent)',
      notSet: '(not set)',
      addedBy: 'set by {{manager}} (value not shown)',
      valueNotShown: '({{what}}, not shown)',
      unknownManager: 'another manager',
      byNobody: 'removed',
      columns: {
        object: 'Object',
        path: 'Field',
        applied: 'Applied',
        live: 'Live',
        manager: 'Changed by',
      },
      reapply: 'Re-apply last run',
      reapplyTitle: 'Re-apply run {{runId}}?',
      reapplyReleaseBody:
        'Helm release {{release}} in namespace {{namespace}} on cluster {{cluster}} will be rolled back to the revision the run applied. This starts a new run; changes made in the cluster since are overwritten.',
      reapplyManifestsBody:
        'The manifests the run applied will be applied again to namespace {{namespace}} on cluster {{cluster}}. This starts a new run; changes made in the cluster since are overwritten.',
      reapplyConfirm: 'Re-apply',
      reapplyRelease: 'Release to roll back',
    },
    status: {
      awaitingApproval: 'awaiting approval',
      approved: 'approved',
      noWorkloads: 'no workloads',
    },
    approval: {
      title: 'Approval',
      rule: 'Rule',
      state: 'State',
      states: {
        awaiting: 'awaiting decisions',
        approved: 'approved',
        executed: 'approved and started',
        refused: 'approved, then refused at install: nothing was applied',
        rejected: 'rejected',
        expired: 'expired',
        changed: 'plan changed after approval: not applied',
        withdrawn: 'withdrawn by the requester: nothing was applied',
      },
      progress: '{{approved}} of {{required}} approvals',
      approvers: 'Who may approve',
      requestedBy: 'Requested by',
      requestedAt: 'Requested',
      expiresAt: 'Expires',
      ago: '{{duration}} ago',
      inFuture: 'in {{duration}}',
      plan: 'Plan',
      decisions: 'Decisions',
      noDecisions: 'No decisions yet.',
      columns: {
        by: 'Approver',
        decision: 'Decision',
        comment: 'Comment',
        at: 'Time',
      },
      decision: {
        approve: 'approved',
        reject: 'rejected',
      },
      approve: 'Approve',
      reject: 'Reject',
      withdraw: 'Withdraw',
      cannotDecide: 'You cannot decide on this run: {{reason}}.',
      viewerUnknown: 'the server did not say whether you may decide',
      resubmit:
        'Approved. The run starts when the requester submits its input again (it holds secret values that are not stored, or needed the requester’s kubechart.tenants.admin permission, which is checked again then); a plan that changed since the approval is not applied.',
      diffTitle: 'Plan: changes against the previous run on this target',
      diffPrevious: 'Previous run: {{id}}',
      inputChanges: 'Input changes (secrets redacted)',
      noInputChanges: 'The input is the same as the previous run’s.',
      inputTruncated: 'Only the first {{count}} changed fields are listed.',
      inputColumns: {
        path: 'Field',
        before: 'Previous run',
        after: 'This run',
      },
      diffNoPrevious:
        'There is no earlier run on this target: everything in the Manifest tab is new.',
      dialog: {
        approveTitle: 'Approve run {{id}}?',
        rejectTitle: 'Reject run {{id}}?',
        withdrawTitle: 'Withdraw your run {{id}}?',
        withdrawBody:
          'The request is taken back: the run ends as failed, nothing is applied, and approvers can no longer approve it.',
        withdrawCommentHelp: 'Optional. {{length}} / {{max}} characters',
        withdrawConfirm: 'Withdraw',
        approveBody:
          'Your approval is bound to this exact plan ({{hash}}). If the chart, the values or the cluster state change before it runs, it has to be approved again.',
        rejectBody:
          'The run ends as failed with your comment as the reason; nothing is applied.',
        comment: 'Comment',
        commentHelp: 'Required. {{length}} / {{max}} characters',
        commentTooLong: 'At most {{max}} characters ({{length}} now)',
        approveConfirm: 'Approve',
        rejectConfirm: 'Reject',
        notAllowed: 'Not allowed: {{reason}}',
        conflict: 'The run no longer awaits approval: {{reason}}',
        failed: 'Not recorded: {{reason}}',
      },
      recorded: 'Your decision on run {{id}} was recorded',
    },
    runPage: {
      title: 'Run',
      noRun:
        'No run given: open a run from an entity’s deployment history or from the Approvals card.',
    },
    approvals: {
      title: 'Approvals',
      empty: 'No open approval requests for you to decide on or of your own.',
      truncated:
        'Not every open request could be listed: older requests may be waiting that are not shown here. Open a run from its deployment history to decide on it.',
      loadMore: 'Load older requests',
      loadMoreFailed: 'The older requests could not be loaded: {{message}}',
      yourDecision: 'awaits your decision',
      columns: {
        yourPart: 'For you',
        run: 'Run',
        target: 'Target',
        kind: 'Kind',
        requestedBy: 'Requested by',
        requested: 'Requested',
        expires: 'Expires',
        progress: 'Approvals',
      },
      openRun: 'Open run {{id}}',
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
      moreWorkloads: '… and {{rest}} more unhealthy workloads.',
      moreWorkloadsHidden_one:
        '… and {{count}} more unhealthy workload in a namespace you cannot read.',
      moreWorkloadsHidden_other:
        '… and {{count}} more unhealthy workloads in namespaces you cannot read.',
      moreWorkloadsAtLeastHidden:
        '… and {{count}} more unhealthy workloads, at least {{hidden}} of them in namespaces you cannot read.',
      moreAlerts_one: '… and {{count}} more alert.',
      moreAlerts_other: '… and {{count}} more alerts.',
      moreAlertsHidden_one:
        '… and {{count}} more alert in a namespace you cannot read.',
      moreAlertsHidden_other:
        '… and {{count}} more alerts in namespaces you cannot read.',
      moreAlertsSomeHidden:
        '… and {{count}} more alerts, {{hidden}} of them in namespaces you cannot read.',
      moreAlertsAtLeastHidden:
        '… and {{count}} more alerts, at least {{hidden}} of them in namespaces you cannot read.',
      alert: 'Alert',
      alertTypes: {
        crashLoop: 'crash loop',
        imagePull: 'image pull failure',
        configError: 'config error',
        containerFailing: 'container failing',
      },
      cpu: 'CPU',
      memory: 'Memory',
      nodesLeftOut_one: '{{count}} node not Ready or cordoned left out',
      nodesLeftOut_other: '{{count}} nodes not Ready or cordoned left out',
      quota: 'Quota',
      urlsUnknown: 'URLs not known',
      releases: 'Releases',
      updated: 'Updated {{seconds}} s ago',
      updatedAhead:
        'Updated in {{seconds}} s: the server clock is ahead of this browser, so how old this is is not known',
      unreachable: 'Cluster unreachable',
      tenantUnknown: 'Health not known',
      lastSeen: 'Last seen {{seconds}} s ago',
      lastSeenAhead:
        'Last seen in {{seconds}} s: the server clock is ahead of this browser, so how long ago is not known',
      notSeen: 'Not reachable since this page was opened',
      tenantNotSeen:
        'The backend has not followed this cluster since it started',
      checked: 'checked {{seconds}} s ago',
      checkedAhead: 'checked in {{seconds}} s (server clock ahead)',
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
