/**
 * The API process keeps its heap near what is live. By default V8 lets the old generation grow to
 * up to four times its live size before a full collection; a long CSV export promotes a steady
 * trickle of short-lived buffers, so the API would sit at about 250 MB with some 40 MB live.
 * Growing by 25% at a time keeps it near 150 MB, for a few more (incremental) full collections
 * while an export runs. V8 reads this setting whenever it sizes the heap, so it applies from
 * the call on (docs/decisions.md: "CSV exports stream from a cursor").
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 25;

export function keepHeapNearLiveSize(percent = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
