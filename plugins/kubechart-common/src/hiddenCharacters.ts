// The rules live in @kubechart/plugin-audit-log-common, which every KubeChart family depends on.
export { hiddenCharacters } from '@kubechart/plugin-audit-log-common';
