import type { TenantQuota } from '@kubechart/plugin-kubechart-common';

/**
 * Quota presets a template can offer; `custom` quotas are passed as `quota` instead.
 * The namespace's LimitRange defaults come from the engine's config unless a preset sets them.
 */
export const QUOTA_PRESETS: Record<'small' | 'medium' | 'large', TenantQuota> =
  {
    small: {
      hard: {
        'requests.cpu': '2',
        'requests.memory': '4Gi',
        'limits.cpu': '4',
        'limits.memory': '8Gi',
        pods: '20',
      },
    },
    medium: {
      hard: {
        'requests.cpu': '4',
        'requests.memory': '8Gi',
        'limits.cpu': '8',
        'limits.memory': '16Gi',
        pods: '50',
      },
    },
    large: {
      hard: {
        'requests.cpu': '16',
        'requests.memory': '32Gi',
        'limits.cpu': '32',
        'limits.memory': '64Gi',
        pods: '200',
      },
    },
  };
