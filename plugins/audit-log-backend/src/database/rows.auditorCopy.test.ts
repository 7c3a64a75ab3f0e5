import { mockServices } from '@backstage/backend-test-utils';
import {
  AuditEventInput,
  redactText,
} from '@kubechart/plugin-audit-log-common';
import {
  AuditEventQueue,
  AuditLogAuditorService,
  META_LIMITS,
  REDACTED,
} from '@kubechart/plugin-audit-log-node';
import { inputToRow } from './rows';

jest.mock('@kubechart/plugin-audit-log-common', () => {
  const actual = jest.requireActual('@kubechart/plugin-audit-log-common');
  return { ...actual, redactText: jest.fn(actual.redactText) };
});

type JsonObject = NonNullable<AuditEventInput['meta']>;

const redact = jest.mocked(redactText);

/** Characters given to the free-text rules since the last `mockClear`. */
function redactedChars(): number {
  return redact.mock.calls.reduce((sum, [text]) => sum + text.length, 0);
}

/** An auditor whose events are collected, as the store's append receives them. */
function auditorCollecting(events: AuditEventInput[]) {
  const queue = new AuditEventQueue({ logger: mockServices.logger.mock() });
  queue.attachSink(async batch => {
    events.push(...batch);
  });
  const auditor = new AuditLogAuditorService({
    pluginId: 'scaffolder',
    auth: mockServices.auth(),
    httpAuth: mockServices.httpAuth(),
    logger: mockServices.logger.mock(),
    config: mockServices.rootConfig(),
    queue,
  });
  return { auditor, queue };
}

describe('inputToRow of the metadata the auditor redacted', () => {
  it('stores the auditor’s copy as it is, without running the rules on it again', async () => {
    const events: AuditEventInput[] = [];
    const { auditor, queue } = auditorCollecting(events);
    const event = await auditor.createEvent({
      eventId: 'task',
      meta: { actionType: 'dry-run', note: 'password: hunter2' },
    });
    await event.success({
      meta: { parameters: { 'postgres://app:s3cr3t@db/x': 'token=abc' } },
    });
    await queue.drain();
    expect(events).toHaveLength(2);
    redact.mockClear();
    const rows = events.map(e => inputToRow(e, 1));
    expect(redact).not.toHaveBeenCalled();
    for (const row of rows) {
      expect(row.meta).not.toMatch(/hunter2|s3cr3t|abc/);
    }
    expect(JSON.parse(rows[1].meta!)).toEqual(events[1].meta);
    // the copy cannot have been changed since: it is read-only, at every depth
    expect(() => {
      (events[1].meta as any).note = 'password: hunter2';
    }).toThrow();
    expect(() => {
      (events[1].meta as any).parameters.extra = 'password: hunter2';
    }).toThrow();
  });

  it('redacts the metadata of any other writer, a copy of the auditor’s too', async () => {
    const events: AuditEventInput[] = [];
    const { auditor, queue } = auditorCollecting(events);
    const event = await auditor.createEvent({
      eventId: 'task',
      meta: { actionType: 'dry-run' },
    });
    await event.success();
    await queue.drain();
    const audited = events[1].meta as JsonObject;
    for (const meta of [
      { ...audited, note: 'postgres://app:hunter2@db/x', token: 'abc' },
      { ...structuredClone(audited), note: 'password: hunter2', token: 'abc' },
    ]) {
      redact.mockClear();
      const row = inputToRow({ ...events[1], meta }, 1);
      expect(redact).toHaveBeenCalled();
      expect(row.meta).not.toMatch(/hunter2/);
      expect(JSON.parse(row.meta!).token).toBe(REDACTED);
    }
  });

  it('runs the rules on no more than the string budget for a request with 5000 long keys in its outcome, auditor and store together', async () => {
    const events: AuditEventInput[] = [];
    const { auditor, queue } = auditorCollecting(events);
    // what the scaffolder's dry-run records: the parameters of the template in the request body
    const parameters = Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => [
        `${i} --token s3cr3t${i} ${'a: --token '.repeat(22)}`.slice(0, 256),
        1,
      ]),
    );
    redact.mockClear();
    const event = await auditor.createEvent({
      eventId: 'task',
      severityLevel: 'medium',
      meta: { actionType: 'dry-run' },
    });
    await event.success({
      meta: { templateRef: 'template:default/x', parameters },
    });
    await queue.drain();
    const rows = events.map(e => inputToRow(e, 1));
    expect(redactedChars()).toBeLessThanOrEqual(
      META_LIMITS.maxTotalStringLength,
    );
    const kept = Object.keys(
      (events[1].meta as { parameters: JsonObject }).parameters,
    );
    const notShown = kept.filter(key =>
      /^\[member \d+: name not shown\]$/.test(key),
    );
    expect(kept.length).toBeGreaterThan(4900); // and what `maxNodes` cut
    expect(notShown.length).toBeGreaterThan(4000);
    expect(JSON.stringify(events[1].meta)).not.toContain('s3cr3t');
    expect(rows[1].meta).not.toContain('s3cr3t');
  });
});
