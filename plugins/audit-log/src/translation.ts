import { createTranslationRef } from '@backstage/frontend-plugin-api';

/**
 * Strings of the audit-log plugin.
 * @public
 */
export const auditLogTranslationRef = createTranslationRef({
  id: 'plugin.audit-log',
  messages: {
    hiddenCharacters_one:
      'This event holds {{count}} invisible or direction-changing character, shown as ⟨U+…⟩.',
    hiddenCharacters_other:
      'This event holds {{count}} invisible or direction-changing characters, shown as ⟨U+…⟩.',
    page: {
      title: 'Audit log',
      subtitle:
        'A tamper-evident trail of everything that happened in the portal',
    },
    filters: {
      search: 'Search',
      actor: 'Actor',
      plugin: 'Plugin',
      eventId: 'Event',
      target: 'Target',
      severity: 'Severity',
      status: 'Status',
      from: 'From',
      to: 'To',
      any: 'Any',
      clear: 'Clear filters',
      showReads: 'Show reads',
      changesOnly: 'Showing changes (medium severity and up)',
    },
    table: {
      title: 'Events',
      seq: '#',
      time: 'Time',
      actor: 'Actor',
      plugin: 'Plugin',
      event: 'Event',
      severity: 'Severity',
      status: 'Status',
      target: 'Target',
      newer: 'Newer',
      older: 'Older',
      emptyTitle: 'No audit events',
      emptyDescription: 'No event matches these filters yet.',
      partialTitle: 'No match among the events searched so far',
      partialDescription:
        'Each request looks through a bounded part of the trail, newest first. Older events have not been searched yet.',
      searchOlder: 'Search older events',
      gap: 'Gap in the trail: {{message}}',
    },
    details: {
      title: 'Event {{seq}}',
      close: 'Close',
      meta: 'Meta',
      error: 'Error',
      request: 'Request',
      hash: 'Hash',
      prevHash: 'Previous hash',
    },
    verify: {
      button: 'Verify integrity',
      running: 'Verifying…',
      ok: 'Chain intact: {{checked}} events checked (up to #{{lastSeq}}).',
      okEmpty: 'Chain intact: no events stored yet.',
      anchor:
        'It still holds event #{{seq}} as the head anchor published outside the database on {{at}} recorded it.',
      keyed:
        "Signed with the backend's chain key: no one without it can rewrite these events undetected.",
      unkeyed:
        "Not signed with a chain key: anyone who can write the database could rewrite these events and the chain would still verify. Set auditLog.chain.key in the backend's configuration.",
      pruned:
        'Events up to #{{throughSeq}} were pruned by retention on {{prunedAt}}.',
      failed: 'Chain broken at event #{{failedSeq}}: {{reason}}',
      anchorMismatch:
        'The chain no longer holds the head anchor published outside the database on {{at}} (event #{{seq}}): its tail was cut, or events at or below it were rewritten. {{reason}}',
      anchorMissing:
        'No head anchor found in the witness file: nothing in the chain is known to be broken, but without an anchor a tail cut from the database cannot be ruled out. {{reason}}',
      anchorMissingHelp:
        "Check the backend's auditLog.anchor settings (enabled, frequency) and its witness file, auditLog.retention.checkpoint.file (whether it exists, is readable by the backend, or was moved aside or emptied); see Head anchors in the audit-log backend's README.",
      gaps: '{{gapCount}} gap record(s): {{droppedEvents}} event(s) were dropped before they could be stored.',
    },
    export: {
      csv: 'Export CSV',
      ndjson: 'Export NDJSON',
    },
    liveTail: {
      label: 'Live tail',
      unavailable: 'Live tail needs the signals plugin',
    },
  },
});
