import { redactObject } from './redact';

describe('config files and one-word password keys in what the assistant shows', () => {
  it('hides the password of a .pgpass line, an XML element and a PGPASS entry of a ConfigMap', () => {
    const out = redactObject(
      {
        metadata: { name: 'pg' },
        data: {
          PGPASS: 'hunter31',
          PGPASSFILE: '/etc/pg/.pgpass',
          'pgpass.conf': 'db.example.com:5432:app:appuser:hunter32\n',
          'context.xml': '<user>app</user>\n<password>hunter33</password>\n',
          'app.properties':
            'spring.datasource.password=hunter34\nlog.level=debug',
        },
      },
      'ConfigMap',
    );
    expect(out.data).toEqual({
      PGPASS: '***',
      PGPASSFILE: '/etc/pg/.pgpass',
      'pgpass.conf': 'db.example.com:5432:app:appuser:***\n',
      'context.xml': '<user>app</user>\n<password>***</password>\n',
      'app.properties': 'spring.datasource.password=***\nlog.level=debug',
    });
  });
});
