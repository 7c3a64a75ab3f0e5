/** YAML's short escapes, as go-yaml writes them in a double-quoted scalar. */
const GO_YAML_ESCAPES: Record<number, string> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

/**
 * Whether go-yaml (helm's `toYaml`, kubectl's YAML output) writes the character `c` (one code
 * point) as it is inside a double-quoted scalar: printable (its `is_printable`), not a line
 * break, not `"` or `\`. Any other character is written as {@link goYamlEscaped} gives it.
 * @public
 */
export function goYamlWritesAsIs(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return (
    (cp >= 0x20 && cp <= 0x7e && cp !== 0x22 && cp !== 0x5c) ||
    (cp >= 0xa0 && cp <= 0xd7ff && cp !== 0x2028 && cp !== 0x2029) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

/**
 * The escape go-yaml writes for the character `c` (one code point) inside a double-quoted
 * scalar: a short escape (`\n`, `\"`, `\_`, …) where YAML has one, else `\xXX`, `\uXXXX` or
 * `\UXXXXXXXX`.
 * @public
 */
export function goYamlEscaped(c: string): string {
  const cp = c.codePointAt(0)!;
  if (GO_YAML_ESCAPES[cp] !== undefined) return `\\${GO_YAML_ESCAPES[cp]}`;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}
