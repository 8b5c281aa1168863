/**
 * Works through a batch job's items grouped by key — one message's events or callbacks one after
 * another, in the order given, different messages side by side on up to `parallel` lanes. Batch
 * jobs (webhook events, carrier callbacks) hold many messages, and a message's items must not
 * overtake each other while the batch as a whole should not run one item at a time.
 */
export async function forEachKeyedLane<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  parallel: number,
  handle: (group: readonly T[]) => Promise<void>,
): Promise<void> {
  const byKey = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const group = byKey.get(k);
    if (group) group.push(item);
    else byKey.set(k, [item]);
  }
  const groups = [...byKey.values()];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < groups.length; i = next++) await handle(groups[i] as T[]);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, groups.length) }, lane));
}
