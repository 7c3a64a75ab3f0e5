/**
 * Finds keys that occur twice in one JSON object, named as the API server's strict decoder names them
 * (`metadata.labels.a`, `spec.template.spec.containers[0].image`), in document order. JSON.parse keeps
 * the last value, as the real decoder does; this only reports (fields/05-create-duplicate-fields-*.json).
 * The text has already parsed as JSON, so the scanner can be simple; it stops after `limit` findings.
 */
export function duplicateFields(text: string, limit = 100): string[] {
  const found: string[] = [];
  type Frame =
    | { kind: 'object'; path: string; keys: Set<string>; key?: string }
    | { kind: 'array'; path: string; index: number };
  const stack: Frame[] = [];
  const childPath = (frame: Frame | undefined): string => {
    if (!frame) return '';
    if (frame.kind === 'array') return `${frame.path}[${frame.index}]`;
    return frame.path ? `${frame.path}.${frame.key}` : frame.key!;
  };
  let expectKey = false;
  for (let i = 0; i < text.length && found.length < limit; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.kind === 'object') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key))
          found.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({
        kind: 'object',
        path: childPath(stack[stack.length - 1]),
        keys: new Set(),
      });
      expectKey = true;
    } else if (c === '[') {
      stack.push({
        kind: 'array',
        path: childPath(stack[stack.length - 1]),
        index: 0,
      });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index += 1;
      else expectKey = true;
    }
  }
  return found;
}
