import { screen, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type { DriftObject } from '@kubechart/plugin-kubechart-common';
import { formatTimestamp } from '../../lib/format';
import { DriftFieldsTable } from './DriftFieldsTable';

const rowsOf = () =>
  within(screen.getByRole('table', { name: 'Drift from the last run' }))
    .getAllByRole('row')
    .slice(1)
    .map(r =>
      within(r)
        .getAllByRole('cell')
        .map(c => c.textContent),
    );

describe('DriftFieldsTable', () => {
  it('shows a field another manager added as set by that manager, its value not shown, and a removed one as absent', async () => {
    const objects: DriftObject[] = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'shop',
        name: 'web',
        state: 'changed',
        fields: [
          {
            path: 'spec.template.spec.containers[name=miner]',
            added: true,
            manager: 'kubectl-edit',
            changedAt: '2026-12-03T09:02:00Z',
          },
          { path: 'spec.template.spec.nodeSelector', expected: { a: 'b' } },
        ],
      },
    ];
    await renderInTestApp(<DriftFieldsTable objects={objects} />);
    expect(rowsOf()).toEqual([
      [
        'Deployment shop/web',
        'spec.template.spec.containers[name=miner]',
        '(not set)',
        'set by kubectl-edit (value not shown)',
        `kubectl-edit (${formatTimestamp('2026-12-03T09:02:00Z')})`,
      ],
      [
        'Deployment shop/web',
        'spec.template.spec.nodeSelector',
        '{"a":"b"}',
        '(absent)',
        'removed',
      ],
    ]);
  });

  it('shows a value too long for the record as its size, in words', async () => {
    const objects: DriftObject[] = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'shop',
        name: 'settings',
        state: 'changed',
        fields: [
          {
            path: 'data.color',
            expected: 'blue',
            actual: { notShown: 'value of 921602 bytes' },
            manager: 'kubectl-edit',
          },
          {
            path: 'data.script',
            expected: { notShown: 'value of 2048 bytes' },
            actual: 'echo hi',
            manager: 'kubectl-edit',
          },
        ],
      },
    ];
    await renderInTestApp(<DriftFieldsTable objects={objects} />);
    expect(rowsOf()).toEqual([
      [
        'ConfigMap shop/settings',
        'data.color',
        'blue',
        '(value of 921602 bytes, not shown)',
        'kubectl-edit',
      ],
      [
        'ConfigMap shop/settings',
        'data.script',
        '(value of 2048 bytes, not shown)',
        'echo hi',
        'kubectl-edit',
      ],
    ]);
  });
  it('shows an object being deleted with when it was marked and the finalizers that hold it', async () => {
    const objects: DriftObject[] = [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: 'shop',
        name: 'data',
        state: 'deleting',
        fields: [],
        deletion: {
          timestamp: '2026-12-02T15:51:52Z',
          finalizers: ['kubernetes.io/pvc-protection'],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: 'shop',
        name: 'job-runner',
        state: 'deleting',
        fields: [],
        deletion: { timestamp: '2026-12-02T15:52:22Z', finalizers: [] },
      },
    ];
    await renderInTestApp(<DriftFieldsTable objects={objects} />);
    expect(rowsOf()).toEqual([
      [
        'PersistentVolumeClaim shop/data',
        `being deleted (marked for deletion at ${formatTimestamp(
          '2026-12-02T15:51:52Z',
        )}), held by finalizers: kubernetes.io/pvc-protection`,
      ],
      [
        'Pod shop/job-runner',
        `being deleted (marked for deletion at ${formatTimestamp(
          '2026-12-02T15:52:22Z',
        )}), gone once its grace period ends`,
      ],
    ]);
  });
});
