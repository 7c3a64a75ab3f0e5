import { mockServices } from '@backstage/backend-test-utils';
import { readMinimumSeverities } from './severity';

describe('readMinimumSeverities', () => {
  it('raises cluster mutations to high and never lowers a severity', () => {
    const severityOf = readMinimumSeverities(
      mockServices.rootConfig({
        data: {
          auditLog: {
            severity: { minimum: { catalog: { 'entity-mutate': 'medium' } } },
          },
        },
      }),
    );
    expect(severityOf('kubechart', 'run-create', 'medium')).toBe('high');
    expect(severityOf('kubechart', 'run-create', 'critical')).toBe('critical');
    expect(severityOf('catalog', 'entity-mutate', 'low')).toBe('medium');
    expect(severityOf('catalog', 'entity-fetch', 'low')).toBe('low');
  });

  it('refuses an unknown severity in config', () => {
    expect(() =>
      readMinimumSeverities(
        mockServices.rootConfig({
          data: { auditLog: { severity: { minimum: { a: { b: 'urgent' } } } } },
        }),
      ),
    ).toThrow(
      /auditLog.severity.minimum.a.b must be one of low, medium, high, critical/,
    );
  });
});
