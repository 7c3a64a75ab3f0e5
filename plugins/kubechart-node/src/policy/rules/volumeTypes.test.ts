import { PolicyEngine } from '../PolicyEngine';

/**
 * A volume the node mounts itself (nfs, iscsi, a gitRepo clone) reaches storage every tenant
 * shares, with no claim of the pod's namespace: with an nfs-subdir provisioner, every tenant's
 * volumes are directories of one export, so a pod mounting the export's root reads and writes the
 * others'. Pod Security `baseline` forbids only hostPath. Found by an attack review: an otherwise
 * compliant Deployment with such volumes was not blocked.
 */
describe('the volume-types rule', () => {
  const deployment = (volumes: unknown[]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'team-a' },
    spec: {
      template: {
        spec: {
          containers: [{ name: 'web', image: 'registry.example.com/web:1.0' }],
          volumes,
        },
      },
    },
  });
  const refusals = (engine: PolicyEngine, volumes: unknown[]) =>
    engine
      .check([deployment(volumes)])
      .results.filter(r => !r.passed && r.ruleId === 'volume-types')
      .map(r => ({ message: r.message }));

  it.each(['enforce', 'warn', 'off'] as const)(
    'refuses an nfs and a gitRepo volume in %s mode',
    mode => {
      const engine = new PolicyEngine({ mode });
      const report = engine.check([
        deployment([
          { name: 'shared', nfs: { server: 'nfs.internal', path: '/' } },
          { name: 'code', gitRepo: { repository: 'https://git.example/x' } },
        ]),
      ]);
      expect(report.passed).toBe(false);
      const [refused, ...more] = refusals(engine, [
        { name: 'shared', nfs: { server: 'nfs.internal', path: '/' } },
        { name: 'code', gitRepo: { repository: 'https://git.example/x' } },
      ]);
      expect(more).toEqual([]);
      expect(refused.message).toContain(
        'volume "shared" is of type nfs, which is not allowed',
      );
      expect(refused.message).toContain(
        'volume "code" is of type gitRepo, which is not allowed',
      );
    },
  );

  it('takes the types Pod Security restricted allows', () => {
    const engine = new PolicyEngine({});
    expect(
      refusals(engine, [
        { name: 'a', configMap: { name: 'c' } },
        { name: 'b', secret: { secretName: 's' } },
        { name: 'c', emptyDir: {} },
        { name: 'd', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'e', projected: { sources: [] } },
        { name: 'f', downwardAPI: { items: [] } },
        { name: 'g', csi: { driver: 'secrets-store.csi.k8s.io' } },
        { name: 'h', ephemeral: { volumeClaimTemplate: { spec: {} } } },
      ]),
    ).toEqual([]);
  });

  it('takes a type the platform allows', () => {
    const engine = new PolicyEngine({ allowedVolumeTypes: ['nfs'] });
    expect(
      refusals(engine, [{ name: 'shared', nfs: { server: 'n', path: '/x' } }]),
    ).toEqual([]);
  });
});
