import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { AssistantApi, assistantApiRef } from '../../api';
import { AssistantLauncher } from './AssistantLauncher';

describe('AssistantLauncher', () => {
  it('opens the assistant in a dialog and closes it again', async () => {
    const api = {
      ask: jest.fn(),
      execute: jest.fn(),
      listConversations: jest.fn(),
      getConversation: jest.fn(),
    } as jest.Mocked<AssistantApi>;
    await renderInTestApp(
      <TestApiProvider apis={[[assistantApiRef, api]]}>
        <AssistantLauncher />
      </TestApiProvider>,
    );
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    fireEvent.click(
      screen.getByRole('button', { name: 'Ask the Kubernetes assistant' }),
    );
    expect(await screen.findByRole('dialog')).toBeInTheDocument();
    expect(
      screen.getByRole('textbox', { name: 'Kubernetes assistant' }),
    ).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
  });
});
