/** Sorted, sized symbols of one section, for "which symbol covers this offset". */
export class CoverIndex<T> {
  private readonly items: T[];
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** Index of the item the last lookup found, where it is safe to try first (-1: none). */
  private last = -1;

  constructor(items: T[], start: (item: T) => number, size: (item: T) => number) {
    const sorted = sortByStart(items, start, size);
    this.items = sorted;
    this.starts = new Float64Array(sorted.length);
    this.ends = new Float64Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      this.starts[i] = start(sorted[i]);
      this.ends[i] = this.starts[i] + size(sorted[i]);
    }
  }

  covering(offset: number): T | undefined {
    // References and table entries come in code order: mostly the same symbol as last time.
    const last = this.last;
    if (last >= 0 && offset >= this.starts[last] && offset < this.ends[last]) return this.items[last];
    return this.search(offset);
  }

  private search(offset: number): T | undefined {
    const { starts, ends } = this;
    let lo = 0;
    let hi = starts.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= offset) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Nested or overlapping symbols are rare; look back a little for one that covers.
    for (let i = best; i >= 0 && i > best - 4; i--) {
      if (offset >= starts[i] && offset < ends[i]) {
        // Remembered only where no later symbol starts inside it, so the answer stays the same.
        this.last = i + 1 >= starts.length || starts[i + 1] >= ends[i] ? i : -1;
        return this.items[i];
      }
    }
    return undefined;
  }
}

const INDEX_BITS = 2 ** 22;

/**
 * Items by start, larger first where starts are equal, otherwise in their own order. A
 * comparator sort calls back into JavaScript for every comparison (2% of a kernel tree
 * comparison's time); starts and positions packed into one number sort natively.
 */
function sortByStart<T>(items: T[], start: (item: T) => number, size: (item: T) => number): T[] {
  const bySize = (a: T, b: T) => start(a) - start(b) || size(b) - size(a);
  if (items.length >= INDEX_BITS) return [...items].sort(bySize);
  const keys = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const s = start(items[i]);
    if (!(s >= 0 && s < 2 ** 31)) return [...items].sort(bySize);
    keys[i] = s * INDEX_BITS + i;
  }
  keys.sort();
  const sorted = new Array<T>(items.length);
  for (let i = 0; i < keys.length; i++) sorted[i] = items[keys[i] % INDEX_BITS];
  // Runs of equal starts (aliases, nested symbols) are few and short: larger first.
  for (let i = 0; i + 1 < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && start(sorted[j]) === start(sorted[i])) j++;
    if (j - i > 1) {
      const run = sorted.slice(i, j).sort(bySize);
      for (let k = 0; k < run.length; k++) sorted[i + k] = run[k];
    }
    i = j;
  }
  return sorted;
}
