/** Number words people use for replica counts ("grow it to five", "shrink to none"). */
export const NUMBER_WORDS: Record<string, number> = {
  zero: 0,
  none: 0,
  nothing: 0,
  one: 1,
  single: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  dozen: 12,
  fifteen: 15,
  twenty: 20,
};

/** The value of a token that is a number, in digits or words. */
export function numberValue(raw: string): number | undefined {
  if (/^\d{1,6}$/.test(raw)) return Number(raw);
  return NUMBER_WORDS[raw];
}
