export { useAuditEvents } from './useAuditEvents';
export { useVerify } from './useVerify';
