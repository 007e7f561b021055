/**
 * npm's postinstall: mends a crash in postgres.js 3.4.9 until a release carries the fix
 * (porsager/postgres#1154, #1208; the guard of PR #1209). docs/decisions.md, "postgres.js, patched".
 *
 * Small writes are flushed by a setImmediate. When the connection closes before it runs,
 * `nextWrite` calls `socket.write` on null: a TypeError thrown from the immediate, which no
 * caller can catch and which ends the process. And the teardown cancels that immediate without
 * forgetting it, so the connection never flushes again: its next queries wait forever. dsrflow
 * meets both whenever its own Postgres restarts or drops connections.
 *
 * The patch makes `nextWrite` fail the waiting queries with CONNECTION_CLOSED (which callers
 * handle) when the socket is gone, and makes the teardown forget the cancelled immediate. It is
 * applied to each build of the package (ESM, CommonJS, Cloudflare), once; a version whose code
 * differs stops the install with a message, so an upgrade cannot drop the fix silently.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = '/* dsrflow: nextWrite guard (porsager/postgres#1208) */';
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
];

let patched = 0;
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, build, 'connection.js');
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARKER)) continue;
  for (const [before, after] of replacements) {
    if (!text.includes(before)) {
      console.error(`postgres ${version}: ${file} is not the code scripts/patch-postgres.mjs mends. Check whether this version fixes porsager/postgres#1208; if so, remove the script and the postinstall.`);
      process.exit(1);
    }
    text = text.replace(before, after);
  }
  writeFileSync(file, text);
  patched += 1;
}
if (patched) console.log(`postgres ${version}: nextWrite guarded in ${patched} builds (scripts/patch-postgres.mjs)`);
