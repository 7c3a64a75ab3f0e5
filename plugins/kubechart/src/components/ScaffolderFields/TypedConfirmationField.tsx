import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';
import TextField from '@material-ui/core/TextField';

/** `ui:options` of the field. */
export type TypedConfirmationOptions = {
  /** The form field whose value must be typed, e.g. `tenant`. */
  match: string;
  /** What that value is, for the messages [value]. */
  noun?: string;
};

/** Name of the field extension, as templates write it in `ui:field`. @public */
export const TYPED_CONFIRMATION_FIELD = 'KubechartTypedConfirmation';

function expected(
  formData: Record<string, unknown> | undefined,
  options?: TypedConfirmationOptions,
) {
  const value = options?.match ? formData?.[options.match] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * A confirmation for destructive templates: the user types the name of what is about to go (the
 * value of the form field `ui:options.match`); the step cannot go on until it matches exactly.
 */
export function TypedConfirmationField(
  props: FieldExtensionComponentProps<string, TypedConfirmationOptions>,
) {
  const {
    onChange,
    formData,
    formContext,
    uiSchema,
    schema,
    rawErrors,
    required,
    idSchema,
  } = props;
  const options = uiSchema?.['ui:options'];
  const want = expected(formContext?.formData, options);
  const noun = options?.noun ?? 'value';
  const typed = formData ?? '';
  const mismatch = typed.length > 0 && typed !== want;
  return (
    <TextField
      id={idSchema?.$id}
      label={schema.title ?? `Type the ${noun} to confirm`}
      value={typed}
      onChange={e => onChange(e.target.value || undefined)}
      required={required}
      fullWidth
      margin="normal"
      variant="outlined"
      autoComplete="off"
      error={mismatch || (rawErrors?.length ?? 0) > 0}
      helperText={
        want
          ? `Type ${want} to confirm. ${schema.description ?? ''}`.trim()
          : `Fill in the ${noun} first.`
      }
      inputProps={{
        'aria-label': schema.title ?? `Type the ${noun} to confirm`,
        spellCheck: false,
      }}
    />
  );
}

/** The step goes on only when the typed text equals the value it confirms. */
export const typedConfirmationValidation: CustomFieldValidator<
  string,
  TypedConfirmationOptions
> = (value, validation, context) => {
  const options = context.uiSchema?.['ui:options'];
  const want = expected(context.formData, options);
  const noun = options?.noun ?? 'value';
  if (!want) {
    validation.addError(`Fill in the ${noun} first.`);
  } else if (value !== want) {
    validation.addError(`Type the ${noun} "${want}" exactly to confirm.`);
  }
};
