/**
 * A poll shared by every screen that needs it: the first `watch()` refreshes at once and starts
 * polling every `ms`, the last release stops it. Each release works once. Stores keep one of these
 * for the figures several screens show (the chain's state, the rates).
 */
export function sharedPoll(refresh: () => Promise<void>, ms: number): () => () => void {
  let watchers = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  return () => {
    watchers += 1;
    if (watchers === 1) {
      void refresh();
      timer = setInterval(() => void refresh(), ms);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      watchers -= 1;
      if (watchers === 0) clearInterval(timer);
    };
  };
}
