import { LoggerService } from '@backstage/backend-plugin-api';
import {
  PlanAnswer,
  planAnswerSchema,
} from '@kubechart/plugin-assistant-common';
import {
  AssistantProvider,
  AssistantQuestionContext,
  isPlanRefusal,
} from '@kubechart/plugin-assistant-node';
import { scrubText } from '../redaction/redact';
import { withDeadline } from '@kubechart/plugin-audit-log-common';

/** A provider and how long it may take. */
export type ProviderEntry = { provider: AssistantProvider; timeoutMs: number };

/** What happened when one provider was asked. */
export type ProviderAttempt = {
  provider: string;
  outcome: 'answered' | 'timeout' | 'error' | 'invalid' | 'refused';
  latencyMs: number;
  error?: string;
};

/**
 * Checks a plan beyond its schema, e.g. that its cluster exists: a problem it returns skips the
 * provider (the next one is asked); a `PlanRefusal` it throws refuses the question for good, as a
 * provider's own refusal does.
 */
export type PlanCheck = (
  answer: PlanAnswer,
) => string | undefined | Promise<string | undefined>;

export class NoPlanError extends Error {
  constructor(readonly attempts: ProviderAttempt[]) {
    super(
      `No provider could turn the question into a command (${attempts
        .map(a => `${a.provider}: ${a.error ?? a.outcome}`)
        .join('; ')})`,
    );
    this.name = 'NoPlanError';
  }
}

/** A provider refused the question for good; the message says why. */
export class PlanRefusedError extends Error {
  constructor(message: string, readonly attempts: ProviderAttempt[]) {
    super(message);
    this.name = 'PlanRefusedError';
  }
}

class TimeoutError extends Error {}

/**
 * Asks providers in order until one answers with a valid plan. A provider
 * that times out, throws, or answers with something that is not a valid
 * plan is skipped. Nothing a provider says about safety is kept: only the
 * schema-checked plan and the explanation survive.
 */
export class ProviderChain {
  constructor(
    private readonly entries: ProviderEntry[],
    private readonly logger: LoggerService,
  ) {}

  ids(): string[] {
    return this.entries.map(e => e.provider.id);
  }

  async plan(
    question: string,
    context: AssistantQuestionContext,
    check: PlanCheck = () => undefined,
  ): Promise<{
    answer: PlanAnswer;
    provider: string;
    attempts: ProviderAttempt[];
  }> {
    const attempts: ProviderAttempt[] = [];
    for (const { provider, timeoutMs } of this.entries) {
      const start = performance.now();
      const controller = new AbortController();
      const attempt = (outcome: ProviderAttempt['outcome'], error?: string) => {
        const entry: ProviderAttempt = {
          provider: provider.id,
          outcome,
          latencyMs: Math.round((performance.now() - start) * 1000) / 1000,
          ...(error ? { error } : {}),
        };
        attempts.push(entry);
        return entry;
      };
      try {
        const raw = await withDeadline(
          provider.plan(question, context, { signal: controller.signal }),
          timeoutMs,
          () => {
            const error = new TimeoutError(`timed out after ${timeoutMs} ms`);
            controller.abort(error);
            throw error;
          },
        );
        const parsed = planAnswerSchema.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          attempt(
            'invalid',
            `not a valid plan: ${issue.path.join('.')} ${issue.message}`.trim(),
          );
          continue;
        }
        const problem = await check(parsed.data);
        if (problem) {
          attempt('invalid', problem);
          continue;
        }
        attempt('answered');
        return { answer: parsed.data, provider: provider.id, attempts };
      } catch (error) {
        // fetch puts a URL with credentials (`http://user:pass@proxy`) in its error; an endpoint's
        // error body may echo a key: the message goes to the log and the audit trail.
        const message = scrubText(
          error instanceof Error ? error.message : String(error),
        );
        if (isPlanRefusal(error)) {
          // Fail closed: a provider that understood enough to refuse is not
          // overruled by the next one.
          attempt('refused', message);
          throw new PlanRefusedError(message, attempts);
        }
        const a = attempt(
          error instanceof TimeoutError ? 'timeout' : 'error',
          message,
        );
        if (a.outcome !== 'error' || provider.id !== 'builtin') {
          this.logger.warn(
            `kube-assistant provider ${provider.id} failed: ${message}`,
          );
        }
      } finally {
        controller.abort();
      }
    }
    throw new NoPlanError(attempts);
  }
}
