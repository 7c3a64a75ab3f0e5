/**
 * Finds keys set twice in one block-style YAML mapping, reported as the API server's YAML decoder reports them:
 * `line 7: key "a" already set in map` (the line of the second key, 1-based), in document order
 * (../shared/reference/kube-api/fields/07-apply-duplicate-key-*.json). The body is parsed separately with the last
 * value winning; this only reports. It reads the block style clients write (helm, kubectl, hand-written
 * manifests); keys inside flow mappings (`{a: 1, a: 2}`) are not checked.
 */
export function duplicateYamlKeys(text: string, limit = 100): string[] {
  const found: string[] = [];
  type Frame = { indent: number; keys: Set<string> };
  let stack: Frame[] = [];
  // Inside a block scalar (`key: |`), lines indented deeper than its key are content.
  let blockScalarIndent: number | undefined;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length && found.length < limit; n++) {
    const line = lines[n];
    if (/^(---|\.\.\.)(\s|$)/.test(line)) {
      stack = [];
      blockScalarIndent = undefined;
      continue;
    }
    if (/^\s*(#.*)?$/.test(line)) continue;
    let indent = line.length - line.trimStart().length;
    if (blockScalarIndent !== undefined) {
      if (indent > blockScalarIndent) continue;
      blockScalarIndent = undefined;
    }
    let rest = line.slice(indent);
    // Each `- ` opens a new list item whose mapping starts after it.
    while (/^-(\s|$)/.test(rest)) {
      while (stack.length && stack[stack.length - 1].indent >= indent + 1)
        stack.pop();
      const step = rest.match(/^-\s*/)![0].length;
      indent += step;
      rest = rest.slice(step);
      stack.push({ indent, keys: new Set() });
      if (rest === '') break;
    }
    const m = rest.match(
      /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[][^:#]*?)\s*:(\s|$)(.*)$/,
    );
    if (!m) continue;
    let key = m[1];
    if (key.startsWith('"')) key = JSON.parse(key);
    else if (key.startsWith("'")) key = key.slice(1, -1).replace(/''/g, "'");
    while (stack.length && stack[stack.length - 1].indent > indent) stack.pop();
    let top = stack[stack.length - 1];
    if (!top || top.indent < indent) {
      top = { indent, keys: new Set() };
      stack.push(top);
    }
    if (top.keys.has(key))
      found.push(
        `line ${n + 1}: key ${JSON.stringify(key)} already set in map`,
      );
    top.keys.add(key);
    if (/^[|>][-+0-9]*\s*(#.*)?$/.test(m[3].trim())) blockScalarIndent = indent;
  }
  return found;
}
