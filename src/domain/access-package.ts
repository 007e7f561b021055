/**
 * The access package handed to the data subject: what access found, limited to the fields the
 * policy's access rules target, as one JSON document (`access-results.json`) plus one CSV per
 * collection (`<dataset>/<collection>.csv`), zipped. Collections without a targeted field are
 * left out. Pure functions: the execution step reads the rows and writes the file.
 */
import { createHash } from 'node:crypto';
import { strToU8, zipSync, type Zippable } from 'fflate';
import type { Dataset } from './datasets.js';
import { splitCollectionKey, type CollectionKey } from './graph.js';
import { targetedFields, type AffectedField, type Policy } from './policies.js';

/** The lifecycle of a package (reference 004): prepared, downloadable until it expires, deleted. */
export const ACCESS_PACKAGE_STATUSES = ['preparing', 'available', 'downloaded', 'expired', 'deleted', 'failed'] as const;
export type AccessPackageStatus = (typeof ACCESS_PACKAGE_STATUSES)[number];

export type Row = Record<string, unknown>;

export const PACKAGE_JSON = 'access-results.json';

export interface PackagedCollection {
  key: CollectionKey;
  dataset: string;
  collection: string;
  /** The targeted fields, in dataset order; nested ones as dotted paths. */
  fields: AffectedField[];
}

/** The collections that go into the package, each with the fields the access rules target. */
export function packagedCollections(policy: Pick<Policy, 'rules'>, datasets: Record<string, Dataset>, keys: CollectionKey[]): PackagedCollection[] {
  const collections: PackagedCollection[] = [];
  for (const key of keys) {
    const { dataset, collection } = splitCollectionKey(key);
    const definition = datasets[dataset]?.collections.find((candidate) => candidate.name === collection);
    if (!definition) continue;
    const fields = targetedFields(policy, 'access', dataset, definition).map(({ rule: _rule, ...field }) => field);
    if (fields.length) collections.push({ key, dataset, collection, fields });
  }
  return collections;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The part of a value the paths select. Arrays are kept, each element projected. A value that is
 * not an object where the paths go deeper is left out rather than shown whole.
 */
function project(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((item) => project(item, paths));
  if (value === null) return null;
  if (!isObject(value)) return undefined;
  const byHead = new Map<string, string[][]>();
  for (const [head, ...rest] of paths) byHead.set(head!, [...(byHead.get(head!) ?? []), rest]);
  const out: Row = {};
  for (const [head, rests] of byHead) {
    if (!Object.hasOwn(value, head)) continue;
    const selected = rests.some((rest) => rest.length === 0) ? value[head] : project(value[head], rests);
    if (selected !== undefined) out[head] = selected;
  }
  return out;
}

/** A row with only the targeted fields. */
export function projectRow(row: Row, fields: AffectedField[]): Row {
  return project(row, fields.map((field) => field.field_name.split('.'))) as Row;
}

/** The value at a dotted path; through arrays, the list of values. */
function valueAt(value: unknown, path: string[]): unknown {
  if (path.length === 0) return value;
  if (Array.isArray(value)) return value.map((item) => valueAt(item, path));
  if (isObject(value) && Object.hasOwn(value, path[0]!)) return valueAt(value[path[0]!], path.slice(1));
  return undefined;
}

/**
 * Text a spreadsheet would run as a formula (OWASP, CSV injection) gets a leading apostrophe. A
 * signed number or phone number (`-12.5`, `+1 212 555 0100`) holds no function to run and stays as stored.
 */
export const neutraliseFormula = (text: string) => (/^[=+\-@\t\r]/.test(text) && !/^[+-][\d\s().-]*\d[\d\s().-]*$/.test(text) ? `'${text}` : text);

function csvCell(value: unknown): string {
  const raw = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const text = neutraliseFormula(raw);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180: a header of field paths, one line per row, CRLF, quoted where needed. Objects and arrays as JSON. */
export function toCsv(fields: AffectedField[], rows: Row[]): string {
  const paths = fields.map((field) => field.field_name.split('.'));
  const lines = [fields.map((field) => csvCell(field.field_name)).join(',')];
  for (const row of rows) lines.push(paths.map((path) => csvCell(valueAt(row, path))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A name safe as one path segment inside the zip. */
const segment = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
export const csvName = (collection: Pick<PackagedCollection, 'dataset' | 'collection'>) => `${segment(collection.dataset)}/${segment(collection.collection)}.csv`;

export interface PackageInput {
  privacyRequestId: string;
  policy: Pick<Policy, 'key' | 'rules'>;
  createdAt: Date;
  /** Each packaged collection with the rows access found (all their fields: they are projected here). */
  collections: { collection: PackagedCollection; rows: Row[] }[];
}

export interface BuiltPackage {
  zip: Uint8Array;
  sha256: string;
  /** Rows per collection key. */
  rowCounts: Record<string, number>;
}

/** Files smaller than this go into the package uncompressed. */
const STORED_BELOW = 1024;

export function buildAccessPackage(input: PackageInput): BuiltPackage {
  const categories = [...new Set(input.policy.rules.filter((rule) => rule.action_type === 'access').flatMap((rule) => rule.targets.map((target) => target.data_category)))].sort();
  const files: Zippable = {};
  const results: Record<string, Row[]> = {};
  const rowCounts: Record<string, number> = {};
  for (const { collection, rows } of input.collections) {
    const projected = rows.map((row) => projectRow(row, collection.fields));
    results[collection.key] = projected;
    rowCounts[collection.key] = projected.length;
    files[csvName(collection)] = strToU8(toCsv(collection.fields, projected));
  }
  const document = {
    privacy_request_id: input.privacyRequestId,
    policy_key: input.policy.key,
    created_at: input.createdAt.toISOString(),
    data_categories: categories,
    collections: input.collections.map(({ collection }) => ({
      collection: collection.key,
      fields: collection.fields.map((field) => ({ name: field.field_name, data_categories: field.data_categories })),
      row_count: rowCounts[collection.key],
      csv: csvName(collection),
    })),
    results,
  };
  const mtime = input.createdAt;
  const entries: Zippable = { [PACKAGE_JSON]: strToU8(JSON.stringify(document, null, 2) + '\n'), ...files };
  // A file under STORED_BELOW bytes is stored as it is: deflate saves it little, and each call sets
  // up some 200 kB of tables (a package of a dozen small CSVs cost 0.5 ms against 0.09 ms stored).
  for (const [name, data] of Object.entries(entries)) if (data instanceof Uint8Array && data.length < STORED_BELOW) entries[name] = [data, { level: 0 }];
  const zip = zipSync(entries, { level: 6, mtime });
  return { zip, sha256: createHash('sha256').update(zip).digest('hex'), rowCounts };
}
