import {
  isValidReleaseName,
  isValidTenantCode,
  kubechartPermissions,
  tenantNamespace,
} from './index';

describe('kubechart-common', () => {
  it('lists every permission with its name', () => {
    expect(kubechartPermissions.map(p => p.name).sort()).toEqual([
      'kubechart.clusters.read',
      'kubechart.runs.approve',
      'kubechart.runs.cluster-scoped',
      'kubechart.runs.create',
      'kubechart.runs.read',
      'kubechart.runs.rollback',
      'kubechart.tenants.admin',
      'kubechart.tenants.read',
    ]);
  });

  it.each([
    ['ab', true],
    ['team-a', true],
    ['a', false],
    ['-ab', false],
    ['ab-', false],
    ['Team', false],
    ['a;rm', false],
    ['x'.repeat(40), true],
    ['x'.repeat(41), false],
  ])('tenant code %p valid=%p', (code, valid) => {
    expect(isValidTenantCode(code)).toBe(valid);
  });

  it('validates release names and derives namespaces', () => {
    expect(isValidReleaseName('web')).toBe(true);
    expect(isValidReleaseName('x'.repeat(54))).toBe(false);
    expect(isValidReleaseName('web$(id)')).toBe(false);
    expect(tenantNamespace('acme')).toBe('tenant-acme');
  });
});
