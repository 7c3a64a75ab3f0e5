import yaml from 'js-yaml';
import {
  costOf,
  nodesReadBy,
  nodesReadByAsync,
  superLinearScans,
} from './countWork';

describe('counted work', () => {
  /** Searches `text` again from each of its characters: about half the square of its length. */
  const quadratic = (text: string) => {
    for (let i = 0; i < text.length; i++) text.indexOf('!', i);
  };
  const linear = (text: string) => text.indexOf('!');

  it('counts the characters a search reads', () => {
    expect(costOf(() => linear('a'.repeat(1000)))).toBe(1000);
  });

  it('tells the texts on which ten times the text costs far more than ten times the work', () => {
    const texts = [(n: number) => 'a'.repeat(n), (n: number) => 'b'.repeat(n)];
    expect(superLinearScans(texts, linear, { size: 100 })).toEqual([]);
    expect(superLinearScans(texts, quadratic, { size: 100, shown: 3 })).toEqual(
      ['aaa…: 99 times the work', 'bbb…: 99 times the work'],
    );
    // One function that makes every text of a size counts the same.
    expect(
      superLinearScans(n => texts.map(textOf => textOf(n)), quadratic, {
        size: 100,
        shown: 1,
      }),
    ).toEqual(['a…: 99 times the work', 'b…: 99 times the work']);
  });

  it('counts the nodes js-yaml reads, of synchronous and asynchronous work', async () => {
    const text = 'a: [1, 2]\nb: {c: 3}\n';
    expect(nodesReadBy(() => yaml.loadAll(text))).toEqual({ nodes: 9 });
    expect(nodesReadBy(() => yaml.loadAll('a: [1, 2')).error?.message).toMatch(
      /unexpected end of the stream/,
    );
    const { result, nodes } = await nodesReadByAsync(async () =>
      yaml.loadAll(text),
    );
    expect(result).toEqual([{ a: [1, 2], b: { c: 3 } }]);
    expect(nodes).toBe(9);
    // Restored: reading now is not counted.
    expect(yaml.loadAll(text)).toEqual(result);
  });
});
