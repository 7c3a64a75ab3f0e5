import { mockServices } from '@backstage/backend-test-utils';
import { createAuditWitness } from './checkpointWitness';

const warningsWith = (checkpoint: object | undefined) => {
  const logger = mockServices.logger.mock();
  createAuditWitness({
    config: mockServices.rootConfig({
      data: checkpoint ? { auditLog: { retention: { checkpoint } } } : {},
    }),
    logger,
  });
  return logger.warn.mock.calls.map(([message]) => String(message));
};

describe('the witness file at start-up', () => {
  it('warns without it that losses at shutdown or kill never reach the chain', () => {
    for (const checkpoint of [
      undefined,
      { webhook: { url: 'https://hooks.example.com/anchor' } },
    ]) {
      expect(warningsWith(checkpoint)).toEqual([
        expect.stringMatching(
          /^No auditLog\.retention\.checkpoint\.file is configured: .*never reach the chain/,
        ),
      ]);
    }
  });

  it('does not warn with it', () => {
    expect(warningsWith({ file: '/var/lib/audit/witness.ndjson' })).toEqual([]);
  });
});
