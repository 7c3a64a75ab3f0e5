import { InputError } from '@backstage/errors';
import { changeBody, patchProblem } from './requests';

const patch = (text: string) => ({
  verb: 'patch' as const,
  resource: 'deployments' as const,
  name: 'web',
  namespace: 'shop',
  patch: text,
});

describe('changeBody of a patch', () => {
  it('sends the body of a patch whose text says exactly that', () => {
    expect(
      changeBody(patch('{ "spec": { "replicas": 3, "paused": false } }')),
    ).toEqual({ spec: { replicas: 3, paused: false } });
    expect(patchProblem('{"a":{"b":1},"b":{"a":[{"a":1},{"a":2}]}}')).toBe(
      undefined,
    );
  });

  it.each([
    [
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"DB_PASSWORD","value":"hunter22"}]}]}}},"spec":{"replicas":2}}',
      'The patch sets "spec" twice (at the top level): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.',
    ],
    [
      '{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1","image":"x:2"}]}}}}',
      'The patch sets "image" twice (at spec.template.spec.containers[0]): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.',
    ],
    // The same key, written with an escape.
    [
      '{"metadata":{"labels":{"tier":"web","\\u0074ier":"db"}}}',
      'The patch sets "tier" twice (at metadata.labels): JSON keeps only the last, so what would be sent is not what the patch shows. Write each key once.',
    ],
  ])('refuses a patch that sets a key twice: %s', (text, reason) => {
    let error: unknown;
    try {
      changeBody(patch(text));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(reason);
    expect(patchProblem(text)).toBe(reason);
  });

  it('finds a key given twice however deep the patch nests', () => {
    const depth = 20_000;
    const text = `${'{"a":'.repeat(depth)}1,"a":2${'}'.repeat(depth)}`;
    expect(patchProblem(text)).toMatch(
      /^The patch sets "a" twice \(at a\.a\.a/,
    );
    // Quotes and braces inside strings are text, not structure.
    expect(patchProblem('{"a":"{\\"a\\":1,\\"a\\":2}","b":"}"}')).toBe(
      undefined,
    );
  });
});
