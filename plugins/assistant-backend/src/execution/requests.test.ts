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

describe('numbers in a patch', () => {
  it.each([
    [
      '{"spec":{"template":{"spec":{"securityContext":{"runAsUser":9007199254740993}}}}}',
      'spec.template.spec.securityContext.runAsUser',
    ],
    [
      '{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":-12345678901234567890}]}]}}}}',
      'spec.template.spec.containers[0].ports[1].containerPort',
    ],
    // Exactly 2^53, and a whole number in exponent form: beyond the whole numbers sent exactly too.
    [
      '{"spec":{"activeDeadlineSeconds":9007199254740992}}',
      'spec.activeDeadlineSeconds',
    ],
    ['{"spec":{"activeDeadlineSeconds":1e20}}', 'spec.activeDeadlineSeconds'],
    // Beyond any number: sent as null.
    ['{"spec":{"activeDeadlineSeconds":1e400}}', 'spec.activeDeadlineSeconds'],
  ])(
    'refuses a whole number beyond 2^53 - 1, naming its field: %s',
    (text, field) => {
      const reason = `The patch sets ${field} to a whole number beyond 9007199254740991 (2^53 - 1), the largest the assistant sends exactly: the cluster would get another number than the one shown. Write a smaller one, or run this patch with kubectl yourself.`;
      expect(patchProblem(text)).toBe(reason);
      expect(() => changeBody(patch(text))).toThrow(reason);
    },
  );

  it.each([
    // Rounded to 0.1, and to 0.
    [
      '{"metadata":{"annotations":null},"spec":{"weight":0.10000000000000000001}}',
      'spec.weight',
    ],
    ['{"spec":{"weight":-1.5e-400}}', 'spec.weight'],
  ])('refuses a number that would be sent rounded: %s', (text, field) => {
    expect(patchProblem(text)).toBe(
      `The patch sets ${field} to a number the assistant cannot send as written (it would be rounded): the cluster would get another number than the one shown. Write it with fewer digits, or run this patch with kubectl yourself.`,
    );
  });

  it('sends the numbers it can send exactly, as written', () => {
    const text =
      '{"spec":{"replicas":3,"a":9007199254740991,"b":-9007199254740991,"c":1.5,"d":1e3,"e":1.0,"f":-0,"g":0.1,"h":"12345678901234567890"}}';
    expect(patchProblem(text)).toBeUndefined();
    expect(changeBody(patch(text))).toEqual({
      spec: {
        replicas: 3,
        a: 9007199254740991,
        b: -9007199254740991,
        c: 1.5,
        d: 1000,
        e: 1,
        f: -0,
        g: 0.1,
        h: '12345678901234567890',
      },
    });
    // Digits inside a string are text.
    expect(
      patchProblem('{"a":"9007199254740993","b":"1e400"}'),
    ).toBeUndefined();
  });

  it('reads a long number in linear time', () => {
    const digits = `1${'0'.repeat(60_000)}1`;
    expect(patchProblem(`{"a":${digits}}`)).toMatch(
      /^The patch sets a to a whole number beyond/,
    );
    expect(patchProblem(`{"a":0.${'0'.repeat(60_000)}1}`)).toMatch(
      /^The patch sets a to a number the assistant cannot send as written/,
    );
  });
});
