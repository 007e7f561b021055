/** Registers dsrflow's search attributes on a namespace that does not have them yet. */
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';

/** `--search-attribute` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  const cliType = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime' } as const;
  return Object.values(SEARCH_ATTRIBUTES).flatMap((key) => ['--search-attribute', `${key.name}=${cliType[key.type]}`]);
}

/**
 * Adds the missing search attributes through the operator service. Clusters that do not allow
 * it (Temporal Cloud manages them in its console) get a warning, not a failure.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, warn: (message: string) => void = console.warn): Promise<void> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((key) => !known.has(key.name));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]])),
    });
  } catch (error) {
    warn(`Could not register search attributes ${Object.values(SEARCH_ATTRIBUTES).map((key) => key.name).join(', ')} on namespace ${namespace}: ${(error as Error).message}. Register them on the cluster so the Temporal UI can filter privacy requests.`);
  }
}
