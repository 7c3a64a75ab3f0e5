import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { SidebarPage, Sidebar } from '@backstage/core-components';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { AssistantApi, assistantApiRef } from '../../api';
import { AssistantSidebarItem } from './AssistantSidebarItem';

describe('AssistantSidebarItem', () => {
  it('opens the assistant over the page from the sidebar', async () => {
    const api = {
      ask: jest.fn(),
      execute: jest.fn(),
      listConversations: jest.fn(),
      getConversation: jest.fn(),
    } as jest.Mocked<AssistantApi>;
    await renderInTestApp(
      <TestApiProvider apis={[[assistantApiRef, api]]}>
        <SidebarPage>
          <Sidebar>
            <AssistantSidebarItem />
          </Sidebar>
        </SidebarPage>
      </TestApiProvider>,
    );
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: /Ask the assistant/ }));
    expect(await screen.findByRole('dialog')).toBeInTheDocument();
    expect(
      screen.getByRole('textbox', { name: 'Kubernetes assistant' }),
    ).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
  }, 30_000);
});
