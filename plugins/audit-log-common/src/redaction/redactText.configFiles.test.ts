import { REDACTED, redactKubeObject, redactText } from '.';

const wide = { keys: 'any-word', midLineValues: 'line' } as const;

describe('secrets in config files held as text (a ConfigMap’s data value)', () => {
  it('hides the password of each .pgpass line, its host, port, database and user kept', () => {
    const pgpass = [
      'db.example.com:5432:app:appuser:hunter2',
      '*:*:*:replicator:s3cr:et with blanks',
      '  10.0.0.7:*:reports:ro\\:user:pa\\:ss',
      '# a comment: not a line',
    ].join('\n');
    const shown = [
      `db.example.com:5432:app:appuser:${REDACTED}`,
      `*:*:*:replicator:${REDACTED}`,
      `  10.0.0.7:*:reports:ro\\:user:${REDACTED}`,
      '# a comment: not a line',
    ].join('\n');
    expect(redactText(pgpass)).toBe(shown);
    expect(redactText(pgpass, { ...wide, placeholder: REDACTED })).toBe(shown);
    expect(redactText(shown)).toBe(shown);
    // Not a .pgpass line: its second field is not a port.
    for (const text of [
      'image: registry:5000/app:1.2:latest',
      'time 12:30:45 ok',
      'a:b:c:d:e',
    ])
      expect(redactText(text)).toBe(text);
  });

  it('hides the text of an XML element naming a secret, and the value of a name/value property naming one', () => {
    const xml = [
      '<datasource>',
      '  <user>app</user>',
      '  <password>hunter2</password>',
      '  <db:password>hunter3</db:password>',
      '  <apiToken><![CDATA[tok<en>]]></apiToken>',
      '  <secret-key attr="1">hunter4</secret-key>',
      '  <keyboard>us</keyboard>',
      '  <passwordRequired>true</passwordRequired>',
      '</datasource>',
      '<property><name>fs.s3a.secret.key</name><value>AKIAxyz</value></property>',
      '<property>',
      '  <name>fs.s3a.endpoint</name>',
      '  <value>s3.example.com</value>',
      '</property>',
    ].join('\n');
    const shown = [
      '<datasource>',
      '  <user>app</user>',
      `  <password>${REDACTED}</password>`,
      `  <db:password>${REDACTED}</db:password>`,
      `  <apiToken><![CDATA[${REDACTED}]]></apiToken>`,
      `  <secret-key attr="1">${REDACTED}</secret-key>`,
      '  <keyboard>us</keyboard>',
      '  <passwordRequired>true</passwordRequired>',
      '</datasource>',
      `<property><name>fs.s3a.secret.key</name><value>${REDACTED}</value></property>`,
      '<property>',
      '  <name>fs.s3a.endpoint</name>',
      '  <value>s3.example.com</value>',
      '</property>',
    ].join('\n');
    expect(redactText(xml)).toBe(shown);
    expect(redactText(shown)).toBe(shown);
    // An element left open hides to the end of the text.
    expect(redactText('<password>hunter2')).toBe(`<password>${REDACTED}`);
  });

  it('already hid a properties line and JSON held in a string, and still does', () => {
    expect(
      redactText(
        'spring.datasource.password=hunter2\nspring.datasource.url=jdbc:postgresql://db/app',
      ),
    ).toBe(
      `spring.datasource.password=${REDACTED}\nspring.datasource.url=jdbc:postgresql://db/app`,
    );
    expect(redactText('{"db": {"password": "x y", "user": "app"}}')).toBe(
      `{"db": {"password": "${REDACTED}", "user": "app"}}`,
    );
    expect(redactText('{"config": "{\\"password\\": \\"x\\"}"}')).toBe(
      `{"config": "{\\"password\\": \\"${REDACTED}\\"}"}`,
    );
  });

  it('hides them in a ConfigMap’s data values by the text rules a caller scrubs with', () => {
    const scrub = (text: string) => redactText(text, wide);
    const shown = redactKubeObject(
      {
        kind: 'ConfigMap',
        data: {
          'pg.conf': 'db:5432:app:appuser:PGPASSLINE1\n',
          'context.xml':
            '<Resource name="jdbc/app" password="XMLATTR1"/>\n<password>XMLELEM1</password>',
          'app.properties':
            'spring.datasource.password=PROPS1\nlog.level=debug',
          'cfg.json': '{"password": "JSON1", "user": "app"}',
        },
      },
      { scrub },
    );
    const text = JSON.stringify(shown);
    for (const v of ['PGPASSLINE1', 'XMLATTR1', 'XMLELEM1', 'PROPS1', 'JSON1'])
      expect(text).not.toContain(v);
    expect(text).toContain('db:5432:app:appuser:');
    expect(text).toContain('log.level=debug');
  });

  it('scrubs 1 MB of hostile config-file text in linear time', () => {
    const size = 1_000_000;
    const fill = (unit: string) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const hostile = [
      fill('<password>'),
      fill('<password><![CDATA['),
      fill('<password'),
      fill('<a '),
      fill('<'),
      fill('<name>password</name>'),
      fill('<name>password</name> <value'),
      fill('<name>password'),
      fill('a:1:b:c:'),
      fill('a:1:b:c\n'),
      fill('\\:'),
      `a:1:${fill('b')}`,
      `<password ${fill('a')}`,
    ];
    const plain = 'a'.repeat(size);
    const time = (text: string) => {
      const started = performance.now();
      redactText(text, wide);
      redactText(text);
      return performance.now() - started;
    };
    const plainMs = time(plain);
    const slow: string[] = [];
    for (const text of hostile) {
      const ms = time(text);
      // A linear scan takes a few hundred milliseconds at most; a quadratic one, minutes.
      if (ms >= Math.max(2500, 50 * plainMs))
        slow.push(`${text.slice(0, 24)}…: ${Math.round(ms)} ms`);
    }
    expect(slow).toEqual([]);
  }, 120_000);
});
