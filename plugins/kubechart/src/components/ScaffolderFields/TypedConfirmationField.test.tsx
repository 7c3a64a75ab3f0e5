import { fireEvent, screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  TypedConfirmationField,
  typedConfirmationValidation,
} from './TypedConfirmationField';

const uiSchema = { 'ui:options': { match: 'tenant', noun: 'tenant code' } };

function validate(
  value: string | undefined,
  formData: Record<string, unknown>,
) {
  const errors: string[] = [];
  typedConfirmationValidation(
    value as string,
    { addError: (e: string) => errors.push(e) } as any,
    {
      formData,
      uiSchema,
    } as any,
  );
  return errors;
}

describe('TypedConfirmationField', () => {
  it('asks for the exact value and reports what to type', async () => {
    const onChange = jest.fn();
    await renderInTestApp(
      <TypedConfirmationField
        {...({
          name: 'confirm',
          formData: 'acm',
          onChange,
          formContext: { formData: { tenant: 'acme', confirm: 'acm' } },
          uiSchema,
          schema: { type: 'string', title: 'Type the tenant code to confirm' },
          idSchema: { $id: 'root_confirm' },
          rawErrors: [],
        } as any)}
      />,
    );
    expect(screen.getByText('Type acme to confirm.')).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Type the tenant code to confirm'), {
      target: { value: 'acme' },
    });
    expect(onChange).toHaveBeenCalledWith('acme');
  });

  it('lets the step go on only when the typed text equals the value', () => {
    expect(validate('acme', { tenant: 'acme' })).toEqual([]);
    expect(validate('Acme', { tenant: 'acme' })).toEqual([
      'Type the tenant code "acme" exactly to confirm.',
    ]);
    expect(validate('acme ', { tenant: 'acme' })).toHaveLength(1);
    expect(validate('', { tenant: 'acme' })).toHaveLength(1);
    expect(validate('anything', {})).toEqual([
      'Fill in the tenant code first.',
    ]);
  });
});
