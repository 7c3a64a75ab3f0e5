import {
  collectManifestSecretValues,
  createTextRedactor,
  isSecretKey,
  redactManifest,
  redactValues,
} from './redact';

describe('passwords named in one word or in camelCase', () => {
  it('hides them in values, manifests and run logs; a password file’s path and settings stay', () => {
    expect(['PGPASS', 'dbPass', 'adminPwd'].map(isSecretKey)).toEqual([
      true,
      true,
      true,
    ]);
    expect(['PGPASSFILE', 'passThrough', 'bypass'].map(isSecretKey)).toEqual([
      false,
      false,
      false,
    ]);
    expect(
      redactValues({
        postgresql: { auth: { dbPass: 'hunter22', adminPwd: 'hunter23' } },
        PGPASSFILE: '/etc/pg/.pgpass',
        passThrough: true,
      }),
    ).toEqual({
      postgresql: { auth: { dbPass: '***', adminPwd: '***' } },
      PGPASSFILE: '/etc/pg/.pgpass',
      passThrough: true,
    });
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: pg',
      'data:',
      '  PGPASS: hunter24',
      '  PGPASSFILE: /etc/pg/.pgpass',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: app',
      'spec:',
      '  containers:',
      '    - name: app',
      '      image: app:1',
      '      env:',
      '        - name: PGPASS',
      '          value: hunter25',
      '',
    ].join('\n');
    const shown = redactManifest(manifest);
    expect(shown).not.toContain('hunter24');
    expect(shown).not.toContain('hunter25');
    expect(shown).toContain('PGPASSFILE: /etc/pg/.pgpass');
    expect(
      collectManifestSecretValues(
        [{ kind: 'Secret', stringData: { PGPASS: 'hunter26', PGUSER: 'app' } }],
        { secretKeysOnly: true },
      ),
    ).toEqual(['hunter26']);
    const scrub = createTextRedactor();
    expect(scrub('export PGPASS=hunter27\nPGPASSFILE=/etc/pg/.pgpass')).toBe(
      'export PGPASS=***\nPGPASSFILE=/etc/pg/.pgpass',
    );
  });

  it('hides a .pgpass line and an XML password element a ConfigMap shown in a run log holds', () => {
    const scrub = createTextRedactor();
    const log = [
      'data:',
      '  pgpass.conf: |',
      '    db.example.com:5432:app:appuser:hunter28',
      '  context.xml: |',
      '    <Resource name="jdbc/app" url="jdbc:postgresql://db/app"/>',
      '    <password>hunter29</password>',
    ].join('\n');
    expect(scrub(log)).toBe(
      [
        'data:',
        '  pgpass.conf: |',
        '    db.example.com:5432:app:appuser:***',
        '  context.xml: |',
        '    <Resource name="jdbc/app" url="jdbc:postgresql://db/app"/>',
        '    <password>***</password>',
      ].join('\n'),
    );
  });
});
