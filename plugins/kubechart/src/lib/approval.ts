export { approvalCount } from '@kubechart/plugin-kubechart-common';
