import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import type { DriftObject } from '@kubechart/plugin-kubechart-common';
import { DriftFieldsTable } from './DriftFieldsTable';

/**
 * the drift table shows the live value (anyone with write access to the object sets it)
 * and the field manager (any string a client names with --field-manager) with their hidden
 * characters as markers: otherwise a changed value reads as the applied one, and a reversed
 * manager name reads as another manager.
 */
describe('DriftFieldsTable', () => {
  const objects: DriftObject[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      state: 'changed',
      fields: [
        {
          path: 'spec.template.spec.containers[name=web].env[name=FEATURE_AUTH]',
          expected: 'true',
          actual: 'true\u200B',
          // Reads "kubechart" on screen.
          manager: '\u202Etrahcebuk',
          changedAt: '2026-12-03T09:02:00Z',
        },
      ],
    },
  ];

  it('marks a zero-width space in the live value', async () => {
    await renderInTestApp(<DriftFieldsTable objects={objects} />);
    const cells = screen.getAllByRole('cell').map(c => c.textContent);
    // applied "true", live "true" + marker: the two must not read the same.
    expect(cells).toContain('true⟨U+200B⟩');
  });

  it('marks a direction override in the field manager', async () => {
    await renderInTestApp(<DriftFieldsTable objects={objects} />);
    const cells = screen.getAllByRole('cell').map(c => c.textContent ?? '');
    expect(cells.some(c => c.includes('⟨U+202E⟩trahcebuk'))).toBe(true);
  });
});

describe('DriftFieldsTable hidden-character note', () => {
  it('says how many hidden characters the table holds', async () => {
    await renderInTestApp(
      <DriftFieldsTable
        objects={[
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: 'shop',
            name: 'cfg',
            state: 'changed',
            fields: [
              {
                path: 'data.mode',
                expected: 'on',
                actual: 'on\u200B',
                manager: '\u202Etrahcebuk',
              },
            ],
          },
        ]}
      />,
    );
    expect(screen.getByRole('note').textContent).toContain(
      '2 invisible or direction-changing characters',
    );
  });

  it('marks the manager of a field another manager added', async () => {
    await renderInTestApp(
      <DriftFieldsTable
        objects={[
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: 'shop',
            name: 'cfg',
            state: 'changed',
            fields: [
              { path: 'data.extra', added: true, manager: '\u202Etrahcebuk' },
            ],
          },
        ]}
      />,
    );
    const cells = screen.getAllByRole('cell').map(c => c.textContent ?? '');
    expect(cells.filter(c => c.includes('⟨U+202E⟩trahcebuk'))).toHaveLength(2);
  });
});
