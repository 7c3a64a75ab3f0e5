import { createRouteRef } from '@backstage/core-plugin-api';

/** Route of the tenants page. */
export const tenantsRouteRef = createRouteRef({ id: 'kubechart:tenants' });
