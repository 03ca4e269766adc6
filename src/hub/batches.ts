/** Work through `items` with at most `size` of them under way at once. */
export async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.max(1, Math.min(size, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

/** As inBatches, with each item's result, in the items' order whatever order they finish in. */
export async function mapInBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  await inBatches(
    items.map((item, i) => ({ item, i })),
    size,
    async ({ item, i }) => {
      results[i] = await work(item);
    },
  );
  return results;
}
