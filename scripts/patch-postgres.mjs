/**
 * npm's postinstall: mends two faults of postgres.js 3.4.9 until a release carries the fixes.
 * docs/decisions.md, "postgres.js, patched".
 *
 * 1. A crash (porsager/postgres#1154, #1208; the guard of PR #1209). Small writes are flushed by a
 *    setImmediate. When the connection closes before it runs, `nextWrite` calls `socket.write` on
 *    null: a TypeError thrown from the immediate, which no caller can catch and which ends the
 *    process. And the teardown cancels that immediate without forgetting it, so the connection
 *    never flushes again: its next queries wait forever. The patch makes `nextWrite` fail the
 *    waiting queries with CONNECTION_CLOSED (which callers handle) when the socket is gone, and
 *    makes the teardown forget the cancelled immediate.
 * 2. A hang (porsager/postgres#1097, #1130; PR #1142). When the socket closes under a query (the
 *    server terminated the backend, or the connection was reset), the query is rejected but stays
 *    the connection's current one, so `sql.end()` waits forever for it: a worker or the API could
 *    not shut down after its Postgres restarted. The patch forgets the query once the socket has
 *    closed, and lets an `end()` that was already waiting finish.
 *
 * Each change is applied to each build of the package (ESM, CommonJS, Cloudflare), once; a
 * version whose code differs stops the install with a message, so an upgrade cannot drop a fix
 * silently. test/integration/postgres-connection-loss.test.ts shows both faults are mended.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = '/* dsrflow: nextWrite guard (porsager/postgres#1208) */';
const CLOSED_MARKER = '/* dsrflow: no query in flight on a closed socket (porsager/postgres#1130) */';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const replacements = [
  [
    `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    `  function nextWrite(fn) {
    ${MARKER}
    if (!socket) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  ],
  [
    `    clearImmediate(nextWriteTimer)
    if (socket) {`,
    `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    if (socket) {`,
  ],
  [
    `    incomings = null
    clearImmediate(nextWriteTimer)`,
    `    incomings = null
    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null`,
  ],
  [
    `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
    ${CLOSED_MARKER}
    query = null
    ended && terminate()
`,
  ],
];

let patched = 0;
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, build, 'connection.js');
  if (!existsSync(file)) continue;
  const original = readFileSync(file, 'utf8');
  let text = original;
  for (const [before, after] of replacements) {
    if (text.includes(after)) continue;
    if (!text.includes(before)) {
      console.error(`postgres ${version}: ${file} is not the code scripts/patch-postgres.mjs mends. Check whether this version fixes porsager/postgres#1208; if so, remove the script and the postinstall.`);
      process.exit(1);
    }
    text = text.replace(before, after);
  }
  if (text === original) continue;
  writeFileSync(file, text);
  patched += 1;
}
if (patched) console.log(`postgres ${version}: nextWrite guarded and end() freed after a lost connection in ${patched} builds (scripts/patch-postgres.mjs)`);
