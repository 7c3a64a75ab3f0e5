import {
  SECRET_KEY_PATTERN,
  isSecretKey,
  isSecretName,
  redactKubeObject,
  redactText,
  redactValues,
} from '.';

describe('keys naming a password in one word or in camelCase', () => {
  it('names a key secret whose last word ends in pass or pwd without a separator', () => {
    for (const key of [
      'PGPASS',
      'pgpass',
      '.pgpass',
      'DBPASS',
      'MYSQL_ROOTPASS',
      'dbPass',
      'dbPasswd',
      'adminPwd',
      'ADMINPWD',
      'redisPass',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, true]);
      expect([key, isSecretName(key)]).toEqual([key, true]);
      expect([key, SECRET_KEY_PATTERN.test(key)]).toEqual([key, true]);
    }
  });

  it('keeps ordinary words ending in pass, names holding pass, a password file and the shell’s directories', () => {
    for (const key of [
      'PGPASSFILE',
      'DB_PASS_FILE',
      'passThrough',
      'passive',
      'bypass',
      'proxyBypass',
      'CACHE_BYPASS',
      'compass',
      'encompass',
      'surpass',
      'trespass',
      'overpass',
      'underpass',
      'multipass',
      'PASS',
      'PWD',
      'OLDPWD',
      'passes',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, false]);
      expect([key, isSecretName(key)]).toEqual([key, false]);
    }
  });

  it('hides their values in values, env entries, ConfigMaps and text, keeping booleans as settings', () => {
    expect(
      redactValues({
        PGPASS: 'pgpassval',
        PGPASSFILE: '/etc/pg/.pgpass',
        db: { dbPass: 'dbpassval', adminPwd: 'adminpwdval', dbPasswd: 'x1' },
        passThrough: 'all',
        password_policy_enabled: true,
        extraEnv: [{ name: 'PGPASS', value: 'envpgpass' }],
      }),
    ).toEqual({
      PGPASS: '[REDACTED]',
      PGPASSFILE: '/etc/pg/.pgpass',
      db: {
        dbPass: '[REDACTED]',
        adminPwd: '[REDACTED]',
        dbPasswd: '[REDACTED]',
      },
      passThrough: 'all',
      password_policy_enabled: true,
      extraEnv: [{ name: 'PGPASS', value: '[REDACTED]' }],
    });
    expect(
      redactKubeObject({
        kind: 'ConfigMap',
        data: {
          PGPASS: 'cmpgpass',
          '.pgpass': 'db:5432:app:app:cmpgpass',
          PGPASSFILE: '/etc/pg/.pgpass',
        },
      }).data,
    ).toEqual({
      PGPASS: '[REDACTED]',
      '.pgpass': '[REDACTED]',
      PGPASSFILE: '/etc/pg/.pgpass',
    });
    expect(
      redactText(
        'PGPASS=hunter2\nadminPwd: hunter3\nPGPASSFILE=/etc/pg/.pgpass\ncompass: north',
      ),
    ).toBe(
      'PGPASS=[REDACTED]\nadminPwd: [REDACTED]\nPGPASSFILE=/etc/pg/.pgpass\ncompass: north',
    );
  });
});
