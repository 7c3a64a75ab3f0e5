import { toTable } from './tables';

describe('endpoints table', () => {
  const endpoints = (addresses: number, ports: number) => ({
    metadata: { name: 'web', namespace: 'shop' },
    subsets: [
      {
        addresses: Array.from({ length: addresses }, (_, i) => ({
          ip: `10.0.0.${i + 1}`,
        })),
        ports: Array.from({ length: ports }, (_, i) => ({ port: 8000 + i })),
      },
    ],
  });

  it('names the first three endpoints and counts the rest, as kubectl does', () => {
    const { rows } = toTable('endpoints', [endpoints(5, 2)], false);
    expect(rows[0][1]).toBe(
      '10.0.0.1:8000,10.0.0.1:8001,10.0.0.2:8000 + 7 more...',
    );
    expect(toTable('endpoints', [endpoints(1, 2)], false).rows[0][1]).toBe(
      '10.0.0.1:8000,10.0.0.1:8001',
    );
  });

  it('does not write out every address by every port', () => {
    // Three million endpoints: a cell of tens of megabytes when written out.
    const { rows } = toTable('endpoints', [endpoints(1000, 3000)], false);
    expect(rows[0][1]).toBe(
      '10.0.0.1:8000,10.0.0.1:8001,10.0.0.1:8002 + 2999997 more...',
    );
  });
});
