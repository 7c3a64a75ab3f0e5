import { Table, TableColumn } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import Chip from '@material-ui/core/Chip';
import { auditLogTranslationRef } from '../../translation';

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

/** One page of events; clicking a row opens it. */
export function AuditEventsTable(props: {
  events: AuditEvent[];
  onSelect: (event: AuditEvent) => void;
  loading?: boolean;
}) {
  const { events, onSelect, loading } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  const columns: TableColumn<AuditEvent>[] = [
    { title: t('table.seq'), field: 'seq', width: '6%' },
    {
      title: t('table.time'),
      field: 'occurredAt',
      render: e => new Date(e.occurredAt).toLocaleString(),
    },
    { title: t('table.actor'), field: 'actor' },
    { title: t('table.plugin'), field: 'plugin' },
    { title: t('table.event'), field: 'eventId' },
    {
      title: t('table.severity'),
      field: 'severity',
      render: e => (
        <Chip
          size="small"
          label={e.severity}
          color={
            e.severity === 'high' || e.severity === 'critical'
              ? 'secondary'
              : 'default'
          }
        />
      ),
    },
    { title: t('table.status'), field: 'status' },
    { title: t('table.target'), render: targetOf },
  ];
  return (
    <Table<AuditEvent>
      title={t('table.title')}
      columns={columns}
      data={events}
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
