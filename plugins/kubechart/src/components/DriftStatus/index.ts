export { DriftPanel } from './DriftPanel';
export { EntityDriftStatusLine } from './EntityDriftStatusLine';
