import { scrubText } from '../redaction/redact';

/** Characters of an answer's text told at most (a proxy's error page can be long). */
export const MAX_ANSWER_TEXT = 300;

/**
 * Characters of a Status's `message` told at most: longer than an answer's text, since the API
 * server's own messages (an invalid object's causes, an admission webhook's denial) can be long.
 */
export const MAX_STATUS_MESSAGE = 1000;

/** `text` cut at `max` characters (` …` then), with secret values hidden. */
function bounded(text: string, max: number): string {
  // Cut before it is scrubbed: a value the cut leaves open is hidden to the end (fail closed).
  const cut = text.length > max;
  return `${scrubText(text.slice(0, max))}${cut ? ' …' : ''}`;
}

/**
 * The `message` of a Kubernetes Status (`kind: Status`) the cluster answered with (its body, as an
 * object or as the JSON text of one), cut at {@link MAX_STATUS_MESSAGE} characters, secret values
 * hidden; undefined for any other answer (JSON of another shape, a proxy's `{"message": …}`
 * among them, is told as text by {@link answerText}).
 */
export function statusMessageOf(body: unknown): string | undefined {
  let status = body;
  if (typeof status === 'string') {
    try {
      status = JSON.parse(status);
    } catch {
      return undefined;
    }
  }
  if (
    !status ||
    typeof status !== 'object' ||
    (status as { kind?: unknown }).kind !== 'Status'
  ) {
    return undefined;
  }
  const message = (status as { message?: unknown }).message;
  return typeof message === 'string' && message.trim()
    ? bounded(message, MAX_STATUS_MESSAGE)
    : undefined;
}

/**
 * The text of an answer of the cluster that is not a Status with a `message` (a proxy's error page,
 * JSON of another shape), as the user and the audit trail are told it: its blanks collapsed, cut
 * at {@link MAX_ANSWER_TEXT} characters, secret values hidden; '' when it has none. Never the
 * answer's headers: client-node's error message holds them all (`HTTP-Code: … Headers: {…}`), a
 * proxy's cookies among them.
 */
export function answerText(body: unknown): string {
  let text = '';
  if (typeof body === 'string') text = body;
  else if (
    body &&
    typeof body === 'object' &&
    Object.getPrototypeOf(body) === Object.prototype
  ) {
    text = JSON.stringify(body);
  }
  return bounded(text.replace(/\s+/g, ' ').trim(), MAX_ANSWER_TEXT);
}

/**
 * What the cluster answered, for an error of client-node that carries the answer (`code`, `body`):
 * a Status's `message`, else the HTTP status and the answer's text ({@link answerText}); undefined
 * for an error that is no answer of the cluster (the connection failed).
 */
export function clusterAnswerOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; body?: unknown } | undefined;
  const message = statusMessageOf(e?.body);
  if (message) return message;
  if (typeof e?.code !== 'number') return undefined;
  const text = answerText(e.body);
  return text ? `HTTP ${e.code}: ${text}` : `HTTP ${e.code} with no message`;
}
