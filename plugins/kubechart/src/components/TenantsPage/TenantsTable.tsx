import { useMemo } from 'react';
import {
  ContentHeader,
  EmptyState,
  LinkButton,
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useRouteRef } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import {
  EntityRefLink,
  entityRouteParams,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import type { Tenant } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { useTenants } from '../../hooks';
import { formatTimestamp } from '../../lib/format';
import { RunStatus } from '../RunStatus';
import { TenantHealthCell } from './TenantHealthCell';
import { withMarkers } from '../shared/visibleText';

/** Where the provisioning template opens (the example template's name). */
export const PROVISION_TENANT_PATH =
  '/create/templates/default/kubechart-tenant';

/**
 * Every tenant with its status, live health, owner entity, namespace, releases and creation
 * time, under a heading with a link to the provisioning template; the tenant links to its
 * entity's deployment-history tab.
 * @public
 */
export function TenantsTable() {
  const { t } = useTranslationRef(kubechartTranslationRef);
  return (
    <>
      <ContentHeader title={t('tenants.subtitle')}>
        <LinkButton
          to={PROVISION_TENANT_PATH}
          color="primary"
          variant="contained"
        >
          Provision a tenant
        </LinkButton>
      </ContentHeader>
      <TenantsList />
    </>
  );
}

function TenantsList() {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const entityRoute = useRouteRef(entityRouteRef);
  const { value, loading, error } = useTenants();
  // material-table keeps row state by `id`; a tenant is unique by cluster and code.
  const rows = useMemo(
    () => (value ?? []).map(x => ({ ...x, id: `${x.cluster}/${x.code}` })),
    [value],
  );

  if (loading) {
    return <Progress />;
  }
  if (error || !value) {
    return <ResponseErrorPanel error={error ?? new Error('No data')} />;
  }
  if (!value.length) {
    return (
      <EmptyState
        missing="data"
        title={t('tenants.emptyTitle')}
        description={t('tenants.emptyDescription')}
      />
    );
  }

  const historyLink = (tenant: Tenant) =>
    tenant.entityRef
      ? `${entityRoute(entityRouteParams(tenant.entityRef))}/deployment-history`
      : undefined;

  const columns: TableColumn<Tenant & { id: string }>[] = [
    {
      title: t('tenants.columns.code'),
      field: 'code',
      render: tenant => {
        const to = historyLink(tenant);
        // A hidden character of a display name (stored before the backend refused them) as its
        // marker: a U+202E would reverse the code shown after it.
        const label = tenant.displayName
          ? `${withMarkers(tenant.displayName)} (${tenant.code})`
          : tenant.code;
        return to ? (
          <Link to={to} title={t('tenants.history')}>
            {label}
          </Link>
        ) : (
          label
        );
      },
    },
    {
      title: t('tenants.columns.status'),
      render: tenant => (
        <RunStatus
          status={tenant.status ?? tenant.lastRunStatus ?? 'unknown'}
        />
      ),
    },
    {
      title: t('tenants.columns.health'),
      render: tenant => (
        <TenantHealthCell tenant={tenant.code} cluster={tenant.cluster} />
      ),
    },
    {
      title: t('tenants.columns.owner'),
      render: tenant =>
        tenant.owner ? (
          <EntityRefLink entityRef={tenant.owner} defaultKind="group" />
        ) : (
          '–'
        ),
    },
    {
      title: t('tenants.columns.entity'),
      render: tenant =>
        tenant.entityRef ? <EntityRefLink entityRef={tenant.entityRef} /> : '–',
    },
    {
      title: t('tenants.columns.namespace'),
      render: tenant => `${tenant.cluster}/${tenant.namespace}`,
    },
    {
      title: t('tenants.columns.releases'),
      render: tenant => tenant.releases.join(', ') || '–',
    },
    {
      title: t('tenants.columns.created'),
      render: tenant => formatTimestamp(tenant.createdAt),
    },
  ];

  return (
    <Table<Tenant & { id: string }>
      title={t('tenants.title')}
      columns={columns}
      data={rows}
      options={{ paging: value.length > 20, pageSize: 20, padding: 'dense' }}
    />
  );
}
