import { createRouteRef } from '@backstage/core-plugin-api';

/** The assistant's own page. @public */
export const rootRouteRef = createRouteRef({ id: 'kube-assistant' });
