/**
 * Finds the Temporal CLI (`temporal`, which embeds the dev server and its Web UI), building it
 * from the Go module proxy once when it is missing.
 *
 * Looked for, in order: TEMPORAL_CLI_PATH, PATH, the user cache (~/.cache/dsrflow/bin, outside
 * the clone so that fresh clones reuse it), the project's `.tools/`. v1.5.1 is pinned: later tags
 * carry a `replace` directive that `go install` refuses.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'dsrflow', 'bin');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface FindOptions {
  /** TEMPORAL_CLI_PATH. */
  explicitPath?: string | undefined;
  projectDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The CLI's path, or undefined when it is nowhere to be found. */
export async function findTemporalCli({ explicitPath, projectDir = process.cwd(), env = process.env }: FindOptions = {}): Promise<string | undefined> {
  if (explicitPath) {
    if (await isExecutable(explicitPath)) return resolve(explicitPath);
    throw new Error(`TEMPORAL_CLI_PATH is ${explicitPath}, which is not an executable file`);
  }
  const candidates = [await onPath('temporal', env), join(cacheDir(env), 'temporal'), join(projectDir, '.tools', 'temporal')];
  for (const candidate of candidates) {
    if (candidate && (await isExecutable(candidate))) return candidate;
  }
  return undefined;
}

async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return (await onPath('go', env)) ?? ((await isExecutable('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : undefined);
}

/**
 * Builds the CLI with `go install` into the user cache. It takes several minutes on two cores,
 * so progress is printed while it runs. The binary appears atomically: a concurrent or
 * interrupted build never leaves a half-written file behind.
 */
export async function buildTemporalCli({ env = process.env, log = (line: string) => console.log(line) }: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const go = await findGo(env);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found (TEMPORAL_CLI_PATH, PATH, ~/.cache/dsrflow/bin, .tools/) and Go is not installed to build it. ' +
        'Install it from https://docs.temporal.io/cli, or set TEMPORAL_ADDRESS to an existing Temporal cluster.',
    );
  }
  const target = cacheDir(env);
  await mkdir(target, { recursive: true });
  const staging = await mkdtemp(join(target, '.build-'));
  const started = Date.now();
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (once; several minutes on a small machine)…`);
  const ticker = setInterval(() => log(`  …still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)}s)`), 30_000);
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...env, GOBIN: staging, GOFLAGS: env.GOFLAGS ?? '-trimpath' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tail = '';
      const collect = (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`go install failed (exit ${code}):\n${tail}`))));
    });
    const binary = join(target, 'temporal');
    await rename(join(staging, 'temporal'), binary);
    log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${binary}`);
    return binary;
  } finally {
    clearInterval(ticker);
    await rm(staging, { recursive: true, force: true });
  }
}

/** Finds the CLI, or builds it when it is missing. */
export async function ensureTemporalCli(options: FindOptions & { log?: (line: string) => void } = {}): Promise<string> {
  const found = await findTemporalCli(options);
  if (found) return found;
  return buildTemporalCli({ env: options.env ?? process.env, ...(options.log ? { log: options.log } : {}) });
}
