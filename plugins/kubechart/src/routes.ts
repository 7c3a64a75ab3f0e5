import { createRouteRef } from '@backstage/core-plugin-api';

/** Route of the tenants page. */
export const tenantsRouteRef = createRouteRef({ id: 'kubechart:tenants' });

/** Route of a run's own page (`?run=<id>`). */
export const runRouteRef = createRouteRef({ id: 'kubechart:run' });
