import { renderInTestApp } from '@backstage/test-utils';
import { AuditVerifyResult } from '@kubechart/plugin-audit-log-common';
import { screen } from '@testing-library/react';
import { VerifyResultPanel } from './VerifyResultPanel';

const failed = (overrides: Partial<AuditVerifyResult>): AuditVerifyResult => ({
  ok: false,
  keyed: false,
  checked: 10,
  firstSeq: 1,
  lastSeq: 10,
  headSeq: 10,
  verifiedAt: '2026-11-21T10:00:00.000Z',
  ...overrides,
});

// The browser's clock, fixed for these tests: one hour east of UTC.
beforeEach(() =>
  jest.spyOn(Date.prototype, 'getTimezoneOffset').mockReturnValue(-60),
);
afterEach(() => jest.restoreAllMocks());

describe('VerifyResultPanel', () => {
  it('says where a hash link is broken', async () => {
    await renderInTestApp(
      <VerifyResultPanel
        result={failed({
          failedSeq: 7,
          reason:
            'Event 7 was altered: its content does not match its stored hash',
        })}
      />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent(
      'Chain broken at event #7: Event 7 was altered: its content does not match its stored hash',
    );
  });

  it('says a head anchor is missing from the witness file, not that the chain is broken, and what to check', async () => {
    const reason =
      'The witness file does not exist, although the chain holds events up to 10 and head anchors are published (the first one is due at most 7 minutes after start-up or after the first event): it was moved aside or emptied, so a tail cut from the database cannot be ruled out (events after 10 may have been removed) until the next anchor is published';
    await renderInTestApp(
      <VerifyResultPanel
        result={failed({ failedSeq: 11, reason, anchorMissing: true })}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).not.toHaveTextContent('Chain broken');
    expect(alert).toHaveTextContent(
      'No head anchor found in the witness file: nothing in the chain is known to be broken',
    );
    expect(alert).toHaveTextContent(reason);
    expect(alert).toHaveTextContent('auditLog.anchor');
    expect(alert).toHaveTextContent('auditLog.retention.checkpoint.file');
    expect(alert).toHaveTextContent('README');
  });

  it('says the tail was cut or rewritten below the newest head anchor, with when it was published', async () => {
    const at = '2026-11-21T09:55:00.000Z';
    await renderInTestApp(
      <VerifyResultPanel
        result={failed({
          failedSeq: 11,
          reason: `The chain ends at 10 but an anchor published at ${at} recorded event 15 with hash ${'e'.repeat(
            64,
          )}: events 11–15 were removed from the database (the tail was cut), or the database was restored from an older backup`,
          anchor: { seq: 15, at },
          anchorMismatch: { seq: 15, at },
        })}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).not.toHaveTextContent('Chain broken');
    expect(alert).toHaveTextContent(
      `The chain no longer holds the head anchor published outside the database on 2026-11-21 10:55:00 UTC+01:00 (event #15): its tail was cut, or events at or below it were rewritten.`,
    );
    expect(alert).toHaveTextContent('events 11–15 were removed');
  });

  it('names the older anchor the chain no longer holds, not the newest one it was checked against', async () => {
    const fifteen = '2026-11-21T09:50:00.000Z';
    const sixteen = '2026-11-21T09:55:00.000Z';
    await renderInTestApp(
      <VerifyResultPanel
        result={failed({
          headSeq: 16,
          lastSeq: 16,
          checked: 16,
          failedSeq: 15,
          reason: `Event 15 has another hash than an anchor published at ${fifteen} recorded (${'e'.repeat(
            64,
          )}): it, or an event before it, was rewritten, or the tail was cut below it and the chain grew again`,
          anchor: { seq: 16, at: sixteen },
          anchorMismatch: { seq: 15, at: fifteen },
        })}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).not.toHaveTextContent('Chain broken');
    expect(alert).toHaveTextContent(
      `head anchor published outside the database on 2026-11-21 10:50:00 UTC+01:00 (event #15)`,
    );
    expect(alert).not.toHaveTextContent('10:55:00');
  });

  it('keeps the prune note on a failure', async () => {
    const at = '2026-11-21T09:55:00.000Z';
    await renderInTestApp(
      <VerifyResultPanel
        result={failed({
          failedSeq: 30,
          reason: 'Event 30 is missing, although an anchor recorded it',
          pruned: {
            throughSeq: 20,
            hash: 'c'.repeat(64),
            prunedAt: '2026-11-20T00:00:00.000Z',
          },
          anchor: { seq: 30, at },
          anchorMismatch: { seq: 30, at },
        })}
      />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent(
      'Events up to #20 were pruned by retention',
    );
  });
});
