import { fireEvent, screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { YamlValuesField, parseValues } from './YamlValuesField';

function render(formData?: Record<string, unknown>) {
  const onChange = jest.fn();
  const props: any = {
    name: 'values',
    formData,
    onChange,
    formContext: {},
    uiSchema: {},
    schema: { type: 'object', title: 'Values (YAML)' },
    idSchema: { $id: 'root_values' },
    rawErrors: [],
  };
  return { onChange, result: renderInTestApp(<YamlValuesField {...props} />) };
}

describe('YamlValuesField', () => {
  it('shows the values as YAML lines and keeps them as the object they describe', async () => {
    const { onChange } = render({
      image: { repository: 'nginx', tag: '1.27' },
      replicas: 2,
    });
    const box = (await screen.findByLabelText(
      'Values (YAML)',
    )) as HTMLTextAreaElement;
    expect(box.value).toBe(
      "image:\n  repository: nginx\n  tag: '1.27'\nreplicas: 2\n",
    );
    fireEvent.change(box, {
      target: { value: 'image:\n  tag: latest\nreplicas: 3\n' },
    });
    expect(onChange).toHaveBeenLastCalledWith({
      image: { tag: 'latest' },
      replicas: 3,
    });
  });

  it('says in a sentence what is wrong and leaves the field empty, so the step cannot go on', async () => {
    const { onChange } = render();
    fireEvent.change(await screen.findByLabelText('Values (YAML)'), {
      target: { value: 'image:\n  tag: [unclosed\n' },
    });
    expect(onChange).toHaveBeenLastCalledWith(undefined);
    expect(
      screen.getByText(/^The values are not valid YAML \(line \d+\)/),
    ).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Values (YAML)'), {
      target: { value: '- a\n- b\n' },
    });
    expect(screen.getByText(/must be a YAML mapping/)).toBeTruthy();
  });

  it('reads empty text as no values and refuses oversized text', () => {
    expect(parseValues('  \n')).toEqual({});
    expect(() => parseValues('a: 1\n'.repeat(20_000))).toThrow(/longer than/);
  });
});
