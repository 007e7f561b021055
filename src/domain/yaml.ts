/**
 * YAML as dsrflow reads it (datasets, and later SaaS configs): a document, and where each of its
 * values stands in the text, so that problems are reported by line. Aliases may not blow a
 * document up: past yaml's own alias limit (the billion laughs), or beyond four times the text's
 * size once expanded (one large value repeated), the document is refused, since what is stored and
 * served is the expanded document.
 *
 * Pure: no I/O.
 */
import { isNode, LineCounter, parseDocument } from 'yaml';

export type Path = (string | number)[];

export interface YamlDocument {
  value: unknown;
  /** The line of the innermost node that exists on the path: a missing key is reported where its parent is. */
  lineOf(path: Path): number | undefined;
}

export type YamlReading = { ok: true; document: YamlDocument } | { ok: false; problem: string; line?: number };

/** Expanded, a document may hold this many times its text (at least EXPANSION_FLOOR bytes). */
export const EXPANSION_FACTOR = 4;
const EXPANSION_FLOOR = 256 * 1024;

export function readYaml(text: string): YamlReading {
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, { lineCounter, prettyErrors: false });
  if (parsed.errors.length) {
    const [error] = parsed.errors;
    return { ok: false, problem: `not valid YAML: ${error!.message.split('\n')[0]}`, line: lineCounter.linePos(error!.pos[0]).line };
  }
  let value: unknown;
  try {
    value = parsed.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problem: `not accepted YAML: ${(error as Error).message.split('\n')[0]}` };
  }
  const limit = Math.max(EXPANSION_FACTOR * text.length, EXPANSION_FLOOR);
  if (expandedSizeExceeds(value, limit)) {
    return { ok: false, problem: `YAML aliases expand this document beyond ${limit} bytes (${EXPANSION_FACTOR} times its size); write the repeated parts out or send smaller documents` };
  }
  const lineOf = (path: Path): number | undefined => {
    for (let length = path.length; length >= 0; length -= 1) {
      const node = parsed.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { ok: true, document: { value, lineOf } };
}

/**
 * Whether a value, written out, would take more than `limit` bytes (roughly: strings and keys by
 * their length, a few bytes per node). Values reached twice count twice, as YAML aliases expand
 * when the document is stored and served. Stops as soon as the limit is passed, so a document
 * built to expand exponentially costs no more than the limit to check.
 */
export function expandedSizeExceeds(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const current = stack.pop();
    if (typeof current === 'string') size += current.length + 2;
    else if (Array.isArray(current)) {
      size += 2;
      for (const item of current) stack.push(item);
    } else if (typeof current === 'object' && current !== null) {
      size += 2;
      for (const [key, item] of Object.entries(current)) {
        size += key.length + 3;
        stack.push(item);
      }
    } else size += 8;
    if (size > limit) return true;
  }
  return false;
}
