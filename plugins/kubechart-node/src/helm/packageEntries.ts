import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gunzip = promisify(zlib.gunzip);

/** An entry of a chart package as helm (Go's archive/tar) reads it. */
export type PackageEntry = {
  path: string;
  type: 'File' | 'Directory';
  /** Bytes of content (0 for a directory). */
  size: number;
};

const BLOCK = 512;
const MAX_META = 64 * 1024;
// PAX records read otherwise than as a path or size (Go reads GNU.sparse.name as a path): refused.
const PAX_REFUSED = /^(linkpath|GNU\..*)$/;
const TYPE_NAMES: Record<string, string> = {
  '1': 'Link',
  '2': 'SymbolicLink',
  '3': 'CharacterDevice',
  '4': 'BlockDevice',
  '6': 'FIFO',
  '7': 'ContiguousFile',
  g: 'GlobalExtendedHeader',
  K: 'NextFileHasLongLinkpath',
  S: 'SparseFile',
};

const refuse = (message: string): never => {
  throw new InputError(`Chart refused: the chart package ${message}`);
};

/** A NUL-terminated text field; refused unless it is valid UTF-8 (so one name reads one way). */
function text(buf: Buffer, what: string): string {
  const end = buf.indexOf(0);
  const raw = end < 0 ? buf : buf.subarray(0, end);
  const s = raw.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(raw))
    refuse(`holds a ${what} that is not UTF-8`);
  return s;
}

/** An octal number field as Go reads it (padded with spaces and NULs); base-256 is refused. */
function octal(buf: Buffer): number {
  if (buf[0] & 0x80) refuse('holds a header with a base-256 number');
  const s = buf
    .toString('latin1')
    .replace(/^[ \0]+|[ \0]+$/g, '')
    .replace(/\0.*$/s, '');
  if (s === '') return 0;
  if (!/^[0-7]{1,12}$/.test(s))
    refuse('holds a header with a malformed number');
  return parseInt(s, 8);
}

/** The path and size of PAX records (`<length> <key>=<value>\n`), strictly: a malformed record is refused. */
function paxRecords(data: Buffer): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const digits = space < 0 ? '' : data.subarray(i, space).toString('latin1');
    const length = Number(digits);
    if (!/^[0-9]{1,7}$/.test(digits) || length <= space - i)
      refuse('holds a malformed PAX header');
    const record = data.subarray(space + 1, i + length);
    if (i + length > data.length || record[record.length - 1] !== 0x0a)
      refuse('holds a malformed PAX header');
    const kv = text(record.subarray(0, -1), 'PAX record');
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    if (eq <= 0 || value.includes('\n') || record.indexOf(0) >= 0)
      refuse('holds a malformed PAX header');
    if (PAX_REFUSED.test(key))
      refuse(`holds a PAX record "${key}", which is not accepted`);
    if (key === 'path') out.path = value;
    if (key === 'size') {
      if (!/^[0-9]{1,15}$/.test(value)) refuse('holds a malformed PAX header');
      out.size = Number(value);
    }
    i += length;
  }
  return out;
}

/**
 * The entries of a gzipped tar chart package as helm reads them (Go's archive/tar), for the header
 * forms `helm package` and common tar tools write: files, directories, PAX and GNU long names. Every
 * other form, and anything two tar readers could read differently (a file named like a directory, a
 * checksum only a signed sum matches, a PAX record that moves or resizes an entry, a number in
 * base-256), is an InputError. At most `maxEntries` entries and `maxBytes` bytes of content, and
 * `maxFileBytes` bytes in any one file (a refusal names the file).
 */
export async function listPackageEntries(
  archive: string,
  limits: { maxEntries: number; maxBytes: number; maxFileBytes: number },
): Promise<PackageEntry[]> {
  const tooLarge = () =>
    refuse(
      `holds more than ${limits.maxEntries} entries or ${limits.maxBytes} bytes`,
    );
  const packed = await fs.readFile(archive);
  if (packed.length > limits.maxBytes) tooLarge();
  let tar: Buffer;
  try {
    // Every gzip member, as Go's reader reads them; the bound leaves room for headers and padding.
    tar = await gunzip(packed, {
      maxOutputLength: limits.maxBytes + limits.maxEntries * 3 * BLOCK,
    });
  } catch (e) {
    if (e instanceof RangeError || (e as any)?.code === 'ERR_BUFFER_TOO_LARGE')
      return tooLarge();
    return refuse('is not a gzipped tar archive');
  }
  const entries: PackageEntry[] = [];
  let bytes = 0;
  let longName: string | undefined;
  let pax: { path?: string; size?: number } | undefined;
  let pos = 0;
  while (pos < tar.length) {
    if (tar.length - pos < BLOCK) refuse('ends inside a header');
    const header = tar.subarray(pos, pos + BLOCK);
    pos += BLOCK;
    if (header.every(b => b === 0)) {
      const next = tar.subarray(pos, pos + BLOCK);
      if (next.length === BLOCK && next.every(b => b === 0)) break;
      refuse('holds data after an empty header block');
    }
    let sum = 8 * 0x20;
    for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i];
    if (octal(header.subarray(148, 156)) !== sum)
      refuse('holds a header with a wrong checksum');
    const flag = String.fromCharCode(header[156]);
    const headerSize = octal(header.subarray(124, 136));
    // PAX size applies to the entry after the PAX header, as in both readers.
    const size =
      flag === 'x' || flag === 'L' ? headerSize : pax?.size ?? headerSize;
    const dataEnd = pos + Math.ceil(size / BLOCK) * BLOCK;
    if (tar.length < dataEnd) refuse('ends inside an entry');
    const data = tar.subarray(pos, pos + size);
    if (flag === 'x' || flag === 'L') {
      // Meta headers name the next entry; one of each, never both.
      if (size > MAX_META) refuse('holds a meta header larger than 64 KiB');
      if (flag === 'x') {
        if (pax || longName !== undefined)
          refuse('holds two meta headers for one entry');
        pax = paxRecords(data);
      } else {
        if (pax || longName !== undefined)
          refuse('holds two meta headers for one entry');
        longName = text(data, 'long name');
      }
      pos = dataEnd;
      continue;
    }
    const ustar =
      header.subarray(257, 265).toString('latin1') === 'ustar\u000000';
    let name = text(header.subarray(0, 100), 'name');
    const prefixField = header.subarray(345, 500);
    if (ustar && prefixField[0] !== 0) {
      // Go reads a 131-byte prefix in the "star" form (trailer "tar\0"), node-tar 155: refused.
      if (header.subarray(508, 512).toString('latin1') === 'tar\0')
        refuse('holds a header in the star format');
      name = `${text(prefixField, 'name prefix')}/${name}`;
    }
    name = longName ?? pax?.path ?? name;
    longName = undefined;
    pax = undefined;
    const mode = octal(header.subarray(100, 108));
    let type: PackageEntry['type'];
    if (flag === '5' || (flag === '\0' && name.endsWith('/'))) {
      if (size !== 0) refuse(`holds a directory with content (${name})`);
      type = 'Directory';
    } else if (flag === '0' || flag === '\0') {
      // Go reads these as files (or, with the directory mode bit, skips them); tar tools as directories.
      if (name.endsWith('/') || (mode & ~0o7777) === 0o40000)
        refuse(`holds a file named or marked as a directory (${name})`);
      type = 'File';
      if (size > limits.maxFileBytes)
        refuse(
          `holds ${name}, which is larger than ${limits.maxFileBytes} bytes (the largest file helm reads from a chart)`,
        );
    } else {
      return refuse(
        `holds ${
          TYPE_NAMES[flag]
            ? `a ${TYPE_NAMES[flag]}`
            : `an entry of type "${flag}"`
        } (${name}); only files and directories are accepted`,
      );
    }
    entries.push({ path: name, type, size: type === 'File' ? size : 0 });
    bytes += size;
    if (entries.length > limits.maxEntries || bytes > limits.maxBytes)
      tooLarge();
    pos = type === 'File' ? dataEnd : pos;
  }
  if (longName !== undefined || pax) refuse('ends after a meta header');
  return entries;
}
