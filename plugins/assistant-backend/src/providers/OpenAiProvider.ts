import { PlanAnswer } from '@kubechart/plugin-assistant-common';
import {
  AssistantProvider,
  AssistantQuestionContext,
} from '@kubechart/plugin-assistant-node';
import {
  ensureOk,
  modelAnswer,
  modelAnswerJsonSchema,
  readModelResponse,
  systemPrompt,
} from './prompt';

/** @public */
export type OpenAiProviderOptions = {
  /** Base URL of an OpenAI-compatible API, with or without the trailing /v1. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  id?: string;
};

/**
 * Asks any OpenAI-compatible chat completions endpoint, with the answer
 * constrained by `response_format: json_schema`.
 *
 * @public
 */
export class OpenAiProvider implements AssistantProvider {
  readonly id: string;
  private readonly url: string;

  constructor(private readonly options: OpenAiProviderOptions) {
    this.id = options.id ?? 'openai';
    const base = options.baseUrl.replace(/\/+$/, '');
    this.url = `${base.endsWith('/v1') ? base : `${base}/v1`}/chat/completions`;
  }

  async plan(
    question: string,
    context: AssistantQuestionContext,
    { signal }: { signal: AbortSignal },
  ): Promise<PlanAnswer> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
    };
    if (this.options.apiKey) {
      headers.Authorization = `Bearer ${this.options.apiKey}`;
    }
    const response = await fetch(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        model: this.options.model,
        temperature: 0,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'kubectl_plan',
            schema: modelAnswerJsonSchema,
            strict: false,
          },
        },
        messages: [
          { role: 'system', content: systemPrompt(context) },
          { role: 'user', content: question },
        ],
      }),
      signal,
    });
    await ensureOk(response, 'The OpenAI-compatible endpoint');
    const body = (await readModelResponse(
      response,
      'The OpenAI-compatible endpoint',
    )) as {
      choices?: Array<{ message?: { content?: unknown; refusal?: unknown } }>;
    };
    const message = body.choices?.[0]?.message;
    if (message?.refusal) {
      throw new Error('the model refused to answer');
    }
    return modelAnswer(message?.content);
  }
}
