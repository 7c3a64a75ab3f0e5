import { gzipSync } from 'node:zlib';

/**
 * A gzipped tar archive with exactly the given entries (typeflag `type`, default `0`, a file), in
 * order: duplicates, odd paths and odd types included, which tar tools refuse to write. For tests of how chart packages are read.
 */
export function rawTarGz(
  entries: Array<{ path: string; content: string | Buffer; type?: string }>,
) {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.content)
      ? e.content
      : Buffer.from(e.content);
    const header = Buffer.alloc(512);
    const put = (text: string, offset: number) => header.write(text, offset);
    put(e.path, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148);
    put(e.type ?? '0', 156);
    put('ustar\0', 257);
    put('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
