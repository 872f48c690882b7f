/** `1 file`, `2 files`, `0 files`: counts in messages and reports (English nouns that take an s). */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
