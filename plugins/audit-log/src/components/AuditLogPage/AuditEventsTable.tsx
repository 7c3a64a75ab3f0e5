import { useMemo } from 'react';
import { Table, TableColumn } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import {
  AUDIT_GAP_EVENT_ID,
  AUDIT_LOG_PLUGIN_ID,
  AuditEvent,
} from '@kubechart/plugin-audit-log-common';
import Typography from '@material-ui/core/Typography';
import { auditLogTranslationRef } from '../../translation';
import { SeverityChip } from './SeverityChip';
import { VisibleText } from '../shared/visibleText';
import { EventTime } from '../shared/eventTime';

/** Whether the event is a gap record: events were dropped before it. */
export function isGapRecord(event: AuditEvent): boolean {
  return (
    event.plugin === AUDIT_LOG_PLUGIN_ID && event.eventId === AUDIT_GAP_EVENT_ID
  );
}

function targetOf(event: AuditEvent): string {
  const { entityRef, cluster, namespace, resource } = event.target;
  return [
    entityRef,
    cluster && namespace ? `${cluster}/${namespace}` : cluster ?? namespace,
    resource,
  ]
    .filter(Boolean)
    .join(' · ');
}

const NO_WRAP = { whiteSpace: 'nowrap' } as const;

/** A table row: the event with the `id` material-table keeps row state by. */
type AuditRow = AuditEvent & { id: number };

/** One page of events; clicking a row opens it. */
export function AuditEventsTable(props: {
  events: AuditEvent[];
  onSelect: (event: AuditEvent) => void;
  loading?: boolean;
}) {
  const { events, onSelect, loading } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  const columns: TableColumn<AuditRow>[] = [
    // short values stay on one line; the long ones (actor, target) wrap
    { title: t('table.seq'), field: 'seq', cellStyle: NO_WRAP },
    {
      title: t('table.time'),
      field: 'occurredAt',
      cellStyle: NO_WRAP,
      render: e => <EventTime iso={e.occurredAt} />,
    },
    {
      title: t('table.actor'),
      field: 'actor',
      cellStyle: { wordBreak: 'break-word' },
      render: e => <VisibleText text={e.actor ?? ''} />,
    },
    { title: t('table.plugin'), field: 'plugin' },
    {
      title: t('table.event'),
      field: 'eventId',
      render: e =>
        isGapRecord(e) ? (
          <>
            {e.eventId}
            <Typography variant="body2" color="error" role="note">
              <VisibleText text={t('table.gap', { message: e.error ?? '' })} />
            </Typography>
          </>
        ) : (
          e.eventId
        ),
    },
    {
      title: t('table.severity'),
      field: 'severity',
      render: e => <SeverityChip severity={e.severity} />,
    },
    { title: t('table.status'), field: 'status', cellStyle: NO_WRAP },
    {
      title: t('table.target'),
      field: 'target',
      // targets are long refs: give them room and break only at separators
      width: '30%',
      cellStyle: { minWidth: 280, overflowWrap: 'anywhere' },
      render: e => <VisibleText text={targetOf(e)} />,
    },
  ];
  // material-table keeps row state by `id`; an event's sequence number is unique.
  const rows = useMemo<AuditRow[]>(
    () => events.map(e => ({ ...e, id: e.seq })),
    [events],
  );
  return (
    <Table<AuditRow>
      title={t('table.title')}
      columns={columns}
      data={rows}
      isLoading={loading}
      onRowClick={(_e, row) => row && onSelect(row)}
      options={{
        paging: false,
        search: false,
        sorting: false,
        padding: 'dense',
      }}
    />
  );
}
