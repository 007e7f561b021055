/**
 * `npm start` as a newcomer runs it: Temporal dev server with its UI, Postgres databases created
 * and migrated, the example loaded, worker and API up. The README's first request completes,
 * and Ctrl-C (SIGINT to the process group) stops every process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, inject, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server.js';
import { serverUrl } from '../support/databases.js';
import { eventually } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

it('brings the service up, runs the first request, and stops on Ctrl-C', async () => {
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = await mkdtemp(join(tmpdir(), 'dsrflow-start-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    DSRFLOW_DATA_DIR: dataDir,
    DATABASE_URL: serverUrl(`${inject('runId')}_start`),
    DSRFLOW_EXAMPLE_DATABASE_URL: serverUrl(`${inject('runId')}_start_example`),
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.DSRFLOW_ENCRYPTION_KEY;
  child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  await eventually(async () => (output.includes('dsrflow is running.') ? true : child!.exitCode !== null ? Promise.reject(new Error(output)) : undefined), {
    timeoutMs: 90_000,
    what: `npm start to be ready:\n${output}`,
  });
  const api = `http://127.0.0.1:${port}`;
  expect(output).toContain(`Temporal UI  http://127.0.0.1:${uiPort}`);
  expect((await fetch(`${api}/health`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
  expect(existsSync(join(dataDir, 'temporal.sqlite'))).toBe(true);
  expect(existsSync(join(dataDir, 'encryption.key'))).toBe(true);

  expect(existsSync(join(dataDir, 'root-client.json'))).toBe(true);
  expect(output).toContain('TOKEN=$(npm run --silent token)');

  // Without a token nothing answers; the README's way to get one works.
  const body = JSON.stringify([{ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } }]);
  const anonymous = await fetch(`${api}/api/v1/privacy-request`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(anonymous.status).toBe(401);
  const token = (await promisify(execFile)('npm', ['run', '--silent', 'token'], { cwd: ROOT, env })).stdout.trim();
  expect(token).toMatch(/^dsr_at_/);
  const authorization = `Bearer ${token}`;

  // The Temporal UI is configured with a codec URL that works without a token (the UI cannot send one).
  const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
  const codecEndpoint = settings.Codec?.Endpoint ?? '';
  expect(codecEndpoint).toMatch(new RegExp(`^${api}/codec/ui/[A-Za-z0-9_-]{32,}$`));
  const encoded = await fetch(`${codecEndpoint}/encode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] }),
  });
  expect(encoded.status).toBe(200);
  const decoded = (await (await fetch(`${codecEndpoint}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(await encoded.json()) })).json()) as {
    payloads: { data: string }[];
  };
  expect(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()).toBe('"hello"');
  expect((await fetch(`${api}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) })).status).toBe(401);

  // The README's first request.
  const submitted = await fetch(`${api}/api/v1/privacy-request`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
  const { succeeded } = (await submitted.json()) as { succeeded: { id: string }[] };
  const id = succeeded[0]!.id;
  await eventually(
    async () => {
      const listed = (await (await fetch(`${api}/api/v1/privacy-request?request_id=${id}`, { headers: { authorization } })).json()) as { items: { status: string }[] };
      return listed.items[0]?.status === 'complete' ? true : undefined;
    },
    { what: 'the first request to complete' },
  );

  // The console: its URL and where the first owner's password is, and that owner signs in and sees the request.
  const ownerFile = join(dataDir, 'console-owner.json');
  expect(output).toContain(`Console      ${api}/console`);
  expect(output).toContain(`sign in as owner, password in ${ownerFile}`);
  const owner = JSON.parse(await readFile(ownerFile, 'utf8')) as { username: string; password: string };
  const signedIn = await fetch(`${api}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: owner.username, password: owner.password }).toString(),
    redirect: 'manual',
  });
  expect(signedIn.status).toBe(303);
  const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
  const inbox = await fetch(`${api}/console`, { headers: { cookie } });
  expect(inbox.status).toBe(200);
  expect(await inbox.text()).toContain(id);

  // Ctrl-C in a terminal signals the whole foreground process group.
  const pgid = child.pid!;
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  process.kill(-pgid, 'SIGINT');
  await exited;
  await eventually(async () => (groupAlive(pgid) ? undefined : true), { timeoutMs: 20_000, what: 'every process of npm start to stop' });
  await expect(fetch(`${api}/health`)).rejects.toThrow();
});
