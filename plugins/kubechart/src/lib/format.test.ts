import {
  formatDuration,
  relativeTime,
  runDurationMs,
  shortActor,
} from './format';
import { makeRun } from '../testUtils/fixtures';

describe('format', () => {
  it.each([
    [undefined, '–'],
    [850, '850 ms'],
    [5_000, '5s'],
    [125_000, '2m 5s'],
    [3_720_000, '1h 2m'],
  ])('formats the duration %s as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('measures a running run up to now', () => {
    const run = makeRun({
      durationMs: undefined,
      finishedAt: undefined,
      startedAt: '2026-01-02T10:00:00Z',
    });
    expect(runDurationMs(run, Date.parse('2026-01-02T10:00:30Z'))).toBe(30_000);
    expect(runDurationMs({ ...run, startedAt: undefined })).toBeUndefined();
  });

  it('shortens user refs', () => {
    expect(shortActor('user:default/alice')).toBe('alice');
    expect(shortActor('service:scaffolder')).toBe('service:scaffolder');
  });

  it('says how far a time lies before or after now', () => {
    const now = Date.parse('2026-01-02T10:00:00Z');
    expect(relativeTime('2026-01-02T12:30:00Z', now)).toEqual({
      age: '2h 30m',
      past: false,
    });
    expect(relativeTime('2026-01-02T09:59:15Z', now)).toEqual({
      age: '45s',
      past: true,
    });
    expect(relativeTime('2026-01-05T13:00:00Z', now)).toEqual({
      age: '3d 3h',
      past: false,
    });
    expect(relativeTime('not a date', now)).toBeUndefined();
    expect(relativeTime(undefined, now)).toBeUndefined();
  });
});
