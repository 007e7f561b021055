/** Readable messages for zod issues, shared by the API and the dataset parser. */
import type { z } from 'zod';

export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    // zod writes "Invalid input: expected string, received number".
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (received === 'undefined') return 'is required';
    return `expected ${issue.expected}${received ? `, received ${received}` : ''}`;
  }
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  return issue.message.replace(/^Invalid input: /, '');
}

/** `body[0].identity.email` from `['body', 0, 'identity', 'email']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part, i) => (typeof part === 'number' ? `${text}[${part}]` : i === 0 ? String(part) : `${text}.${String(part)}`), '');
}
