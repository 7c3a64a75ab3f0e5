import {
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';
import { appendFile } from 'node:fs/promises';
import { AuditPruneCut } from '../database/AuditStore';

/** How long the webhook target may take to accept a checkpoint. */
const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The checkpoint an external witness keeps: enough to check that the chain
 * still in the database continues from the cut (`prevHash` of event
 * `throughSeq + 1` equals `hash`).
 */
export type AuditCheckpointRecord = {
  type: 'audit-log-checkpoint';
  fromSeq: number;
  throughSeq: number;
  hash: string;
  cutoff: string;
  prunedAt: string;
  reason: 'scheduled retention' | 'on request';
  actor?: string;
};

/**
 * Emits a prune's checkpoint outside the database before the prune happens:
 * always as a `warn` log line, and to the file and webhook configured under
 * `auditLog.retention.checkpoint`. Throws (so nothing is pruned) when a
 * configured target cannot take it.
 */
export type CheckpointWitness = (
  cut: AuditPruneCut,
  context: { reason: AuditCheckpointRecord['reason']; actor?: string },
) => Promise<AuditCheckpointRecord>;

export function createCheckpointWitness(options: {
  config: RootConfigService;
  logger: LoggerService;
}): CheckpointWitness {
  const { config, logger } = options;
  const file = config.getOptionalString('auditLog.retention.checkpoint.file');
  const webhookUrl = config.getOptionalString(
    'auditLog.retention.checkpoint.webhook.url',
  );
  const webhookToken = config.getOptionalString(
    'auditLog.retention.checkpoint.webhook.token',
  );
  if (webhookUrl) {
    const url = new URL(webhookUrl); // throws on a malformed URL at start-up
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error(
        `auditLog.retention.checkpoint.webhook.url must be http(s), got ${url.protocol}`,
      );
    }
  }

  return async (cut, context) => {
    const record: AuditCheckpointRecord = {
      type: 'audit-log-checkpoint',
      ...cut,
      prunedAt: new Date().toISOString(),
      reason: context.reason,
      ...(context.actor ? { actor: context.actor } : {}),
    };
    const line = JSON.stringify(record);
    logger.warn(
      `Audit log checkpoint: pruning events ${cut.fromSeq}-${cut.throughSeq}; the chain continues from hash ${cut.hash}`,
      { auditCheckpoint: line },
    );
    if (file) {
      try {
        await appendFile(file, `${line}\n`, { encoding: 'utf8', mode: 0o600 });
      } catch (error) {
        throw new Error(
          `Not pruning: could not write the checkpoint to ${file}: ${stringifyError(
            error,
          )}`,
        );
      }
    }
    if (webhookUrl) {
      let response: Response;
      try {
        response = await fetch(webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(webhookToken
              ? { authorization: `Bearer ${webhookToken}` }
              : {}),
          },
          body: line,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
      } catch (error) {
        throw new Error(
          `Not pruning: the checkpoint webhook could not be reached: ${stringifyError(
            error,
          )}`,
        );
      }
      if (!response.ok) {
        throw new Error(
          `Not pruning: the checkpoint webhook answered ${response.status}`,
        );
      }
    }
    return record;
  };
}
