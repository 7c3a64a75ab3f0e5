import { KubeClient } from '../lib/KubeClient';
import { deployerReadingUser } from './deployer';

const settings = {
  deployerServiceAccount: 'kubechart-deployer',
  deployerNamespace: 'kubechart-deployers',
};
const ns = 'tenant-a';
const readingUser = (subjects: unknown[]) =>
  deployerReadingUser(
    { read: async () => ({ subjects }) } as unknown as KubeClient,
    ns,
    settings,
  );
const OLD = {
  kind: 'ServiceAccount',
  name: 'kubechart-deployer',
  namespace: ns,
};
const NEW = {
  kind: 'ServiceAccount',
  name: `kubechart-deployer-${ns}`,
  namespace: 'kubechart-deployers',
};

describe('deployerReadingUser', () => {
  it('reads as the deployer from before only while the binding names it alone', async () => {
    expect(await readingUser([OLD])).toBe(
      `system:serviceaccount:${ns}:kubechart-deployer`,
    );
    expect(await readingUser([NEW])).toBe(
      `system:serviceaccount:kubechart-deployers:kubechart-deployer-${ns}`,
    );
    expect(await readingUser([OLD, NEW])).toBe(
      `system:serviceaccount:kubechart-deployers:kubechart-deployer-${ns}`,
    );
  });
});
