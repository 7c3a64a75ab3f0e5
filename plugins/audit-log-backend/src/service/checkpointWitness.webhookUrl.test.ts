import { mockServices } from '@backstage/backend-test-utils';
import { createAuditWitness } from './checkpointWitness';

const witnessWith = (url: string) =>
  createAuditWitness({
    config: mockServices.rootConfig({
      data: { auditLog: { retention: { checkpoint: { webhook: { url } } } } },
    }),
    logger: mockServices.logger.mock(),
  });

describe('the checkpoint webhook URL', () => {
  it('refuses at start-up a URL that carries a user and password, without repeating them', () => {
    let message = '';
    try {
      witnessWith(
        'https://witness:SENTINEL_WEBHOOK_PASSWORD@hooks.example.com/anchor',
      );
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('auditLog.retention.checkpoint.webhook.token');
    expect(message).not.toContain('SENTINEL_WEBHOOK_PASSWORD');
  });

  it('keeps a URL without credentials', () => {
    expect(() => witnessWith('https://hooks.example.com/anchor')).not.toThrow();
  });
});
