import { AuditEvent } from '@kubechart/plugin-audit-log-common';
import { csvChunks, CSV_COLUMNS, escapeFormula } from './exportStream';

function event(seq: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + seq).toISOString(),
    actor: 'user:default/jane',
    plugin: 'kubechart',
    eventId: 'run-create',
    severity: 'high',
    status: 'succeeded',
    target: { cluster: 'dev' },
    prevHash: '0'.repeat(64),
    hash: 'a'.repeat(64),
    ...overrides,
  };
}

/** RFC 4180 reader, as a spreadsheet reads the file. */
function parse(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  return rows;
}

async function* from(events: AuditEvent[]) {
  for (const e of events) yield e;
}

async function collect(events: AuditEvent[]): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of csvChunks(from(events))) chunks.push(chunk);
  return chunks;
}

describe('CSV export', () => {
  it('prefixes every formula-leading cell with a quote (OWASP)', async () => {
    const hostile = [
      '=HYPERLINK("http://x","y")',
      '+1+1',
      '-2+3',
      '@SUM(A1:A2)',
      '\t=1',
      '\r=1',
    ];
    const chunks = await collect(
      hostile.map((text, i) =>
        event(i + 1, {
          actor: text,
          target: { cluster: text, namespace: 'team-a' },
          error: text,
        }),
      ),
    );
    const rows: string[][] = parse(chunks.join(''));
    expect(rows[0]).toEqual(CSV_COLUMNS);
    const actor = CSV_COLUMNS.indexOf('actor');
    const cluster = CSV_COLUMNS.indexOf('targetCluster');
    const error = CSV_COLUMNS.indexOf('error');
    rows.slice(1).forEach((row, i) => {
      expect(row[actor]).toBe(`'${hostile[i]}`);
      expect(row[cluster]).toBe(`'${hostile[i]}`);
      expect(row[error]).toBe(`'${hostile[i]}`);
      // what a spreadsheet would evaluate: no cell starts a formula
      for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    });
    expect(rows[1][CSV_COLUMNS.indexOf('targetNamespace')]).toBe('team-a');
  });

  it('prefixes a formula behind leading blanks or in full-width characters', () => {
    const hostile = [
      ' =1+1',
      '  +1',
      '\u00a0-2+3',
      '\n@SUM(A1:A2)',
      '\u3000=1',
      '\u200b=1',
      '\ufeff=1',
      '\uff1dHYPERLINK("http://x","y")',
      '\uff0b1',
      '\uff0d1',
      '\uff20SUM(A1)',
      ' \uff1d1',
      '\t',
      '\r',
    ];
    for (const cell of hostile) {
      expect(escapeFormula(cell)).toBe(`'${cell}`);
    }
  });

  it('leaves ordinary cells and numbers alone', () => {
    expect(escapeFormula(' a=b')).toBe(' a=b');
    expect(escapeFormula(' ')).toBe(' ');
    expect(escapeFormula('user:default/jane')).toBe('user:default/jane');
    expect(escapeFormula('a=b')).toBe('a=b');
    expect(escapeFormula('')).toBe('');
  });

  it('streams: a large export arrives in many chunks, header first', async () => {
    const chunks = await collect(
      Array.from({ length: 1000 }, (_, i) => event(i + 1)),
    );
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks[0]).toBe(`${CSV_COLUMNS.join(',')}\n`);
    expect(Math.max(...chunks.map(c => c.length))).toBeLessThan(200 * 400);
  });
});
