/**
 * `npm start` runs the Temporal dev server and waits for it (src/temporal/dev-server.ts): while it
 * waits it says so, and when the server cannot come up the error carries the server's own output
 * and what to try. Stand-in CLIs (shell scripts) play a server that exits and one that never answers.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevServer } from '../../src/temporal/dev-server.js';

let dir: string;
const script = async (name: string, body: string) => {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dsrflow-devserver-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('names the exit, shows what the server printed and what to try, when it stops before answering', async () => {
  const cliPath = await script('exits', 'echo "listen tcp 127.0.0.1:7233: bind: address already in use" >&2; exit 1');
  const failure = await startDevServer({ cliPath, port: 0, uiPort: false, dbFilename: join(dir, 'state', 'temporal.sqlite'), startTimeoutMs: 10_000 }).catch((error: Error) => error);
  expect(failure).toBeInstanceOf(Error);
  const message = (failure as Error).message;
  expect(message).toMatch(/exited \(1\) before it was ready/);
  expect(message).toContain('bind: address already in use');
  expect(message).toContain('What to try:');
  expect(message).toContain('temporal.sqlite');
});

it('says it is waiting, and gives up at its deadline with the output and what to try', async () => {
  const cliPath = await script('silent', 'echo "starting, slowly"; sleep 30');
  const lines: string[] = [];
  const started = Date.now();
  const failure = await startDevServer({ cliPath, port: 0, uiPort: false, startTimeoutMs: 2_500, progressEveryMs: 500, log: (line) => lines.push(line) }).catch((error: Error) => error);
  expect(Date.now() - started).toBeLessThan(15_000);
  const message = (failure as Error).message;
  expect(message).toMatch(/did not answer at 127\.0\.0\.1:\d+ within 3 s/);
  expect(message).toContain('starting, slowly');
  expect(message).toContain('DSRFLOW_TEMPORAL_START_TIMEOUT');
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines[0]).toMatch(/waiting for the Temporal dev server at 127\.0\.0\.1:\d+ \(\d+ s of at most 3 s\)/);
});
