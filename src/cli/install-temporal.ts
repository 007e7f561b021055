/** `npm run temporal:install`: finds the Temporal CLI, or builds it once (CI runs this before the tests). */
import { ensureTemporalCli } from '../temporal/cli.js';
import { fail } from './bootstrap.js';

try {
  const path = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH || undefined });
  console.log(`Temporal CLI: ${path}`);
} catch (error) {
  fail(error);
}
