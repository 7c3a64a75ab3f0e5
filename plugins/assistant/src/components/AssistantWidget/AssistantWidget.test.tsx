import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import {
  AskResponse,
  ExecuteResponse,
} from '@kubechart/plugin-assistant-common';
import { ResponseError } from '@backstage/errors';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { AssistantApi, assistantApiRef } from '../../api';
import { AssistantWidget } from './AssistantWidget';

const base: Omit<
  AskResponse,
  'plan' | 'command' | 'safety' | 'requirements' | 'explanation'
> = {
  conversationId: '11111111-1111-4111-8111-111111111111',
  messageId: '22222222-2222-4222-8222-222222222222',
  question: 'q',
  provider: 'builtin',
  latencyMs: 0.2,
  planHash: 'a'.repeat(64),
  scope: 'pods in all namespaces',
};

const readAnswer: AskResponse = {
  ...base,
  plan: {
    verb: 'get',
    resource: 'pods',
    allNamespaces: true,
    filter: 'crash-looping',
  },
  command: "kubectl get pods -A | grep -E 'CrashLoopBackOff'",
  explanation:
    'Lists pods across all namespaces, keeps only pods in CrashLoopBackOff.',
  safety: { level: 'safe', reason: 'get only reads.' },
  requirements: { confirm: false },
};

const deleteAnswer: AskResponse = {
  ...base,
  plan: {
    verb: 'delete',
    resource: 'pods',
    name: 'checkout-web-abc',
    namespace: 'shop',
  },
  command: 'kubectl delete pod/checkout-web-abc -n shop',
  explanation: 'Deletes pods checkout-web-abc in namespace shop.',
  safety: { level: 'dangerous', reason: 'delete removes resources.' },
  requirements: {
    confirm: true,
    typedConfirmation: 'checkout-web-abc',
    confirmationToken: 'single-use-token',
  },
};

const tableResult: ExecuteResponse = {
  messageId: base.messageId,
  command: readAnswer.command,
  safety: readAnswer.safety,
  latencyMs: 12,
  result: {
    type: 'table',
    columns: ['NAMESPACE', 'NAME', 'STATUS'],
    rows: [['shop', 'checkout-web-abc', 'CrashLoopBackOff']],
    totalRows: 3,
    truncated: 'Showing 1 of 3 rows.',
  },
};

function mockApi(
  overrides: Partial<Record<keyof AssistantApi, jest.Mock>> = {},
) {
  return {
    ask: jest.fn(async () => readAnswer),
    execute: jest.fn(async () => tableResult),
    listConversations: jest.fn(),
    getConversation: jest.fn(),
    ...overrides,
  } as unknown as jest.Mocked<AssistantApi>;
}

async function render(api: AssistantApi, entityRef?: string) {
  await renderInTestApp(
    <TestApiProvider apis={[[assistantApiRef, api]]}>
      <AssistantWidget entityRef={entityRef} />
    </TestApiProvider>,
  );
}

function askQuestion(text: string) {
  fireEvent.change(
    screen.getByRole('textbox', { name: 'Kubernetes assistant' }),
    {
      target: { value: text },
    },
  );
  fireEvent.click(screen.getByRole('button', { name: 'Ask' }));
}

describe('AssistantWidget', () => {
  it('shows the command, explanation and safety, then runs a safe query into a table', async () => {
    const api = mockApi();
    await render(api, 'component:default/checkout');
    expect(
      screen.getByText('Ask a question about your Kubernetes workloads.'),
    ).toBeInTheDocument();

    askQuestion('which pods are crash looping?');
    expect(await screen.findByTestId('assistant-command')).toHaveTextContent(
      readAnswer.command,
    );
    expect(api.ask).toHaveBeenCalledWith({
      question: 'which pods are crash looping?',
      entityRef: 'component:default/checkout',
    });
    expect(screen.getByText(readAnswer.explanation)).toBeInTheDocument();
    expect(screen.getByTestId('safety-safe')).toHaveTextContent(
      'Safe: read only',
    );

    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect(await screen.findByText('CrashLoopBackOff')).toBeInTheDocument();
    expect(screen.getByText('Showing 1 of 3 rows.')).toBeInTheDocument();
    expect(api.execute).toHaveBeenCalledWith({ messageId: base.messageId });
    // No confirmation was needed for a read.
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('says so when the command ran but its record could not be kept', async () => {
    const notice =
      'The command ran, but its record could not be saved in this conversation (the audit trail has it).';
    const api = mockApi({
      execute: jest.fn(async () => ({ ...tableResult, notice })),
    });
    await render(api, 'component:default/checkout');
    askQuestion('which pods are crash looping?');
    fireEvent.click(await screen.findByRole('button', { name: 'Run' }));
    expect(await screen.findByText('CrashLoopBackOff')).toBeInTheDocument();
    expect(screen.getByText(notice)).toBeInTheDocument();
  });

  it('shows a progress line while the question is answered', async () => {
    let resolve: (a: AskResponse) => void = () => {};
    const api = mockApi({
      ask: jest.fn(
        () =>
          new Promise<AskResponse>(r => {
            resolve = r;
          }),
      ),
    });
    await render(api);
    askQuestion('list pods');
    expect(await screen.findByText('Thinking…')).toBeInTheDocument();
    resolve(readAnswer);
    await waitFor(() =>
      expect(screen.queryByText('Thinking…')).not.toBeInTheDocument(),
    );
  });

  it('shows errors from the backend and keeps the conversation', async () => {
    const api = mockApi({
      ask: jest
        .fn()
        .mockResolvedValueOnce(readAnswer)
        .mockRejectedValueOnce(
          new Error(
            'The assistant could not turn this question into a Kubernetes command.',
          ),
        ),
    });
    await render(api);
    askQuestion('list pods');
    await screen.findByTestId('assistant-command');
    askQuestion('qwerty');
    expect(
      await screen.findByText(
        'The assistant could not turn this question into a Kubernetes command.',
      ),
    ).toBeInTheDocument();
    expect(screen.getAllByTestId('assistant-turn')).toHaveLength(2);
    // The second question continues the first one's conversation.
    expect(api.ask).toHaveBeenLastCalledWith({
      question: 'qwerty',
      conversationId: base.conversationId,
    });
  });

  it('asks for the typed name before running a dangerous command', async () => {
    const api = mockApi({
      ask: jest.fn(async () => deleteAnswer),
      execute: jest.fn(async () => ({
        ...tableResult,
        result: {
          type: 'message' as const,
          text: 'pod "checkout-web-abc" deleted',
        },
      })),
    });
    await render(api);
    askQuestion('delete pod checkout-web-abc in shop');
    expect(await screen.findByTestId('safety-dangerous')).toBeInTheDocument();

    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Run a dangerous command?');
    const confirm = screen.getByRole('button', { name: 'Confirm' });
    expect(confirm).toBeDisabled();
    const input = screen.getByRole('textbox', {
      name: 'Type checkout-web-abc to confirm',
    });
    fireEvent.change(input, { target: { value: 'checkout-web' } });
    expect(confirm).toBeDisabled();
    fireEvent.change(input, { target: { value: 'checkout-web-abc' } });
    expect(confirm).toBeEnabled();
    fireEvent.click(confirm);

    expect(
      await screen.findByText('pod "checkout-web-abc" deleted'),
    ).toBeInTheDocument();
    // The confirmation carries the single-use token bound to the shown plan.
    expect(api.execute).toHaveBeenCalledWith({
      messageId: base.messageId,
      confirm: true,
      typedConfirmation: 'checkout-web-abc',
      confirmationToken: 'single-use-token',
    });
  });

  it('shows what a plan reaches and a diagnosis answer with its evidence', async () => {
    const api = mockApi({
      ask: jest.fn(async () => ({
        ...readAnswer,
        plan: { verb: 'diagnose', resource: 'deployments', name: 'web' },
        scope: 'deployments/web in namespace shop',
      })),
      execute: jest.fn(async () => ({
        ...tableResult,
        result: {
          type: 'diagnosis' as const,
          healthy: false,
          answer:
            'deployment/web is not healthy (0/1 pods Ready): container web is crash-looping.',
          evidence: ['event BackOff: Back-off restarting failed container'],
          steps: ['read deployment/web', 'listed its pods'],
        },
      })),
    });
    await render(api);
    askQuestion('why is web crashing');
    expect(
      await screen.findByText('Reaches: deployments/web in namespace shop'),
    ).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect(
      await screen.findByText(/container web is crash-looping/),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Back-off restarting failed container/),
    ).toBeInTheDocument();
  });

  it('asks for a click before running a warning command, and cancelling runs nothing', async () => {
    const api = mockApi({
      ask: jest.fn(async () => ({
        ...readAnswer,
        plan: {
          verb: 'scale' as const,
          resource: 'deployments' as const,
          name: 'web',
          replicas: 2,
        },
        command: 'kubectl scale deployment/web --replicas=2',
        safety: {
          level: 'warning' as const,
          reason: 'scale changes how many replicas run.',
        },
        requirements: { confirm: true },
      })),
    });
    await render(api);
    askQuestion('scale web to 2');
    fireEvent.click(await screen.findByRole('button', { name: 'Run' }));
    expect(await screen.findByRole('dialog')).toHaveTextContent(
      'Run this command?',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.execute).not.toHaveBeenCalled();

    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Confirm' }));
    await waitFor(() =>
      expect(api.execute).toHaveBeenCalledWith({
        messageId: base.messageId,
        confirm: true,
      }),
    );
  });

  it('shows the refusal and disables Run when the plan is blocked', async () => {
    const api = mockApi({
      ask: jest.fn(async () => ({
        ...deleteAnswer,
        requirements: {
          ...deleteAnswer.requirements,
          blockedReason:
            'Dangerous commands are turned off in this Backstage (kubeAssistant.allowDangerous).',
        },
      })),
    });
    await render(api);
    askQuestion('delete pod checkout-web-abc');
    expect(
      await screen.findByText(/Dangerous commands are turned off/),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Run' })).toBeDisabled();
  });

  it('shows an execution error', async () => {
    const api = mockApi({
      execute: jest.fn(async () => {
        throw await ResponseError.fromResponse(
          new Response(
            JSON.stringify({
              error: {
                name: 'Error',
                message: 'The cluster refused: forbidden',
              },
              response: { statusCode: 500 },
            }),
            {
              status: 500,
              statusText: 'Internal Server Error',
              headers: { 'Content-Type': 'application/json' },
            },
          ) as any,
        );
      }),
    });
    await render(api);
    askQuestion('list pods');
    fireEvent.click(await screen.findByRole('button', { name: 'Run' }));
    expect(
      await screen.findByText('The cluster refused: forbidden'),
    ).toBeInTheDocument();
  });

  it('starts a new conversation with the next question once the conversation is full', async () => {
    const full =
      'This conversation has reached its limit of 200 questions (kubeAssistant.limits.messagesPerConversation): start a new conversation to ask more.';
    const ask = jest
      .fn()
      .mockResolvedValueOnce(readAnswer)
      .mockImplementationOnce(async () => {
        throw await ResponseError.fromResponse(
          new Response(
            JSON.stringify({
              error: { name: 'ConflictError', message: full },
              response: { statusCode: 409 },
            }),
            {
              status: 409,
              statusText: 'Conflict',
              headers: { 'Content-Type': 'application/json' },
            },
          ) as any,
        );
      })
      .mockResolvedValueOnce({
        ...readAnswer,
        conversationId: '33333333-3333-4333-8333-333333333333',
      });
    const api = mockApi({ ask });
    await render(api);
    askQuestion('list pods');
    await screen.findByTestId('assistant-command');
    askQuestion('list pods again');
    expect(
      await screen.findByText(
        `${full} Your next question starts a new conversation.`,
      ),
    ).toBeInTheDocument();
    askQuestion('list pods once more');
    await waitFor(() => expect(ask).toHaveBeenCalledTimes(3));
    expect(ask.mock.calls.map(([request]) => request)).toEqual([
      { question: 'list pods' },
      {
        question: 'list pods again',
        conversationId: readAnswer.conversationId,
      },
      { question: 'list pods once more' },
    ]);
  });
});
