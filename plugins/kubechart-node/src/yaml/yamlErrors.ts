import yaml from 'js-yaml';

/**
 * js-yaml reasons that quote the input (a tag, alias, handle or directive name), worded without
 * it. A value such as a password that starts with `!` or `*` is read as a tag or an alias, so
 * these quotes can be secrets.
 */
const QUOTING_REASONS: Array<[RegExp, string]> = [
  [/^unknown tag\b/, 'unknown tag'],
  [/^undeclared tag handle\b/, 'undeclared tag handle'],
  [/^unidentified alias\b/, 'alias to an anchor that does not exist'],
  [/^tag name cannot contain such characters\b/, 'invalid characters in a tag'],
  [/^tag name is malformed\b/, 'malformed tag'],
  [/^tag prefix is malformed\b/, 'malformed tag prefix'],
  [/^there is a previously declared suffix\b/, 'tag handle declared twice'],
  [/^unacceptable node kind for\b/, 'tag used on the wrong kind of node'],
  [/^cannot resolve a node with\b/, 'value does not match its explicit tag'],
  [/^unknown document directive\b/, 'unknown document directive'],
];

/** What js-yaml says is wrong, with no text of the input in it. */
function safeReason(reason: string): string {
  for (const [pattern, wording] of QUOTING_REASONS) {
    if (pattern.test(reason)) {
      return /tag|alias/.test(wording)
        ? `${wording}; quote a value that starts with !, & or *`
        : wording;
    }
  }
  // Every other js-yaml reason is a fixed sentence; one that quotes something (a newer js-yaml)
  // is not repeated.
  return /["<>]|: /.test(reason) || reason.length > 120
    ? 'syntax error'
    : reason;
}

/**
 * Why YAML text could not be read, and where, with nothing of the text in it: js-yaml's message
 * ends with a snippet of the lines around the error, and its reason can quote a tag or alias name
 * (a secret value that starts with `!` or `*`). An error of the reading schema is given as it is.
 * @public
 */
export function describeYamlError(error: unknown): string {
  if (error instanceof yaml.YAMLException && error.reason) {
    const at = error.mark
      ? ` (line ${error.mark.line + 1}, column ${error.mark.column + 1})`
      : '';
    return `${safeReason(error.reason)}${at}`;
  }
  // Not js-yaml's own: a refusal of the reading schema (HELM_YAML_SCHEMA), which quotes nothing.
  if (error instanceof Error && error.message)
    return error.message.split('\n')[0].slice(0, 300);
  return 'syntax error';
}
