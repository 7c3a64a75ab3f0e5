import { useState } from 'react';
import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';
import TextField from '@material-ui/core/TextField';
import yaml from 'js-yaml';

/** Name of the field extension, as templates write it in `ui:field`. @public */
export const YAML_VALUES_FIELD = 'KubechartYamlValues';

/** Largest YAML text the field reads (the backend has its own, larger limits). */
const MAX_CHARS = 64 * 1024;

type Values = Record<string, unknown>;

/** Reads the text as a YAML mapping; an empty text is no values. Throws a sentence on anything else. */
export function parseValues(text: string): Values {
  if (text.length > MAX_CHARS) {
    throw new Error(`The values are longer than ${MAX_CHARS} characters.`);
  }
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch (e) {
    const mark = (e as { mark?: { line?: number } }).mark;
    const where = mark?.line !== undefined ? ` (line ${mark.line + 1})` : '';
    throw new Error(
      `The values are not valid YAML${where}: ${
        (e as { reason?: string }).reason ?? 'cannot be read'
      }.`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      'The values must be a YAML mapping of keys to values, e.g. "replicas: 2".',
    );
  }
  return parsed as Values;
}

/**
 * Helm values typed as YAML text; the form keeps them as the object they describe, so the review
 * step lists them key by key on their own lines, and the action gets the same object. Text that
 * is not a YAML mapping leaves the field empty (the template marks it required) with the reason.
 */
export function YamlValuesField(
  props: FieldExtensionComponentProps<Values, { rows?: number }>,
) {
  const {
    onChange,
    formData,
    schema,
    uiSchema,
    idSchema,
    required,
    rawErrors,
  } = props;
  const [text, setText] = useState(() =>
    formData && Object.keys(formData).length
      ? yaml.dump(formData, { noRefs: true, lineWidth: -1 })
      : '',
  );
  const [problem, setProblem] = useState<string>();
  const label = schema.title ?? 'Values (YAML)';
  return (
    <TextField
      id={idSchema?.$id}
      label={label}
      value={text}
      onChange={e => {
        setText(e.target.value);
        try {
          onChange(parseValues(e.target.value));
          setProblem(undefined);
        } catch (err) {
          setProblem((err as Error).message);
          onChange(undefined);
        }
      }}
      multiline
      minRows={uiSchema?.['ui:options']?.rows ?? 8}
      required={required}
      fullWidth
      margin="normal"
      variant="outlined"
      error={!!problem || (rawErrors?.length ?? 0) > 0}
      helperText={problem ?? schema.description}
      inputProps={{ spellCheck: false, style: { fontFamily: 'monospace' } }}
    />
  );
}

/** A value that is not a mapping (e.g. from a query string) is refused with a sentence. */
export const yamlValuesValidation: CustomFieldValidator<Values> = (
  value,
  validation,
) => {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    validation.addError('The values must be a YAML mapping of keys to values.');
  }
};
