import { PolicyRule } from '../types';

/** Network exposure rules. */
export const serviceRules: PolicyRule[] = [
  {
    id: 'service-type',
    defaultSeverity: 'error',
    description:
      'Services are not exposed as LoadBalancer or NodePort unless allowed',
    fix: 'Use type ClusterIP behind an Ingress/HTTPRoute, or ask the platform team to allow the type (kubechart.policy.allowedServiceTypes).',
    check: (obj, ctx) => {
      if (obj.kind !== 'Service') return undefined;
      const type = obj.spec?.type ?? 'ClusterIP';
      return ctx.allowedServiceTypes.includes(type)
        ? []
        : [`type ${type} is not allowed`];
    },
  },
];
