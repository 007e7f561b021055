/** The README's examples must work as written on a service where every call needs a credential. */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

it('every curl example in the README carries a credential', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const curls = blocks.flatMap((block) => block.split('\n').filter((line) => /^\s*curl\b/.test(line)));
  expect(curls.length).toBeGreaterThan(15);
  const without = curls.filter((line) => !/-H "authorization: Bearer \$TOKEN"|-u "[^"]+"/.test(line));
  expect(without).toEqual([]);
  expect(readme).toContain('TOKEN=$(npm run --silent token)');
});
