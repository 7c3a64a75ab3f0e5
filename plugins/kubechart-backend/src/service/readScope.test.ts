import { mockCredentials } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { kubechartRunsReadPermission } from '@kubechart/plugin-kubechart-common';
import { randomUUID } from 'node:crypto';
import { ReadScopes } from './readScope';

/** What Backstage's permission backend reads of one request: a JSON body of at most 100 KB (express.json's default). */
const PERMISSION_BODY_LIMIT = 100 * 1024;

describe('ReadScopes.filter', () => {
  it('answers for a thousand entities under a conditional decision, within what the permission backend accepts', async () => {
    const bodies: number[] = [];
    const permissions = {
      authorize: jest.fn(async (requests: any[]) => {
        // As PermissionClient sends them: one item per request, with an id and the permission.
        const body = JSON.stringify({
          items: requests.map(r => ({
            id: randomUUID(),
            permission: r.permission,
            resourceRef: r.resourceRef,
          })),
        });
        bodies.push(body.length);
        if (body.length > PERMISSION_BODY_LIMIT)
          throw new Error('PayloadTooLargeError: request entity too large');
        return requests.map(r => ({
          result: r.resourceRef.endsWith('-mine')
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
        }));
      }),
    };
    const scopes = new ReadScopes({} as any, permissions as any);
    const items = Array.from({ length: 1000 }, (_, i) => ({
      entityRef: `component:default/service-number-${i}${
        i % 10 === 0 ? '-mine' : ''
      }`,
    }));
    const visible = await scopes.filter(
      {
        credentials: mockCredentials.user('user:default/alice'),
        permission: kubechartRunsReadPermission,
        all: false,
        userRef: 'user:default/alice',
      },
      items,
    );
    expect(visible).toHaveLength(100);
    expect(visible.every(i => i.entityRef.endsWith('-mine'))).toBe(true);
    expect(Math.max(...bodies)).toBeLessThanOrEqual(PERMISSION_BODY_LIMIT);
  });
});
