/** Median wall time of `fn` in milliseconds: a short warm-up, then repetitions within a time budget. */
export function medianMs(fn: () => void, budgetMs = 1500, minReps = 5, maxReps = 200): number {
  const first = performance.now();
  fn();
  // A step slower than the whole budget (TensorFlow.js's JS backend on a conv net) is timed once more.
  if (performance.now() - first > budgetMs) {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  }
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** The same for asynchronous work (TensorFlow.js reads results back asynchronously). */
export async function medianMsAsync(fn: () => Promise<void>, budgetMs = 1500, minReps = 5, maxReps = 200): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}
