export { EntityDeploymentHistoryContent } from './EntityDeploymentHistoryContent';
