/**
 * Thrown by a provider that understood a question well enough to know it
 * must not be planned: a change it cannot express exactly, or more than one
 * command. The message says what was understood and what cannot be done. A
 * refusal is final: the backend does not ask the next provider.
 *
 * @public
 */
export class PlanRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanRefusal';
  }
}

/** Whether an error is a {@link PlanRefusal}, across package copies. @public */
export function isPlanRefusal(error: unknown): error is PlanRefusal {
  return error instanceof Error && error.name === 'PlanRefusal';
}
