/**
 * The audit-log backend plugin: a tamper-evident audit trail stored as a hash
 * chain, with a REST API to search, verify and export it.
 *
 * @packageDocumentation
 */

export { auditLogPlugin as default } from './plugin';
export type {
  AuditStore,
  AuditAppendResult,
  AuditPruneCut,
  AuditChainHead,
  AuditVerifyOptions,
} from './database/AuditStore';
export { DatabaseAuditStore } from './database/DatabaseAuditStore';
export { createRouter, type RouterOptions } from './service/router';
export { createAnchorMemory, type AnchorMemory } from './service/anchors';
export type {
  AuditAnchorRecord,
  AuditCheckpointRecord,
  AuditLossRecord,
  AuditWitnessRecords,
} from './service/checkpointWitness';
