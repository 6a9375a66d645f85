/**
 * Concurrency limits for work on an API server (SubjectAccessReviews, the monitor's lists).
 */

/**
 * Returns a function that runs at most `n` of the tasks given to it at a time, the others in
 * the order they came; each call resolves or rejects as its task does.
 */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    active--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        active++;
        task().then(resolve, reject).finally(next);
      };
      if (active < n) start();
      else queue.push(start);
    });
}
