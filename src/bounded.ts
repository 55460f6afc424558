/**
 * The one bounded worker pool: runs a function over items with at most `limit` calls in flight. Used for
 * projects (`--parallelism` at a time), for a project's key changes, and for secret fetches. Imports nothing.
 */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in item order, and resolves to each outcome
 * in item order. A failure of one item never stops the others; `stopped()` turning true stops new starts.
 */
export async function runBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  stopped: () => boolean = () => false,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stopped()) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(Math.floor(limit) || 1, items.length)) }, worker));
  return results;
}
