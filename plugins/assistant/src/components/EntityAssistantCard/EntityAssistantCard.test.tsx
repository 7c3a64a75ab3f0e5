import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { fireEvent, screen } from '@testing-library/react';
import { AssistantApi, assistantApiRef } from '../../api';
import { EntityAssistantCard } from './EntityAssistantCard';

describe('EntityAssistantCard', () => {
  it('asks questions about its entity', async () => {
    const api = {
      ask: jest.fn(async () => {
        throw new Error('nope');
      }),
      execute: jest.fn(),
      listConversations: jest.fn(),
      getConversation: jest.fn(),
    } as unknown as jest.Mocked<AssistantApi>;
    await renderInTestApp(
      <TestApiProvider apis={[[assistantApiRef, api]]}>
        <EntityProvider
          entity={{
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Component',
            metadata: { name: 'checkout', namespace: 'default' },
          }}
        >
          <EntityAssistantCard />
        </EntityProvider>
      </TestApiProvider>,
    );
    expect(screen.getByText('Ask about this workload')).toBeInTheDocument();
    fireEvent.change(
      screen.getByRole('textbox', { name: 'Kubernetes assistant' }),
      {
        target: { value: 'show logs' },
      },
    );
    fireEvent.click(screen.getByRole('button', { name: 'Ask' }));
    expect(await screen.findByText('nope')).toBeInTheDocument();
    expect(api.ask).toHaveBeenCalledWith({
      question: 'show logs',
      entityRef: 'component:default/checkout',
    });
  });
});
