export { createTenantProvisionAction } from './tenantProvision';
export { createTenantDeleteAction } from './tenantDelete';
export { createChartInstallAction } from './chartInstall';
export { createChartValidateAction } from './chartValidate';
export { createManifestsApplyAction } from './manifestsApply';
