import {
  MAX_RECORDED_CHANGES,
  namedChanges,
  recordedChanges,
} from './RunContext';

const changes = (n: number) =>
  Array.from({ length: n }, (_, i) => `created ConfigMap/c${i} in shop`);

describe('the changes recorded on a run', () => {
  it('keeps every change of a run up to the limit', () => {
    expect(recordedChanges([])).toEqual([]);
    const all = changes(MAX_RECORDED_CHANGES);
    expect(recordedChanges(all)).toEqual(all);
  });

  it('names the first changes of a longer run and counts the rest', () => {
    const recorded = recordedChanges(changes(MAX_RECORDED_CHANGES + 10));
    expect(recorded).toHaveLength(MAX_RECORDED_CHANGES);
    expect(recorded[MAX_RECORDED_CHANGES - 2]).toBe(
      `created ConfigMap/c${MAX_RECORDED_CHANGES - 2} in shop`,
    );
    expect(recorded[MAX_RECORDED_CHANGES - 1]).toBe('and 11 more');
  });

  it('counts every change a record stands for when fewer are named', () => {
    expect(namedChanges(changes(3), 5)).toEqual(changes(3));
    expect(namedChanges(changes(7), 5)).toEqual([...changes(5), 'and 2 more']);
    // A record that already ends with "and N more": N counts too.
    const recorded = recordedChanges(changes(MAX_RECORDED_CHANGES + 10));
    expect(namedChanges(recorded, 50)).toEqual([
      ...changes(50),
      `and ${MAX_RECORDED_CHANGES + 10 - 50} more`,
    ]);
    expect(namedChanges(recorded, MAX_RECORDED_CHANGES)).toEqual(recorded);
    expect(namedChanges([...changes(2), 'and 3 more'], 10)).toEqual([
      ...changes(2),
      'and 3 more',
    ]);
  });
});
