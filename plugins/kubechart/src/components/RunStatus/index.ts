export { RunStatus, useStatusLabel } from './RunStatus';
