// Asks the index about many documents in one request: lookups made within a few milliseconds of each
// other (the download stage runs many tasks at once) are sent together as one states() call, so a
// remote index (OpenSearch) costs one round trip per burst of objects, not one per object.
import type { SearchIndex, StoredState } from '../types.ts';

export type StateLookup = (id: string) => Promise<StoredState | undefined>;

export function batchedStateLookup(index: SearchIndex, o: { maxBatch: number; maxWaitMs: number } = { maxBatch: 100, maxWaitMs: 5 }): StateLookup | undefined {
  const states = index.states?.bind(index);
  if (!states) return undefined;
  let pending: Array<{ id: string; resolve: (s: StoredState | undefined) => void; reject: (e: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    states([...new Set(batch.map((p) => p.id))]).then(
      (found) => batch.forEach((p) => p.resolve(found.get(p.id))),
      (err) => batch.forEach((p) => p.reject(err)),
    );
  };
  return (id) =>
    new Promise((resolve, reject) => {
      pending.push({ id, resolve, reject });
      if (pending.length >= o.maxBatch) flush();
      else timer ??= setTimeout(flush, o.maxWaitMs);
    });
}
