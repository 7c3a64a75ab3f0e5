import { REDACTED } from './names';

/**
 * The items of a list of strings (a container's `args` in values, an exec's command) as `shown`
 * (each scrubbed alone by `scrub`), and each item `scrub` left alone hidden where `scrub` hides it
 * in the list written as JSON (as `placeholder`): a flag's value given as the next item (`["--token", "x"]`), the
 * short flag of a command (`["mysql", "-p", "x"]`). When what comes back is not such a list (a
 * quote left open), every item left alone is hidden (fail closed).
 * @public
 */
export function hideListedValues(
  given: string[],
  shown: string[],
  scrub: (text: string) => string,
  placeholder: string = REDACTED,
): string[] {
  const json = JSON.stringify(given);
  const listed = scrub(json);
  if (listed === json) return shown;
  let items: unknown;
  try {
    items = JSON.parse(listed);
  } catch {
    items = undefined;
  }
  const read =
    Array.isArray(items) &&
    items.length === given.length &&
    items.every(i => typeof i === 'string')
      ? (items as string[])
      : undefined;
  return shown.map((item, i) => {
    if (item !== given[i] || !item) return item;
    return read ? read[i] : placeholder;
  });
}
