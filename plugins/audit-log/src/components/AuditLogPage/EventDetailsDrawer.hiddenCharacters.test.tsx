import { renderInTestApp } from '@backstage/test-utils';
import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import { screen } from '@testing-library/react';
import { EventDetailsDrawer } from './EventDetailsDrawer';

/**
 * the audit drawer shows a run's failure reason (text the cluster wrote: an admission
 * webhook's refusal, helm output) and the event's meta with their hidden characters made visible,
 * as the deployment-history page does for the same failure reason: an auditor reads what was
 * recorded, not a reordered or shortened version of it.
 */
const event = {
  seq: 42,
  plugin: 'kubechart',
  eventId: 'run-finished',
  severity: 'high',
  status: 'failed',
  actor: 'user:default/mallory',
  occurredAt: '2026-12-03T09:02:00.000Z',
  target: { cluster: 'prod', namespace: 'tenant-shop' },
  meta: { runId: 'r-1', outcome: 'failed', note: 'rolled back\u200B' },
  // Reads: 'admission webhook "guard" denied: image allowed' on screen.
  error: 'admission webhook "guard" denied: \u202Edewolla ton egami',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
} as unknown as AuditEvent;

describe('EventDetailsDrawer', () => {
  it('makes a direction override in the recorded error visible', async () => {
    await renderInTestApp(
      <EventDetailsDrawer event={event} onClose={() => {}} />,
    );
    const error = screen.getByLabelText('Error');
    expect(error.textContent).not.toContain('\u202E');
    expect(error.textContent).toMatch(/U\+202E/);
  });

  it('makes a zero-width space in the meta visible', async () => {
    await renderInTestApp(
      <EventDetailsDrawer event={event} onClose={() => {}} />,
    );
    const meta = screen.getByLabelText('Meta');
    expect(meta.textContent).toMatch(/U\+200B/);
  });
});

describe('EventDetailsDrawer hidden-character note', () => {
  it('says how many hidden characters the event holds and how they are shown', async () => {
    await renderInTestApp(
      <EventDetailsDrawer event={event} onClose={() => {}} />,
    );
    expect(screen.getByRole('note').textContent).toBe(
      'This event holds 2 invisible or direction-changing characters, shown as ⟨U+…⟩.',
    );
  });
});
