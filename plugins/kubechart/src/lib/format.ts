import type { Run } from '@kubechart/plugin-kubechart-common';

/** `1h 2m`, `3m 4s`, `5s` or `850 ms`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || ms < 0) {
    return '–';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) {
    return `${h}h ${m}m`;
  }
  return m ? `${m}m ${s}s` : `${s}s`;
}

/** Duration of a run: recorded, or elapsed so far while it runs. */
export function runDurationMs(
  run: Run,
  now: number = Date.now(),
): number | undefined {
  if (run.durationMs !== undefined) {
    return run.durationMs;
  }
  if (!run.startedAt) {
    return undefined;
  }
  const end = run.finishedAt ? new Date(run.finishedAt).getTime() : now;
  return end - new Date(run.startedAt).getTime();
}

/** Local date and time, e.g. `2026-01-02 13:04:05`. */
export function formatTimestamp(iso: string | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(
    d.getHours(),
  )}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `cluster / namespace / release` */
export function formatTarget(run: Run): string {
  const { cluster, namespace, release } = run.target;
  return [cluster, namespace, release].filter(Boolean).join(' / ');
}

/** A user entity ref without the `user:default/` noise. */
export function shortActor(actor: string): string {
  return actor.replace(/^user:(default\/)?/, '');
}

/** A coarse age for relative times: `2d 3h`, `1h 2m`, `3m 4s`, `5s`. */
export function formatAge(ms: number): string {
  const abs = Math.abs(ms);
  const days = Math.floor(abs / 86_400_000);
  if (days) {
    return `${days}d ${Math.floor((abs % 86_400_000) / 3_600_000)}h`;
  }
  return formatDuration(Math.max(1000, Math.round(abs / 1000) * 1000));
}

/**
 * Where an ISO timestamp lies from `now`: its distance as {@link formatAge} and whether it is
 * past. Undefined for a missing or invalid timestamp.
 */
export function relativeTime(
  iso: string | undefined,
  now: number,
): { age: string; past: boolean } | undefined {
  const at = iso ? new Date(iso).getTime() : NaN;
  if (isNaN(at)) {
    return undefined;
  }
  return { age: formatAge(now - at), past: at <= now };
}
