/**
 * Datasets: fideslang-compatible descriptions of where a person's data lives.
 *
 * A dataset has collections (tables), collections have fields (columns, possibly nested), and
 * `fides_meta` (or the older `fidesops_meta`) on fields says which ones hold an identity, which
 * reference fields of other collections, which form the primary key, and how to mask them.
 * Keys fideslang defines that dsrflow does not use are accepted and ignored, so existing files
 * load unchanged.
 */
import { readYaml, type Path } from './yaml.js';
import { z } from 'zod';
import { maskingStrategySchema } from './masking.js';
import { formatPath, issueMessage } from './messages.js';

/** fideslang's FidesKey: letters, digits and `_ . < > -`. */
export const FIDES_KEY = /^[a-zA-Z0-9_.<>-]+$/;
export const fidesKey = z.string().regex(FIDES_KEY, 'must contain only letters, digits, _ . < > -');

/** The data types fideslang knows; `[]` after a type means an array of it. */
export const DATA_TYPES = ['string', 'integer', 'float', 'boolean', 'object_id', 'object', 'no_op'] as const;
const dataType = z
  .string()
  .refine((value) => (DATA_TYPES as readonly string[]).includes(value.replace(/\[\]$/, '')), {
    message: `must be one of ${DATA_TYPES.join(', ')} (optionally followed by [])`,
  });

/** Strategies are validated strictly (each with its own configuration keys), in datasets and rules alike. */
export { maskingStrategySchema };
export type MaskingStrategyConfig = z.infer<typeof maskingStrategySchema>;

export const referenceSchema = z.object({
  dataset: fidesKey,
  /** `collection.field`, or `collection.field.subfield` for nested fields. */
  field: z.string().regex(/^[^.\s]+\.[^\s]+$/, 'must be collection.field'),
  /** `from`: data flows from the referenced field to this one; `to`: from this one to it; none: either way. */
  direction: z.enum(['from', 'to', 'none'], { error: 'must be from, to or none' }).optional(),
});
export type FieldReference = z.infer<typeof referenceSchema>;

export const fieldMetaSchema = z.object({
  references: z.array(referenceSchema).optional(),
  identity: z.string().min(1, 'must not be empty').optional(),
  primary_key: z.boolean().optional(),
  data_type: dataType.optional(),
  length: z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer').optional(),
  read_only: z.boolean().optional(),
  return_all_elements: z.boolean().optional(),
  custom_request_field: z.string().optional(),
  masking_strategy_override: maskingStrategySchema.optional(),
});
export type FieldMeta = z.infer<typeof fieldMetaSchema>;

export interface DatasetField {
  name: string;
  description?: string | undefined;
  data_categories?: string[] | undefined;
  fides_meta?: FieldMeta | undefined;
  fields?: DatasetField[] | undefined;
}

const fieldName = z.string().min(1, 'must not be empty').regex(/^[^.]*$/, 'must not contain a dot');
const dataCategories = z.array(z.string().min(1, 'must not be empty'));

export const fieldSchema: z.ZodType<DatasetField> = z.lazy(() =>
  z
    .object({
      name: fieldName,
      description: z.string().nullish().transform((value) => value ?? undefined),
      data_categories: dataCategories.optional(),
      fides_meta: fieldMetaSchema.nullish(),
      fidesops_meta: fieldMetaSchema.nullish(),
      fields: z.array(fieldSchema).optional(),
    })
    .transform(({ fidesops_meta, fides_meta, ...field }): DatasetField => {
      const meta = fides_meta ?? fidesops_meta ?? undefined;
      return { ...field, ...(meta ? { fides_meta: meta } : {}) };
    }),
);

/** `dataset.collection`, as fideslang writes collection addresses in `after` and `erase_after`. */
const collectionAddress = z.string().regex(/^[a-zA-Z0-9_.<>-]+\.[^.\s]+$/, 'must be dataset.collection');

export const collectionMetaSchema = z.object({
  after: z.array(collectionAddress).optional(),
  erase_after: z.array(collectionAddress).optional(),
  skip_processing: z.boolean().optional(),
  /** dsrflow extension: a person handles this collection (as for connections of type `manual`). */
  manual: z.boolean().optional(),
  /** At collection level only `{strategy: delete}` is meaningful: erase by deleting whole rows. */
  masking_strategy_override: maskingStrategySchema.optional(),
});
export type CollectionMeta = z.infer<typeof collectionMetaSchema>;

export const collectionSchema = z
  .object({
    name: z.string().min(1, 'must not be empty'),
    description: z.string().nullish().transform((value) => value ?? undefined),
    data_categories: dataCategories.optional(),
    fields: z.array(fieldSchema),
    fides_meta: collectionMetaSchema.nullish(),
    fidesops_meta: collectionMetaSchema.nullish(),
  })
  .transform(({ fidesops_meta, fides_meta, ...collection }) => {
    const meta = fides_meta ?? fidesops_meta ?? undefined;
    return { ...collection, ...(meta ? { fides_meta: meta } : {}) };
  });
export type DatasetCollection = z.infer<typeof collectionSchema>;

export const datasetMetaSchema = z.object({
  after: z.array(fidesKey).optional(),
});

export const datasetSchema = z
  .object({
    fides_key: fidesKey,
    name: z.string().nullish().transform((value) => value ?? undefined),
    description: z.string().nullish().transform((value) => value ?? undefined),
    data_categories: dataCategories.optional(),
    collections: z.array(collectionSchema),
    fides_meta: datasetMetaSchema.nullish(),
    fidesops_meta: datasetMetaSchema.nullish(),
  })
  .transform(({ fidesops_meta, fides_meta, ...dataset }) => {
    const meta = fides_meta ?? fidesops_meta ?? undefined;
    return { ...dataset, ...(meta ? { fides_meta: meta } : {}) };
  });
export type Dataset = z.infer<typeof datasetSchema>;

export const datasetFileSchema = z.object({ dataset: z.array(datasetSchema).min(1, 'must list at least one dataset') });

/** One problem found in a dataset, located as precisely as the input allows. */
export interface DatasetProblem {
  dataset?: string;
  collection?: string;
  field?: string;
  /** 1-based line in the YAML text, when the dataset came from YAML. */
  line?: number;
  message: string;
}

export class DatasetValidationError extends Error {
  override name = 'DatasetValidationError';
  constructor(readonly problems: DatasetProblem[]) {
    super(problems.map(describeProblem).join('\n'));
  }
}

export function describeProblem(problem: DatasetProblem): string {
  const where = [
    problem.dataset !== undefined ? `dataset ${problem.dataset}` : undefined,
    problem.collection !== undefined ? `collection ${problem.collection}` : undefined,
    problem.field !== undefined ? `field ${problem.field}` : undefined,
  ].filter(Boolean);
  const line = problem.line !== undefined ? ` (line ${problem.line})` : '';
  return `${where.length ? `${where.join(', ')}: ` : ''}${problem.message}${line}`;
}


/**
 * Names the dataset, collection and field a path inside a `{dataset: [...]}` document points at,
 * and says what is wrong relative to that field (e.g. `fides_meta.length`).
 */
function locate(document: unknown, path: Path): Omit<DatasetProblem, 'message' | 'line'> & { rest: Path } {
  const located: Omit<DatasetProblem, 'message' | 'line'> & { rest: Path } = { rest: [] };
  let node: unknown = document;
  let index = 0;
  const step = () => {
    node = (node as Record<string | number, unknown> | undefined)?.[path[index]!];
    index += 1;
  };
  const nameOf = (value: unknown, key: string) => {
    const name = (value as Record<string, unknown> | undefined)?.[key];
    return typeof name === 'string' && name !== '' ? name : undefined;
  };
  if (path[0] === 'dataset' && typeof path[1] === 'number') {
    step();
    step();
    located.dataset = nameOf(node, 'fides_key') ?? `#${(path[1] as number) + 1}`;
    if (path[2] === 'collections' && typeof path[3] === 'number') {
      step();
      step();
      located.collection = nameOf(node, 'name') ?? `#${(path[3] as number) + 1}`;
      const fieldNames: string[] = [];
      while (path[index] === 'fields' && typeof path[index + 1] === 'number') {
        const position = path[index + 1] as number;
        step();
        step();
        fieldNames.push(nameOf(node, 'name') ?? `#${position + 1}`);
      }
      if (fieldNames.length) located.field = fieldNames.join('.');
    }
  }
  located.rest = path.slice(index);
  return located;
}

function problemFromIssue(document: unknown, issue: z.core.$ZodIssue, lineOf?: (path: Path) => number | undefined): DatasetProblem {
  const path = issue.path as Path;
  const { rest, ...where } = locate(document, path);
  // A schema's own wording ("must be a positive integer") says more than zod's type message.
  const message = issue.code === 'invalid_type' && !issue.message.startsWith('Invalid input') ? issue.message : issueMessage(issue);
  const subject = rest.length ? formatPath(rest) : undefined;
  const line = lineOf?.(path);
  return {
    ...where,
    message: subject ? `${subject}: ${message}` : message,
    ...(line !== undefined ? { line } : {}),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at `path` in the document as it was written. */
function rawAt(document: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | null | undefined)?.[key], document);
}

/** Which of `fides_meta` and `fidesops_meta` the object at `path` was written with (`fides_meta` wins, as in the schema). */
function metaKeyAt(document: unknown, path: Path): 'fides_meta' | 'fidesops_meta' {
  const node = rawAt(document, path) as Record<string, unknown> | undefined;
  return node?.fides_meta == null && node?.fidesops_meta != null ? 'fidesops_meta' : 'fides_meta';
}

/**
 * Checks that need a whole dataset: duplicate names, references and `after`/`erase_after` inside
 * the dataset. They run on every dataset that is otherwise valid (`valid`, with its index in the
 * document), so one pass reports them alongside the schema problems of other datasets. Paths and
 * messages follow the document as written (`fidesops_meta` where the file says so).
 */
function semanticProblems(document: Record<string, unknown>, valid: { dataset: Dataset; index: number }[]): (DatasetProblem & { path: Path })[] {
  const problems: (DatasetProblem & { path: Path })[] = [];
  const items = Array.isArray(document.dataset) ? (document.dataset as unknown[]) : [];
  const firstIndex = new Map<string, number>();
  items.forEach((item, d) => {
    const key = isRecord(item) ? item.fides_key : undefined;
    if (typeof key !== 'string') return;
    if (firstIndex.has(key)) {
      problems.push({ dataset: key, path: ['dataset', d, 'fides_key'], message: `fides_key appears more than once (first as dataset #${firstIndex.get(key)! + 1})` });
    } else firstIndex.set(key, d);
  });
  for (const { dataset, index: d } of valid) {
    const base = { dataset: dataset.fides_key };
    const collections = new Map<string, DatasetCollection>();
    dataset.collections.forEach((collection, c) => {
      if (collections.has(collection.name)) {
        problems.push({ ...base, collection: collection.name, path: ['dataset', d, 'collections', c, 'name'], message: 'collection name appears more than once' });
      }
      collections.set(collection.name, collection);
    });
    dataset.collections.forEach((collection, c) => {
      const collectionPath: Path = ['dataset', d, 'collections', c];
      const checkFields = (fields: DatasetField[], path: Path, prefix: string[]) => {
        const names = new Set<string>();
        fields.forEach((field, f) => {
          const fieldPath: Path = [...path, 'fields', f];
          const name = [...prefix, field.name].join('.');
          const at = { ...base, collection: collection.name, field: name };
          if (names.has(field.name)) {
            const within = prefix.length ? `field ${prefix.join('.')}` : 'its collection';
            problems.push({ ...at, path: [...fieldPath, 'name'], message: `field name appears more than once in ${within}` });
          }
          names.add(field.name);
          const metaKey = metaKeyAt(document, fieldPath);
          field.fides_meta?.references?.forEach((reference, r) => {
            if (reference.dataset !== dataset.fides_key) return; // checked when datasets are combined into a graph
            const [collectionName, ...fieldParts] = reference.field.split('.');
            const target = collections.get(collectionName!);
            const referencePath: Path = [...fieldPath, metaKey, 'references', r, 'field'];
            if (!target) {
              problems.push({ ...at, path: referencePath, message: `references unknown collection ${reference.dataset}.${collectionName}` });
            } else if (!findField(target, fieldParts)) {
              problems.push({ ...at, path: referencePath, message: `references unknown field ${reference.dataset}.${reference.field}` });
            }
          });
          if (field.fields) checkFields(field.fields, fieldPath, [...prefix, field.name]);
        });
      };
      checkFields(collection.fields, collectionPath, []);
      const metaKey = metaKeyAt(document, collectionPath);
      for (const [key, addresses] of [['after', collection.fides_meta?.after], ['erase_after', collection.fides_meta?.erase_after]] as const) {
        addresses?.forEach((address, a) => {
          const path: Path = [...collectionPath, metaKey, key, a];
          const subject = formatPath([metaKey, key, a]);
          const at = { ...base, collection: collection.name, path };
          const dot = address.lastIndexOf('.');
          const [datasetKey, collectionName] = [address.slice(0, dot), address.slice(dot + 1)];
          if (datasetKey !== dataset.fides_key) return; // checked when datasets are combined into a graph
          if (collectionName === collection.name) {
            problems.push({ ...at, message: `${subject}: a collection cannot ${key === 'after' ? 'run' : 'be erased'} after itself` });
          } else if (!collections.has(collectionName)) {
            problems.push({ ...at, message: `${subject}: unknown collection ${address}` });
          }
        });
      }
    });
  }
  return problems;
}

/** Finds a (possibly nested) field by its path of names. */
export function findField(collection: { fields: DatasetField[] }, path: string[]): DatasetField | undefined {
  let fields: DatasetField[] | undefined = collection.fields;
  let found: DatasetField | undefined;
  for (const name of path) {
    found = fields?.find((field) => field.name === name);
    if (!found) return undefined;
    fields = found.fields;
  }
  return found;
}

/**
 * Validates `{dataset: [...]}` already parsed from JSON or YAML. Every problem found is reported at
 * once, in document order when lines are known.
 */
export function parseDatasets(document: unknown, lineOf?: (path: Path) => number | undefined): Dataset[] {
  const withLine = ({ path, ...problem }: DatasetProblem & { path: Path }): DatasetProblem => {
    const line = lineOf?.(path);
    return line !== undefined ? { ...problem, line } : problem;
  };
  if (!isRecord(document)) {
    const found = document == null ? 'an empty document' : Array.isArray(document) ? 'a list' : `a ${typeof document}`;
    throw new DatasetValidationError([withLine({ path: [], message: `expected a mapping with a dataset: list, found ${found}` })]);
  }
  const parsed = datasetFileSchema.safeParse(document);
  let problems: DatasetProblem[];
  if (parsed.success) {
    problems = semanticProblems(
      document,
      parsed.data.dataset.map((dataset, index) => ({ dataset, index })),
    ).map(withLine);
  } else {
    const items = Array.isArray(document.dataset) ? (document.dataset as unknown[]) : [];
    const valid = items.flatMap((item, index) => {
      const result = datasetSchema.safeParse(item);
      return result.success ? [{ dataset: result.data, index }] : [];
    });
    problems = [...parsed.error.issues.map((issue) => problemFromIssue(document, issue, lineOf)), ...semanticProblems(document, valid).map(withLine)];
  }
  if (parsed.success && !problems.length) return parsed.data.dataset;
  if (problems.every((problem) => problem.line !== undefined)) problems.sort((a, b) => a.line! - b.line!);
  throw new DatasetValidationError(problems);
}

/** Parses fideslang YAML (`dataset:` list); errors carry the YAML line of the problem. */
export function parseDatasetYaml(text: string): Dataset[] {
  const reading = readYaml(text);
  if (!reading.ok) throw new DatasetValidationError([{ message: reading.problem.replace(/^not valid YAML/, 'invalid YAML'), ...(reading.line ? { line: reading.line } : {}) }]);
  return parseDatasets(reading.document.value, reading.document.lineOf);
}

/** Every leaf field of a collection with its dotted path, depth first, in declaration order. */
export function leafFields(collection: { fields: DatasetField[] }): { path: string; field: DatasetField }[] {
  const leaves: { path: string; field: DatasetField }[] = [];
  const walk = (fields: DatasetField[], prefix: string) => {
    for (const field of fields) {
      const path = prefix ? `${prefix}.${field.name}` : field.name;
      if (field.fields?.length) walk(field.fields, path);
      else leaves.push({ path, field });
    }
  };
  walk(collection.fields, '');
  return leaves;
}
