import { VisibleText } from './visibleText';

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * A time as the browser's clock reads it, with that clock's offset from UTC, so no reader takes it
 * for another zone's: `2026-11-21 15:30:00 UTC+05:30`, `… UTC` at UTC. The offset is the one in
 * force at that time (summer time included). A value that is not a time is shown as it is.
 */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (isNaN(date.getTime())) return iso;
  // Minutes east of UTC; the local clock's fields are the UTC fields of the shifted instant.
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000);
  const abs = Math.abs(offset);
  const zone = offset
    ? `UTC${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(
        abs % 60,
      )}`
    : 'UTC';
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(
    local.getUTCDate(),
  )} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(
    local.getUTCSeconds(),
  )} ${zone}`;
}

/** A recorded time as {@link formatTime} shows it, with the exact UTC time on hover. */
export function EventTime(props: { iso: string }) {
  const { iso } = props;
  const date = new Date(iso);
  if (isNaN(date.getTime())) return <VisibleText text={iso} />;
  const exact = date.toISOString();
  return (
    <time dateTime={exact} title={exact}>
      {formatTime(iso)}
    </time>
  );
}
