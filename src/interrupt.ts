/**
 * Ctrl-C for everything in flight: bin/vllmapp.js emits "vllmapp:interrupt" on SIGINT, and each wait,
 * stream or bench that can stop registers here. One listener on `process` however many there are, so a
 * deploy of 200 apps (a wait each) does not trip Node's "possible EventEmitter memory leak" warning.
 */
const handlers = new Set<() => void>();
let listening = false;

function interrupt(): void {
  for (const h of [...handlers]) {
    handlers.delete(h);
    h();
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
}
