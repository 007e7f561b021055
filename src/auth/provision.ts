/**
 * The first credentials of a deployment. In production they come from the environment
 * (DSRFLOW_ROOT_CLIENT_ID/SECRET, DSRFLOW_CODEC_UI_KEY); on a developer machine `npm start`
 * generates them once under DSRFLOW_DATA_DIR (mode 0600), as it does the encryption key, so that
 * `npm start`, `npm run api` and the tests of that checkout agree.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';

export interface RootClient {
  id: string;
  secret: string;
}

export const GENERATED_ROOT_CLIENT_ID = 'dsrflow-root';

/** Reads a small generated file, or writes it once (another process may win the race: then use theirs). */
async function generatedOnce<T>(file: string, make: () => T, parse: (text: string) => T | undefined): Promise<T> {
  try {
    const value = parse(await readFile(file, 'utf8'));
    if (value !== undefined) return value;
    throw new Error(`${file} is not what dsrflow wrote there; delete it to generate a new one`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(join(file, '..'), { recursive: true });
  const value = make();
  try {
    await writeFile(file, typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return generatedOnce(file, make, parse);
    throw error;
  }
}

/** The configured root client; outside production, one generated in the data directory when none is configured. */
export async function resolveRootClient(config: Config): Promise<{ client: RootClient; file?: string } | undefined> {
  if (config.auth.rootClient) return { client: config.auth.rootClient };
  if (config.production) return undefined;
  const file = join(config.dataDir, 'root-client.json');
  const client = await generatedOnce<RootClient>(
    file,
    () => ({ id: GENERATED_ROOT_CLIENT_ID, secret: randomBytes(32).toString('base64url') }),
    (text) => {
      const parsed = JSON.parse(text) as Partial<RootClient>;
      return typeof parsed.id === 'string' && typeof parsed.secret === 'string' && parsed.secret.length >= 32 ? { id: parsed.id, secret: parsed.secret } : undefined;
    },
  );
  return { client, file };
}

/** The key in the codec URL the Temporal Web UI calls; outside production, generated once. */
export async function resolveCodecUiKey(config: Config): Promise<string | undefined> {
  if (!config.codecEndpoint) return undefined;
  if (config.codecEndpoint.uiKey) return config.codecEndpoint.uiKey;
  if (config.production) return undefined;
  return generatedOnce(
    join(config.dataDir, 'codec-ui.key'),
    () => randomBytes(32).toString('base64url'),
    (text) => (/^[A-Za-z0-9_-]{32,200}$/.test(text.trim()) ? text.trim() : undefined),
  );
}

export interface FirstOwner {
  username: string;
  password: string;
}

/**
 * Outside production, the console's first owner account: generated once under DSRFLOW_DATA_DIR
 * (`npm start` prints where), so a newcomer can sign in at /console right away. In production
 * users are created through the API (POST /api/v1/user) with the root client's token.
 */
export async function resolveFirstOwner(config: Config): Promise<{ owner: FirstOwner; file: string } | undefined> {
  if (config.production) return undefined;
  const file = join(config.dataDir, 'console-owner.json');
  const owner = await generatedOnce<FirstOwner>(
    file,
    () => ({ username: 'owner', password: randomBytes(18).toString('base64url') }),
    (text) => {
      const parsed = JSON.parse(text) as Partial<FirstOwner>;
      return typeof parsed.username === 'string' && typeof parsed.password === 'string' && parsed.password.length >= 12 ? { username: parsed.username, password: parsed.password } : undefined;
    },
  );
  return { owner, file };
}
