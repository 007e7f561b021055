/**
 * A private Postgres cluster for the chaos run: `initdb` in a directory of its own, started with
 * `pg_ctl` on a free loopback port, so that stopping it (the outage the run injects) never
 * touches the machine's server. Run as root, the binaries run as the `postgres` system user
 * (initdb refuses root), and only the cluster's own directory is handed to that user.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/temporal/dev-server.js';

const run = promisify(execFile);

export interface PrivateCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust authentication, loopback only). */
  url(database: string): string;
  /** `pg_ctl stop -m fast`: every session is cut, as when the server goes away. */
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
  /** Stops it (immediate) if it runs and deletes its directory. */
  remove(): Promise<void>;
  /** The server's log, for failure messages. */
  log(): Promise<string>;
}

/** The newest installed Postgres's bin directory (CHAOS_PG_BIN to choose). */
export async function postgresBinDir(): Promise<string> {
  if (process.env.CHAOS_PG_BIN) return process.env.CHAOS_PG_BIN;
  const root = '/usr/lib/postgresql';
  try {
    const versions = (await readdir(root)).filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  } catch {
    // Not a Debian layout: ask pg_config below.
  }
  try {
    return (await run('pg_config', ['--bindir'])).stdout.trim();
  } catch {
    throw new Error('No Postgres binaries found: install the server package, or set CHAOS_PG_BIN to the directory holding initdb and pg_ctl');
  }
}

async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  return { uid, gid };
}

/** Runs a Postgres binary to its end; rejects with its output when it fails or outlasts the timeout. */
function runBinary(path: string, args: string[], owner: { uid: number; gid: number } | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${path} ${args.join(' ')} failed (${code ?? signal}):\n${output}`));
    });
  });
}

/** Creates and starts the cluster under `baseDir` (which must exist). */
export async function createCluster(baseDir: string): Promise<PrivateCluster> {
  const bin = await postgresBinDir();
  const owner = process.getuid?.() === 0 ? await systemUser('postgres') : undefined;
  const dir = join(baseDir, 'postgres');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  await mkdir(dir, { recursive: true });
  if (owner) {
    // The postgres user must reach its directory through the (root-owned, private) base.
    await chmod(baseDir, 0o711);
    await chown(dir, owner.uid, owner.gid);
  }
  await runBinary(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-instructions'], owner, 120_000);
  const port = await freePort();
  let up = false;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const cluster: PrivateCluster = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await runBinary(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options, 'start'], owner, 90_000);
      up = true;
    },
    async stop() {
      await runBinary(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], owner, 90_000);
      up = false;
    },
    running: () => up,
    async remove() {
      try {
        await runBinary(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], owner, 45_000);
      } catch {
        // Not running.
      }
      up = false;
      await rm(dir, { recursive: true, force: true });
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.remove();
    throw error;
  }
  return cluster;
}
