import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { HomePageWidgetBlueprint } from '@backstage/plugin-home-react/alpha';
import { screen } from '@testing-library/react';
import plugin, {
  kubeAssistantEntityCard,
  kubeAssistantHomeWidget,
  kubeAssistantLauncher,
  kubeAssistantPage,
} from './alpha';
import { AssistantApi, assistantApiRef } from './api';

const api = {
  ask: jest.fn(),
  execute: jest.fn(),
  listConversations: jest.fn(),
  getConversation: jest.fn(),
} as unknown as AssistantApi;

describe('kube-assistant (new frontend system)', () => {
  it('is the kube-assistant plugin with a page at /kube-assistant', () => {
    expect(plugin.pluginId).toBe('kube-assistant');
    const tester = createExtensionTester(kubeAssistantPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/kube-assistant');
    expect(tester.get(coreExtensionData.title)).toBe('Kubernetes assistant');
  });

  it('renders the page under the app header only (no second header of its own)', async () => {
    const tester = createExtensionTester(kubeAssistantPage);
    renderInTestApp(tester.reactElement(), { apis: [[assistantApiRef, api]] });
    expect(
      await screen.findByRole(
        'textbox',
        { name: 'Kubernetes assistant' },
        { timeout: 20_000 },
      ),
    ).toBeInTheDocument();
    // One heading with the page title: the app's page header.
    expect(
      screen.getAllByRole('heading', { name: 'Kubernetes assistant' }),
    ).toHaveLength(1);
  }, 30_000);

  it('offers a home page card that renders the assistant', async () => {
    const widget = createExtensionTester(kubeAssistantHomeWidget).get(
      HomePageWidgetBlueprint.dataRefs.widget,
    );
    expect(widget.title).toBe('Kubernetes assistant');
    renderInTestApp(widget.component, { apis: [[assistantApiRef, api]] });
    expect(
      await screen.findByRole('textbox', { name: 'Kubernetes assistant' }),
    ).toBeInTheDocument();
  });

  it('keeps the floating launcher off unless the app enables it', () => {
    expect(
      plugin.getExtension('app-root-element:kube-assistant'),
    ).toMatchObject({ disabled: true });
  });

  it('renders the launcher at the app root once enabled', async () => {
    const tester = createExtensionTester(kubeAssistantLauncher);
    renderInTestApp(tester.reactElement(), { apis: [[assistantApiRef, api]] });
    expect(
      await screen.findByRole('button', {
        name: 'Ask the Kubernetes assistant',
      }),
    ).toBeInTheDocument();
  });

  it('shows the entity card only for entities with Kubernetes annotations', () => {
    const tester = createExtensionTester(kubeAssistantEntityCard);
    const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction)!;
    const entity = (annotations: Record<string, string>): Entity => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'x', annotations },
    });
    expect(
      filter(entity({ 'backstage.io/kubernetes-id': 'checkout-web' })),
    ).toBe(true);
    expect(filter(entity({}))).toBe(false);
  });
});
