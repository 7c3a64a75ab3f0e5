import { coreExtensionData } from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import plugin from './plugin';
import {
  entityClusterHealthCard,
  entityDeploymentHistoryContent,
  tenantsPage,
} from './extensions';
import { makeEntity } from '../testUtils/fixtures';

describe('kubechart frontend plugin (new frontend system)', () => {
  it('provides the API, the tab, the card, the page and the home widgets', () => {
    expect(plugin.pluginId).toBe('kubechart');
    for (const id of [
      'api:kubechart',
      'entity-content:kubechart/deployment-history',
      'entity-card:kubechart/cluster-health',
      'page:kubechart',
      'home-page-widget:kubechart/cluster-health',
      'home-page-widget:kubechart/approvals',
    ] as const) {
      expect(plugin.getExtension(id)).toBeDefined();
    }
  });

  it('mounts the tab at deployment-history, only on annotated entities', () => {
    const tester = createExtensionTester(entityDeploymentHistoryContent);
    expect(tester.get(coreExtensionData.routePath)).toBe('/deployment-history');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe(
      'Deployment history',
    );
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction)!;
    expect(filter(makeEntity({ 'kubechart.io/release': 'web' }))).toBe(true);
    expect(filter(makeEntity({}))).toBe(false);
  });

  it('shows the health card only on annotated entities', () => {
    const tester = createExtensionTester(entityClusterHealthCard);
    const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction)!;
    expect(filter(makeEntity({ 'backstage.io/kubernetes-id': 'shop' }))).toBe(
      true,
    );
    expect(filter(makeEntity({}))).toBe(false);
  });

  it('puts the tenants page in the sidebar', () => {
    const tester = createExtensionTester(tenantsPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/kubechart/tenants');
    expect(tester.get(coreExtensionData.title)).toBe('Tenants');
    expect(tester.get(coreExtensionData.icon)).toBeDefined();
  });
});
