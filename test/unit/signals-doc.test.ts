/**
 * docs/signals.schema.json documents the payload of every signal and update the workflow takes.
 * It is generated from the same zod schemas the workflow validates with; this test fails when
 * they drift. Regenerate with: UPDATE_DOCS=1 npx vitest run test/unit/signals-doc.test.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { actionSchemas } from '../../src/domain/actions.js';

const FILE = new URL('../../docs/signals.schema.json', import.meta.url);

it('matches the payload schemas the workflow validates with', async () => {
  const generated = Object.fromEntries(Object.entries(actionSchemas()).map(([name, schema]) => [name, z.toJSONSchema(schema, { io: 'input' })]));
  const text = JSON.stringify(generated, null, 2) + '\n';
  if (process.env.UPDATE_DOCS === '1') await writeFile(FILE, text);
  expect(await readFile(FILE, 'utf8')).toBe(text);
});
