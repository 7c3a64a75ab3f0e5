import { InputError } from '@backstage/errors';

/**
 * helm's own words (helm 3 and 4) for a chart reference it cannot resolve or values the chart
 * refuses: the request is wrong, not the server. Matched against helm's stderr.
 */
const CHART_INPUT_FAILURES: RegExp[] = [
  // A bare chart name that is neither a local directory nor `repo/chart`.
  /non-absolute URLs should be in form of repo_name\/path_to_chart/,
  /\bpath "[^"\n]*" not found/,
  /\brepo \S+ not found/,
  /\bchart "[^"\n]*"(?: version "[^"\n]*")? not found/,
  /unable to detect chart at /,
  /Chart\.yaml file is missing/,
  /no chart (?:name|version) found/,
  // The values the caller gave do not fit the chart.
  /values don't meet the specifications of the schema/,
  /\bexecution error at \(/,
  // The chart's templates cannot render these values (a string where a map is expected, …),
  // or render them into YAML that does not parse.
  // helm 3: `template: <file>:L:C: executing "<file>" at <…>: …`; helm 4 puts the file on a line of its own.
  /^Error: template: /m,
  /\bexecuting "[^"\n]*" at </,
  /\bYAML parse error on /,
];

/**
 * When a failed helm call (a `HelmCommandError`) was caused by the chart reference or the values,
 * returns an `InputError` (HTTP 400) carrying helm's message, with the helm error as its cause;
 * anything else is returned unchanged. Timeouts and unreachable repositories are never input errors.
 * With `render` (a call that renders and applies nothing: `helm template`), helm killed for writing
 * more than the bound of its standard output is one too, naming the bound: the chart renders that
 * much with these values. Of a call that may have applied something it stays a server error.
 */
export function toChartInputError(
  error: unknown,
  options: { render?: boolean } = {},
): unknown {
  if (
    error instanceof Error &&
    error.name === 'HelmCommandError' &&
    !(error as { timedOut?: boolean }).timedOut
  ) {
    const overflow = (
      error as { overflow?: { stream: string; maxBytes: number } }
    ).overflow;
    if (options.render && overflow?.stream === 'stdout') {
      // No cause: its message says the same, and would follow this one.
      return new InputError(
        `The chart rendered more than ${overflow.maxBytes} bytes with these values, the most kubechart reads of what helm template writes: give values that render less`,
      );
    }
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    if (CHART_INPUT_FAILURES.some(p => p.test(stderr))) {
      return new InputError(error.message, error);
    }
  }
  return error;
}
