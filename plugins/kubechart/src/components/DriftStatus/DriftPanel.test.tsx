import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import {
  entityDriftSignalChannel,
  RunDrift,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import { formatTimestamp } from '../../lib/format';
import { makeRun, mockKubechartApi } from '../../testUtils/fixtures';
import { FakeSignalApi } from '../../testUtils/fakeSignalApi';
import { DriftPanel } from './DriftPanel';
import { EntityDriftStatusLine } from './EntityDriftStatusLine';

const ENTITY = 'component:default/shop';

const drifted: RunDrift = {
  runId: 'run-1',
  target: { cluster: 'dev', namespace: 'shop', release: 'web' },
  entityRef: ENTITY,
  status: 'drifted',
  since: '2026-01-02T10:00:00Z',
  checkedAt: '2026-01-02T10:05:00Z',
  objects: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      state: 'changed',
      fields: [
        {
          path: 'spec.replicas',
          expected: 2,
          actual: 5,
          manager: 'kubectl',
          changedAt: '2026-01-02T10:00:00Z',
        },
        {
          path: 'spec.template.spec.containers[name=web].env[name=MODE].value',
          expected: 'blue',
          actual: 'green',
          manager: 'kubectl-set',
        },
      ],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'shop',
      name: 'settings',
      state: 'missing',
      fields: [],
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      namespace: 'shop',
      name: 'web',
      state: 'changed',
      fields: [
        {
          path: 'spec.type',
          expected: 'ClusterIP',
          actual: 'NodePort',
          manager: 'kubectl-edit',
        },
      ],
    },
  ],
};
const inSync: RunDrift = {
  ...drifted,
  status: 'in-sync',
  objects: [],
  since: '2026-01-02T11:00:00Z',
};

async function renderPanel(
  api: ReturnType<typeof mockKubechartApi>,
  signals = new FakeSignalApi(),
) {
  const onRunStarted = jest.fn();
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [kubechartApiRef, api],
        [signalApiRef, signals],
      ]}
    >
      <DriftPanel entityRef={ENTITY} onRunStarted={onRunStarted} />
      <EntityDriftStatusLine entityRef={ENTITY} />
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
  return { onRunStarted, signals };
}

describe('DriftPanel', () => {
  it('shows the drifted objects since when, the field-level diff and who changed each field', async () => {
    const api = mockKubechartApi();
    api.listDrift.mockResolvedValue([drifted]);
    api.getRun.mockResolvedValue(makeRun({ id: 'run-1' }));
    await renderPanel(api);
    const badge = `Drifted (3 objects) since ${formatTimestamp(drifted.since)}`;
    // Once on the tab, once on the health card line.
    expect(await screen.findAllByText(badge)).toHaveLength(2);
    expect(api.listDrift).toHaveBeenCalledWith({ entityRef: ENTITY });
    const table = screen.getByRole('table', {
      name: 'Drift from the last run',
    });
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map(r =>
        within(r)
          .getAllByRole('cell')
          .map(c => c.textContent),
      );
    expect(rows).toEqual([
      [
        'Deployment shop/web',
        'spec.replicas',
        '2',
        '5',
        `kubectl (${formatTimestamp('2026-01-02T10:00:00Z')})`,
      ],
      [
        'Deployment shop/web',
        'spec.template.spec.containers[name=web].env[name=MODE].value',
        'blue',
        'green',
        'kubectl-set',
      ],
      ['ConfigMap shop/settings', 'object missing'],
      [
        'Service shop/web',
        'spec.type',
        'ClusterIP',
        'NodePort',
        'kubectl-edit',
      ],
    ]);
  });

  it('re-applies the last run after confirmation and opens the new run', async () => {
    const api = mockKubechartApi();
    api.listDrift.mockResolvedValue([drifted]);
    api.getRun.mockResolvedValue(makeRun({ id: 'run-1' }));
    api.reapplyRun.mockResolvedValue({ id: 'run-9', status: 'pending' });
    const { onRunStarted } = await renderPanel(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Re-apply last run' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Re-apply run run-1?')).toBeInTheDocument();
    expect(
      within(dialog).getByText(
        /Helm release web in namespace shop on cluster dev will be rolled back/,
      ),
    ).toBeInTheDocument();
    expect(api.reapplyRun).not.toHaveBeenCalled();
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Re-apply' }),
    );
    await waitFor(() => expect(onRunStarted).toHaveBeenCalledWith('run-9'));
    expect(api.reapplyRun).toHaveBeenCalledWith('run-1');
  });

  it('asks which release of a tenant run with several to re-apply, and sends that one', async () => {
    const api = mockKubechartApi();
    const tenantDrift: RunDrift = {
      ...drifted,
      runId: 'run-t',
      target: { cluster: 'dev', namespace: 'tenant-acme' },
    };
    api.listDrift.mockResolvedValue([tenantDrift]);
    api.getRun.mockResolvedValue(
      makeRun({
        id: 'run-t',
        kind: 'tenant',
        target: { cluster: 'dev', namespace: 'tenant-acme' },
        input: {
          kind: 'tenant',
          cluster: 'dev',
          tenant: { code: 'acme' },
          releases: [
            { name: 'web', chart: 'kubechart-service' },
            { name: 'worker', chart: 'kubechart-worker' },
          ],
        },
      }),
    );
    api.reapplyRun.mockResolvedValue({ id: 'run-10', status: 'pending' });
    const { onRunStarted } = await renderPanel(api);
    await userEvent.click(
      await screen.findByRole('button', { name: 'Re-apply last run' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText(
        /Helm release web in namespace tenant-acme on cluster dev will be rolled back/,
      ),
    ).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole('button', { name: /web/ }));
    await userEvent.click(
      await screen.findByRole('option', { name: 'worker' }),
    );
    expect(
      within(dialog).getByText(
        /Helm release worker in namespace tenant-acme on cluster dev will be rolled back/,
      ),
    ).toBeInTheDocument();
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Re-apply' }),
    );
    await waitFor(() => expect(onRunStarted).toHaveBeenCalledWith('run-10'));
    expect(api.reapplyRun).toHaveBeenCalledWith('run-t', { release: 'worker' });
  });

  it('says in sync, and follows the drift signal', async () => {
    const api = mockKubechartApi();
    api.listDrift.mockResolvedValue([inSync]);
    const { signals } = await renderPanel(api);
    expect(await screen.findAllByText('In sync')).toHaveLength(2);
    expect(
      screen.queryByRole('button', { name: 'Re-apply last run' }),
    ).not.toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();

    api.listDrift.mockResolvedValue([drifted]);
    api.getRun.mockResolvedValue(makeRun({ id: 'run-1' }));
    await act(async () => {
      // The entity's channel says only that its drift changed: the panel reads it again.
      signals.publish(entityDriftSignalChannel(ENTITY), { type: 'refetch' });
    });
    expect(
      await screen.findAllByText(
        `Drifted (3 objects) since ${formatTimestamp(drifted.since)}`,
      ),
    ).toHaveLength(2);
  });

  it('never shows a record with fields it could not compare as plainly in sync, and labels what an action reported', async () => {
    const api = mockKubechartApi();
    const message =
      'in sync except 2 fields that hold secrets, which drift cannot compare (history stores them redacted): Secret/web-db stringData.password, Secret/web-db stringData.token';
    api.listDrift.mockResolvedValue([
      {
        ...inSync,
        notCompared: [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            namespace: 'shop',
            name: 'web-db',
            count: 2,
            fields: ['stringData.password', 'stringData.token'],
          },
        ],
        message,
      },
      {
        ...inSync,
        runId: 'run-2',
        target: { cluster: 'dev', namespace: 'shop' },
        reportedByAction: 'acme:cache:create',
      },
    ]);
    await renderPanel(api);
    // The tab and the health card line say so; neither says only "In sync".
    expect(
      await screen.findAllByText(
        'In sync, except 2 fields that hold secrets (not compared)',
      ),
    ).toHaveLength(2);
    const first = screen.getByTestId('drift-run-1');
    expect(within(first).getByText(message)).toBeInTheDocument();
    const second = screen.getByTestId('drift-run-2');
    expect(within(second).getByText('In sync')).toBeInTheDocument();
    expect(
      within(second).getByText(
        'as reported by action acme:cache:create (kubechart did not apply it)',
      ),
    ).toBeInTheDocument();
    expect(
      within(first).queryByText(/as reported by action/),
    ).not.toBeInTheDocument();
  });

  it('shows why drift is unknown, and the error when drift cannot be read', async () => {
    const api = mockKubechartApi();
    api.listDrift.mockResolvedValue([
      {
        ...inSync,
        status: 'unknown',
        message: 'cluster dev is not configured',
      },
    ]);
    await renderPanel(api);
    expect(
      await screen.findAllByText(
        'Drift unknown: cluster dev is not configured',
      ),
    ).toHaveLength(2);

    const failing = mockKubechartApi();
    failing.listDrift.mockRejectedValue(new Error('drift store down'));
    await renderPanel(failing);
    expect(
      await screen.findByText('Error: drift store down', { selector: 'h6' }),
    ).toBeInTheDocument();
  });
});
