/** A tiny worker pool. */

/** Run `fn` over `items` with at most `jobs` running at once; results in input order. `fn` should not throw. */
export async function runPool<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  const n = Math.max(1, Math.min(Math.floor(jobs) || 1, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}
