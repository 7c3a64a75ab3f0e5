import { AUDIT_EVENT_SEVERITIES, AuditGapInfo } from './types';

/**
 * The sentence a gap record carries:
 * "12 events dropped between 2026-01-01T10:00:00.000Z and … because queue full (10), …; by severity:
 * low 9, high 3" (the severities when the record counts them; "At least 12 …" when its count is a
 * lower bound, see {@link AuditGapInfo.incomplete}).
 * @public
 */
export function describeGap(gap: AuditGapInfo): string {
  const reasons = Object.entries(gap.reasons)
    .map(([reason, count]) => `${reason} (${count})`)
    .join(', ');
  const noun = gap.dropped === 1 ? 'event' : 'events';
  const count = gap.incomplete ? `At least ${gap.dropped}` : `${gap.dropped}`;
  const severities = AUDIT_EVENT_SEVERITIES.flatMap(severity => {
    const n = gap.bySeverity?.[severity];
    return typeof n === 'number' && n > 0 ? [`${severity} ${n}`] : [];
  });
  const bySeverity = severities.length
    ? `; by severity: ${severities.join(', ')}`
    : '';
  return `${count} ${noun} dropped between ${gap.firstOccurredAt} and ${gap.lastOccurredAt} because ${reasons}${bySeverity}`;
}
