import type {
  DriftField,
  DriftNotCompared,
  DriftObject,
} from '@kubechart/plugin-kubechart-common';

/**
 * A drift record is read whole by every `GET /runs/:id/drift` and `GET /drift`, and written whole by
 * each drift pass, on the backend's event loop: what it shows of the live objects is bounded, as
 * their size is not (a namespace user may set a ConfigMap's values to 1 MiB each). It shows each
 * value up to {@link MAX_SHOWN_VALUE_BYTES} of JSON, at most {@link MAX_CHANGED_FIELDS_PER_OBJECT}
 * changed fields of an object, {@link MAX_OBJECTS_PER_RECORD} objects and {@link MAX_RECORD_BYTES}
 * of them, and says in its message how many it does not list.
 */

/** The most bytes of JSON a record shows of one applied or live value. */
export const MAX_SHOWN_VALUE_BYTES = 1024;
/** The most changed fields a record lists per object (fields other managers added have their own bound). */
export const MAX_CHANGED_FIELDS_PER_OBJECT = 100;
/** The most objects a record lists, drifted ones and those with fields not compared each. */
export const MAX_OBJECTS_PER_RECORD = 100;
/** The most bytes of JSON a record's objects and fields not compared take together. */
export const MAX_RECORD_BYTES = 64 * 1024;

/** What a record shows in place of a value longer than {@link MAX_SHOWN_VALUE_BYTES}: its size. */
export type NotShownValue = { notShown: string };

const isMap = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/** Whether `v` reads as {@link NotShownValue}. */
export function looksNotShown(v: unknown): boolean {
  return (
    isMap(v) && Object.keys(v).length === 1 && typeof v.notShown === 'string'
  );
}

/** Bytes of UTF-8 of a string as JSON, quotes and escapes included, counted without building it. */
function stringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) n += [8, 9, 10, 12, 13].includes(c) ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else n += 6; // A lone surrogate is written `\udxxx`.
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}

/** What JSON leaves out of an object, and writes as `null` in a list. */
const omitted = (v: unknown) =>
  v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * The bytes of UTF-8 of `JSON.stringify(value)` (0 for a value it leaves out), counted by walking
 * the value: no string of its size is built, however large it is.
 */
export function jsonBytes(value: unknown): number {
  if (value === null) return 4;
  if (omitted(value)) return 0;
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value === 'number')
    return Number.isFinite(value) ? String(value).length : 4;
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (typeof value !== 'object') return String(value).length;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return jsonBytes(toJSON.call(value));
  if (Array.isArray(value)) {
    let n = 2 + Math.max(0, value.length - 1);
    for (const v of value) n += omitted(v) ? 4 : jsonBytes(v);
    return n;
  }
  let n = 2;
  let first = true;
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    if (omitted(v)) continue;
    n += (first ? 0 : 1) + stringBytes(k) + 1 + jsonBytes(v);
    first = false;
  }
  return n;
}

/**
 * What a record shows of a value: the value, or its size when its JSON is longer than
 * {@link MAX_SHOWN_VALUE_BYTES}. A value that reads as the marker itself is shown as its size too:
 * what reads as `{ notShown }` is never a value shown as it is.
 */
export function shownValue(value: unknown): unknown {
  if (value === undefined) return undefined;
  const bytes = jsonBytes(value);
  return bytes > MAX_SHOWN_VALUE_BYTES || looksNotShown(value)
    ? ({ notShown: `value of ${bytes} bytes` } satisfies NotShownValue)
    : value;
}

/**
 * The objects and fields not compared a record lists, taken in the order they were compared until
 * one of the bounds is reached, and how many of them it does not list.
 */
export class RecordListing {
  readonly objects: DriftObject[] = [];
  readonly notCompared: DriftNotCompared[] = [];
  /** Drifted objects, fields of the objects listed, and objects with fields not compared, not listed. */
  readonly left = { objects: 0, fields: 0, notCompared: 0 };
  // The brackets of the two lists.
  private bytes = 4;

  /** Lists a drifted object, with as many of its fields as fit; `unlisted` more were left out before. */
  addObject(object: DriftObject, unlisted = 0): void {
    const { fields, ...head } = object;
    let bytes = this.bytes + jsonBytes({ ...head, fields: [] }) + 1;
    if (
      this.objects.length >= MAX_OBJECTS_PER_RECORD ||
      bytes > MAX_RECORD_BYTES
    ) {
      this.left.objects++;
      return;
    }
    const listed: DriftField[] = [];
    for (const field of fields) {
      const b = jsonBytes(field) + 1;
      if (bytes + b > MAX_RECORD_BYTES) break;
      bytes += b;
      listed.push(field);
    }
    // A changed object listed without any of its fields would read as changed in nothing.
    if (fields.length > 0 && listed.length === 0) {
      this.left.objects++;
      return;
    }
    this.bytes = bytes;
    this.left.fields += fields.length - listed.length + unlisted;
    this.objects.push({ ...head, fields: listed });
  }

  addNotCompared(entry: DriftNotCompared): void {
    const bytes = this.bytes + jsonBytes(entry) + 1;
    if (
      this.notCompared.length >= MAX_OBJECTS_PER_RECORD ||
      bytes > MAX_RECORD_BYTES
    ) {
      this.left.notCompared++;
      return;
    }
    this.bytes = bytes;
    this.notCompared.push(entry);
  }

  /** What the record's message says of what it does not list; undefined when it lists everything. */
  message(): string | undefined {
    const { objects, fields, notCompared } = this.left;
    const count = (n: number, what: string) =>
      `${n} ${what}${n === 1 ? '' : 's'}`;
    const parts = [
      objects ? count(objects, 'drifted object') : '',
      fields ? `${count(fields, 'field')} of the objects it lists` : '',
      notCompared
        ? `${count(notCompared, 'object')} with fields it did not compare`
        : '',
    ].filter(Boolean);
    if (!parts.length) return undefined;
    return `the record does not list ${parts.join(
      ', ',
    )}: a drift record lists at most ${MAX_OBJECTS_PER_RECORD} objects, ${MAX_CHANGED_FIELDS_PER_OBJECT} changed fields per object and ${
      MAX_RECORD_BYTES / 1024
    } KiB of them`;
  }
}
