import { mockCredentials } from '@backstage/backend-test-utils';
import { assertSignedInUser } from './signedInUser';

describe('assertSignedInUser', () => {
  const refusal = (caller: string) => `acts for a signed-in user; ${caller}`;

  it('lets a user through', () => {
    expect(() =>
      assertSignedInUser(mockCredentials.user('user:default/dana'), refusal),
    ).not.toThrow();
  });

  it('refuses a service, naming it, and an unsigned caller', () => {
    expect(() =>
      assertSignedInUser(mockCredentials.service('external:ci-bot'), refusal),
    ).toThrow(
      expect.objectContaining({
        name: 'NotAllowedError',
        message:
          'acts for a signed-in user; service:external:ci-bot is a service',
      }),
    );
    expect(() => assertSignedInUser(mockCredentials.none(), refusal)).toThrow(
      'acts for a signed-in user; the caller is not signed in',
    );
  });
});
