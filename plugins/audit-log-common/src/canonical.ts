/**
 * Serialises a JSON value with object keys sorted recursively and `undefined`
 * object members omitted, so that equal values always give equal strings.
 * Used for the audit hash chain.
 * @public
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return `[${value
      .map(v => (v === undefined ? 'null' : canonicalJson(v)))
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const v = obj[key];
      if (v !== undefined) {
        parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
      }
    }
    return `{${parts.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return 'null';
  }
  return JSON.stringify(value);
}
