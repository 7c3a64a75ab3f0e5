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
export type OllamaProviderOptions = {
  /** e.g. http://localhost:11434 */
  baseUrl: string;
  model: string;
  id?: string;
};

/**
 * Asks a model served by Ollama (`POST /api/chat`), constraining the answer
 * with a JSON schema through `format`. Suits air-gapped installations.
 *
 * @public
 */
export class OllamaProvider implements AssistantProvider {
  readonly id: string;
  private readonly url: string;

  constructor(private readonly options: OllamaProviderOptions) {
    this.id = options.id ?? 'ollama';
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/api/chat`;
  }

  async plan(
    question: string,
    context: AssistantQuestionContext,
    { signal }: { signal: AbortSignal },
  ): Promise<PlanAnswer> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: this.options.model,
        stream: false,
        format: modelAnswerJsonSchema,
        options: { temperature: 0 },
        messages: [
          { role: 'system', content: systemPrompt(context) },
          { role: 'user', content: question },
        ],
      }),
      signal,
    });
    await ensureOk(response, 'Ollama');
    const body = (await readModelResponse(response, 'Ollama')) as {
      message?: { content?: unknown };
    };
    return modelAnswer(body.message?.content);
  }
}
