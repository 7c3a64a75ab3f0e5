import type { DriftObject } from '@kubechart/plugin-kubechart-common';
import {
  MAX_OBJECTS_PER_RECORD,
  MAX_RECORD_BYTES,
  RecordListing,
  jsonBytes,
  shownValue,
} from './recordBounds';

describe('what a drift record shows', () => {
  it('counts the bytes of a value as JSON writes them, escapes and UTF-8 included', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -1.5e-7,
      NaN,
      'plain',
      'quote " backslash \\ newline \n tab \t bell \u0007',
      'é ü ß – € 中文 😀',
      'lone \ud800 and \udc00 surrogates',
      [],
      {},
      [1, undefined, 'x', () => 1, null],
      { a: 1, b: undefined, 'c "d"': [{ e: 'f' }], g: { h: {} } },
      new Date(0),
      { nested: { list: ['a', { deeper: ['😀', 2, false] }] } },
    ];
    for (const v of values)
      expect([v, jsonBytes(v)]).toEqual([
        v,
        Buffer.byteLength(JSON.stringify(v), 'utf8'),
      ]);
    expect(jsonBytes(undefined)).toBe(0);
  });

  it('shows a value of up to 1 KiB of JSON as it is, a longer one as its size', () => {
    const fits = 'a'.repeat(1022);
    expect(shownValue(fits)).toBe(fits);
    expect(shownValue(`${fits}a`)).toEqual({
      notShown: 'value of 1025 bytes',
    });
    const map = { data: 'é'.repeat(600) };
    expect(shownValue(map)).toEqual({ notShown: 'value of 1211 bytes' });
    expect(shownValue(undefined)).toBeUndefined();
    expect(shownValue(5)).toBe(5);
    // A value that reads as the marker is never shown as it is.
    expect(shownValue({ notShown: 'value of 3 bytes' })).toEqual({
      notShown: 'value of 31 bytes',
    });
  });

  const changed = (name: string, fields: number, value = 'v'): DriftObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: 'shop',
    name,
    state: 'changed',
    fields: Array.from({ length: fields }, (_, i) => ({
      path: `data.f${i}`,
      expected: 'blue',
      actual: value,
    })),
  });

  it('lists at most 100 objects, and says how many more drifted', () => {
    const listing = new RecordListing();
    for (let i = 0; i < MAX_OBJECTS_PER_RECORD + 3; i++)
      listing.addObject({ ...changed(`c${i}`, 0), state: 'missing' });
    expect(listing.objects).toHaveLength(MAX_OBJECTS_PER_RECORD);
    expect(listing.message()).toBe(
      'the record does not list 3 drifted objects: a drift record lists at most 100 objects, 100 changed fields per object and 64 KiB of them',
    );
    expect(new RecordListing().message()).toBeUndefined();
  });

  it('lists objects and fields while they fit 64 KiB, counting those left out before and after', () => {
    const listing = new RecordListing();
    const value = 'x'.repeat(1000);
    listing.addObject(changed('first', 40, value), 7);
    listing.addObject(changed('second', 40, value));
    listing.addObject(changed('third', 40, value));
    for (let i = 0; i < 150; i++)
      listing.addNotCompared({
        apiVersion: 'v1',
        kind: 'Secret',
        name: `db-${i}`,
        count: 1,
        fields: ['data.password'],
      });
    const [first, second] = listing.objects;
    expect(first.fields).toHaveLength(40);
    expect(second.fields.length).toBeGreaterThan(0);
    expect(second.fields.length).toBeLessThan(40);
    // `third` fits with none of its fields: it is not listed, as a changed object without a field would mislead.
    expect(listing.objects.map(o => o.name)).toEqual(['first', 'second']);
    expect(
      JSON.stringify({
        objects: listing.objects,
        notCompared: listing.notCompared,
      }).length,
    ).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    // The few bytes left take some of the fields not compared.
    const notCompared = listing.notCompared.length;
    expect(notCompared).toBeGreaterThan(0);
    expect(listing.left).toEqual({
      objects: 1,
      fields: 7 + 40 - second.fields.length,
      notCompared: 150 - notCompared,
    });
    expect(listing.message()).toBe(
      `the record does not list 1 drifted object, ${
        47 - second.fields.length
      } fields of the objects it lists, ${
        150 - notCompared
      } objects with fields it did not compare: a drift record lists at most 100 objects, 100 changed fields per object and 64 KiB of them`,
    );
  });
});
