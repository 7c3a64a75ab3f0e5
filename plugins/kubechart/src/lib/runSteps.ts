import type { RunEvent } from '@kubechart/plugin-kubechart-common';

/** The final state of one step of a run. */
export type RunStepState = 'running' | 'succeeded' | 'skipped' | 'failed';

/** One step of a run as a person reads it: its name, final state, last message and duration. */
export type RunStepSummary = {
  name: string;
  state: RunStepState;
  /** The message of the step's last transition (e.g. `3 workload(s) Ready`). */
  message?: string;
  startedAt?: string;
  endedAt?: string;
};

const STATE: Record<NonNullable<RunEvent['stepStatus']>, RunStepState> = {
  started: 'running',
  succeeded: 'succeeded',
  skipped: 'skipped',
  failed: 'failed',
};

/**
 * Folds a run's step events into one entry per step, in the order the steps started, each with
 * the state of its last transition: a step that started and then succeeded is one `succeeded`
 * step, not a spinner row followed by a succeeded row. A step still `running` in a finished run
 * ended with the run, so it takes the run's outcome when the run failed.
 */
export function summariseSteps(
  events: RunEvent[],
  runStatus?: string,
): RunStepSummary[] {
  const steps = new Map<string, RunStepSummary>();
  for (const event of events) {
    if (event.type !== 'step' || !event.step || !event.stepStatus) {
      continue;
    }
    const state = STATE[event.stepStatus];
    const known = steps.get(event.step);
    if (!known) {
      steps.set(event.step, {
        name: event.step,
        state,
        message: event.message || undefined,
        startedAt: event.at,
        endedAt: state === 'running' ? undefined : event.at,
      });
      continue;
    }
    known.state = state;
    if (event.message) {
      known.message = event.message;
    }
    if (state === 'running') {
      known.endedAt = undefined;
    } else {
      known.endedAt = event.at;
    }
  }
  const summaries = [...steps.values()];
  if (runStatus === 'failed') {
    for (const step of summaries) {
      if (step.state === 'running') {
        step.state = 'failed';
      }
    }
  }
  return summaries;
}

/** The lines of a run's log: its log lines and run status changes, without the step transitions. */
export function logLines(events: RunEvent[]): RunEvent[] {
  return events.filter(e => e.type !== 'step');
}

/**
 * Whether `line` is a Node stack frame: `    at fn (/path/file.js:1:2)` or `    at /path/file.js:1:2`
 * (an indented line of the reason that only starts with "at" is kept). Linear in the line's length.
 */
function isNodeFrame(line: string): boolean {
  const frame = /^\s+at (.+)$/.exec(line);
  if (!frame) return false;
  const end = /:\d+:\d+(\)?)$/.exec(frame[1]);
  if (!end) return false;
  return end[1] ? frame[1].includes(' (') : true;
}

/**
 * A failure reason as a person should read it: the message, without the stack frames
 * (`    at fn (/path/file.js:1:2)`) a Node error may carry.
 */
export function withoutStackTrace(text: string): string {
  return text
    .split('\n')
    .filter(line => !isNodeFrame(line))
    .join('\n')
    .trim();
}
