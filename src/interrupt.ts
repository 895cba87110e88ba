/**
 * Ctrl-C for everything in flight: bin/vllmapp.js emits "vllmapp:interrupt" on SIGINT, and each wait,
 * stream or bench that can stop registers here. One listener on `process` however many there are, so a
 * deploy of 200 apps (a wait each) does not trip Node's "possible EventEmitter memory leak" warning; and
 * none when nothing is registered, so bin/vllmapp.js then stops at once.
 */
const handlers = new Set<() => void>();
let listening = false;

function interrupt(): void {
  const now = [...handlers];
  handlers.clear();
  quiet();
  for (const h of now) h();
}

function quiet(): void {
  if (listening && handlers.size === 0) {
    process.off("vllmapp:interrupt", interrupt);
    listening = false;
  }
}

/** Call `handler` once on Ctrl-C (until stopListeningForInterrupt). */
export function listenForInterrupt(handler: () => void): void {
  if (!listening) {
    process.on("vllmapp:interrupt", interrupt);
    listening = true;
  }
  handlers.add(handler);
}

export function stopListeningForInterrupt(handler: () => void): void {
  handlers.delete(handler);
  quiet();
}
