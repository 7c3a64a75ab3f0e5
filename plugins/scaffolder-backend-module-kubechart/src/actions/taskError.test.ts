import { InputError } from '@backstage/errors';
import { TaskFailure, withTaskErrors } from './taskError';

// The scaffolder writes a failed step's `err.stack` into the task log (NunjucksWorkflowRunner).
const frames = /\n\s+at \S/;

describe('withTaskErrors', () => {
  it('rethrows an answer (bad input, a refusal) with its name and message and no stack frames', async () => {
    const original = new InputError('values must be a mapping');
    expect(original.stack).toMatch(frames);
    const thrown = await withTaskErrors(async () => {
      throw original;
    }).catch(e => e);
    expect(thrown).toBeInstanceOf(TaskFailure);
    expect(thrown.name).toBe('InputError');
    expect(thrown.message).toBe('values must be a mapping');
    expect(thrown.stack).toBe('InputError: values must be a mapping');
  });

  it('keeps the stack of anything else: a bug is for whoever fixes it', async () => {
    const bug = await withTaskErrors(async () => {
      (undefined as any).missing();
    }).catch(e => e);
    expect(bug).toBeInstanceOf(TypeError);
    expect(bug.stack).toMatch(frames);
  });

  it('passes results through', async () => {
    await expect(withTaskErrors(async () => 42)).resolves.toBe(42);
  });
});
