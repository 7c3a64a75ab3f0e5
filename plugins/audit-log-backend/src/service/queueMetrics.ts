import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import type { AuditEventQueue } from '@kubechart/plugin-audit-log-node';

/**
 * The audit queue's operations metrics, through Backstage's metrics service (OpenTelemetry
 * meters), read from the queue when they are collected:
 *
 * - `audit_log.queue.depth`: events buffered, not yet written;
 * - `audit_log.events.written` / `audit_log.events.dropped`: events stored in the chain, and
 *   events dropped (each drop is marked by a gap record in the chain);
 * - `audit_log.writes.failed`: batch writes that failed and were retried.
 *
 * The queue is a root service shared by every plugin's auditor, so it keeps its own tallies (they
 * also decide its gap records); this plugin, which drains it, exports them.
 */
export function observeAuditQueue(
  metrics: MetricsService,
  queue: AuditEventQueue,
): void {
  metrics
    .createObservableGauge('audit_log.queue.depth', {
      description: 'Audit events buffered and not yet written to the chain',
    })
    .addCallback(r => r.observe(queue.stats().buffered));
  metrics
    .createObservableCounter('audit_log.events.written', {
      description: 'Audit events written to the chain',
    })
    .addCallback(r => r.observe(queue.stats().written));
  metrics
    .createObservableCounter('audit_log.events.dropped', {
      description:
        'Audit events dropped (queue full or writes failing too long); a gap record marks them',
    })
    .addCallback(r => r.observe(queue.stats().dropped));
  metrics
    .createObservableCounter('audit_log.writes.failed', {
      description: 'Batch writes of audit events that failed and were retried',
    })
    .addCallback(r => r.observe(queue.stats().failedWrites));
}
