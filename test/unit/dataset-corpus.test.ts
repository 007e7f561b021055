/**
 * A corpus of dataset files: broken ones under test/fixtures/datasets/broken, each with the exact
 * messages the parser gives (dataset, collection, field and YAML line), and valid ones under
 * test/fixtures/datasets/valid that must load. A new broken file needs its messages here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DatasetValidationError, describeProblem, parseDatasets, parseDatasetYaml, type Dataset, type DatasetField } from '../../src/domain/datasets.js';
import { planTraversal } from '../../src/domain/graph.js';

const BROKEN = fileURLToPath(new URL('../fixtures/datasets/broken/', import.meta.url));
const VALID = fileURLToPath(new URL('../fixtures/datasets/valid/', import.meta.url));
const filesIn = (dir: string) => readdirSync(dir).filter((file) => file.endsWith('.yml')).sort();
const read = (dir: string, file: string) => readFileSync(`${dir}/${file}`, 'utf8');

function refusal(run: () => unknown): DatasetValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof DatasetValidationError) return error;
    throw error;
  }
  throw new Error('expected the dataset to be refused');
}

const DATA_TYPE_MESSAGE = 'must be one of string, integer, float, boolean, object_id, object, no_op (optionally followed by [])';

const expected: Record<string, string[]> = {
  'after-address-format.yml': [
    'dataset shop, collection customer: fides_meta.after[0]: must be dataset.collection (line 7)',
    'dataset shop, collection customer: fides_meta.erase_after: expected array, received string (line 8)',
  ],
  'after-itself.yml': [
    'dataset shop, collection customer: fides_meta.after[1]: a collection cannot run after itself (line 7)',
    'dataset shop, collection customer: fides_meta.erase_after[0]: a collection cannot be erased after itself (line 9)',
    'dataset shop, collection customer: fides_meta.erase_after[1]: unknown collection shop.invoices (line 10)',
  ],
  'bad-direction.yml': [
    'dataset shop, collection customer, field address_id: fides_meta.references[0].direction: must be from, to or none (line 15)',
    'dataset shop, collection customer, field address_id: fides_meta.references[1].direction: must be from, to or none (line 18)',
  ],
  'bad-length.yml': [
    'dataset shop, collection customer, field name: fides_meta.length: must be a positive integer (line 9)',
    'dataset shop, collection customer, field nickname: fides_meta.length: must be a positive integer (line 12)',
    'dataset shop, collection customer, field bio: fides_meta.length: must be a positive integer (line 15)',
    'dataset shop, collection customer, field notes: fides_meta.length: must be a positive integer (line 18)',
  ],
  'collections-not-a-list.yml': [
    'dataset shop: collections: expected array, received object (line 5)',
    'dataset warehouse: collections: is required (line 8)',
  ],
  'data-categories-not-a-list.yml': [
    'dataset shop: data_categories: expected array, received string (line 4)',
    'dataset shop, collection customer: data_categories: expected array, received string (line 7)',
    'dataset shop, collection customer, field email: data_categories: expected array, received string (line 10)',
    'dataset shop, collection customer, field phone: data_categories[1]: must not be empty (line 12)',
  ],
  'dataset-empty-list.yml': ['dataset: must list at least one dataset (line 2)'],
  'dataset-missing.yml': ['dataset: is required (line 2)'],
  'dataset-not-a-list.yml': ['dataset: expected array, received object (line 3)'],
  'duplicate-collection.yml': ['dataset shop, collection customer: collection name appears more than once (line 11)'],
  'duplicate-fides-key.yml': ['dataset shop: fides_key appears more than once (first as dataset #1) (line 10)'],
  'duplicate-field.yml': [
    'dataset shop, collection customer, field address.city: field name appears more than once in field address (line 12)',
    'dataset shop, collection customer, field id: field name appears more than once in its collection (line 13)',
  ],
  'empty-file.yml': ['expected a mapping with a dataset: list, found an empty document'],
  'fides-key-bad-characters.yml': [
    'dataset my shop!: fides_key: must contain only letters, digits, _ . < > - (line 3)',
    'dataset shop/eu: fides_key: must contain only letters, digits, _ . < > - (line 5)',
  ],
  'fidesops-meta-references.yml': [
    'dataset legacy, collection customer: fidesops_meta.after[0]: a collection cannot run after itself (line 7)',
    'dataset legacy, collection customer: fidesops_meta.erase_after[0]: unknown collection legacy.address (line 8)',
    'dataset legacy, collection customer, field address_id: references unknown collection legacy.address (line 17)',
  ],
  'fidesops-meta.yml': [
    'dataset legacy, collection customer: fidesops_meta.skip_processing: expected boolean, received string (line 7)',
    'dataset legacy, collection customer, field id: fidesops_meta.primary_key: expected boolean, received string (line 11)',
    'dataset legacy, collection customer, field name: fidesops_meta.length: must be a positive integer (line 14)',
    `dataset legacy, collection customer, field name: fidesops_meta.data_type: ${DATA_TYPE_MESSAGE} (line 15)`,
    'dataset legacy, collection customer, field address_id: fidesops_meta.references[0].direction: must be from, to or none (line 21)',
  ],
  'field-without-name.yml': [
    'dataset shop, collection customer, field #2: name: is required (line 8)',
    'dataset shop, collection customer, field #3: name: must not be empty (line 9)',
    'dataset shop, collection customer, field #4: name: expected string, received number (line 10)',
    'dataset shop, collection customer, field address.city: name: must not contain a dot (line 11)',
  ],
  'invalid-yaml-duplicate-key.yml': ['invalid YAML: Map keys must be unique (line 8)'],
  // The YAML library notices the unclosed `[` of line 8 where the next block item starts.
  'invalid-yaml.yml': ['invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 9)'],
  'meta-wrong-types.yml': [
    'dataset shop, collection customer: fides_meta.skip_processing: expected boolean, received string (line 7)',
    'dataset shop, collection customer: fides_meta.masking_strategy_override.strategy: must be one of null_rewrite, string_rewrite, hash, hmac, random_string_rewrite, aes_encrypt, delete (line 9)',
    'dataset shop, collection customer, field email: fides_meta: expected object, received string (line 12)',
    'dataset shop, collection customer, field id: fides_meta.primary_key: expected boolean, received number (line 15)',
    'dataset shop, collection customer, field id: fides_meta.identity: must not be empty (line 16)',
    'dataset shop, collection customer, field name: fides_meta.masking_strategy_override: expected object, received string (line 19)',
    'dataset shop, collection customer, field address_id: fides_meta.references: expected array, received object (line 23)',
  ],
  'missing-fides-key.yml': ['dataset #1: fides_key: is required (line 3)'],
  'nested-field-problems.yml': [
    `dataset shop, collection customer, field address.city: fides_meta.data_type: ${DATA_TYPE_MESSAGE} (line 11)`,
    'dataset shop, collection customer, field address.geo.lat: fides_meta.length: must be a positive integer (line 16)',
    'dataset shop, collection customer, field address.geo.#2: name: is required (line 17)',
  ],
  'not-a-mapping.yml': ['expected a mapping with a dataset: list, found a list (line 2)'],
  'problems-in-several-datasets.yml': [
    'dataset shop, collection customer, field id: field name appears more than once in its collection (line 9)',
    'dataset crm, collection contacts, field email: fides_meta.identity: expected string, received number (line 16)',
    'dataset billing, collection invoice, field customer_id: references unknown collection billing.customers (line 25)',
  ],
  'reference-field-format.yml': [
    'dataset shop, collection customer, field address_id: fides_meta.references[0].field: must be collection.field (line 12)',
    'dataset shop, collection customer, field address_id: fides_meta.references[1].field: must be collection.field (line 15)',
    'dataset shop, collection customer, field address_id: fides_meta.references[2].dataset: is required (line 16)',
    'dataset shop, collection customer, field address_id: fides_meta.references[3].field: is required (line 17)',
  ],
  'unknown-data-type.yml': [
    `dataset shop, collection customer, field email: fides_meta.data_type: ${DATA_TYPE_MESSAGE} (line 9)`,
    `dataset shop, collection customer, field prices: fides_meta.data_type: ${DATA_TYPE_MESSAGE} (line 15)`,
    'dataset shop, collection customer, field created: fides_meta.data_type: expected string, received number (line 18)',
  ],
  'unknown-reference-target.yml': [
    'dataset shop, collection customer, field address_id: references unknown collection shop.addresses (line 18)',
    'dataset shop, collection customer, field address_id: references unknown field shop.address.uuid (line 21)',
    'dataset shop, collection customer, field address_id: references unknown field shop.address.geo.lng (line 23)',
  ],
};

describe('broken dataset files', () => {
  it('has the messages of every file, and a file for every entry', () => {
    expect(filesIn(BROKEN)).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s', (file, messages) => {
    const error = refusal(() => parseDatasetYaml(read(BROKEN, file)));
    expect(error.message.split('\n')).toEqual(messages);
    expect(error.problems.map(describeProblem)).toEqual(messages);
  });

  it('gives the same problems, without lines, for the same document as JSON', () => {
    for (const file of Object.keys(expected).filter((name) => !name.startsWith('invalid-yaml'))) {
      const document = parseYaml(read(BROKEN, file));
      const error = refusal(() => parseDatasets(document === null ? null : JSON.parse(JSON.stringify(document))));
      const withoutLines = expected[file]!.map((message) => message.replace(/ \(line \d+\)$/, ''));
      expect([...error.message.split('\n')].sort(), file).toEqual([...withoutLines].sort());
      for (const problem of error.problems) expect(problem.line).toBeUndefined();
    }
  });

  it('locates problems as separate dataset, collection, field and line', () => {
    expect(refusal(() => parseDatasetYaml(read(BROKEN, 'nested-field-problems.yml'))).problems).toEqual([
      { dataset: 'shop', collection: 'customer', field: 'address.city', line: 11, message: `fides_meta.data_type: ${DATA_TYPE_MESSAGE}` },
      { dataset: 'shop', collection: 'customer', field: 'address.geo.lat', line: 16, message: 'fides_meta.length: must be a positive integer' },
      { dataset: 'shop', collection: 'customer', field: 'address.geo.#2', line: 17, message: 'name: is required' },
    ]);
    expect(refusal(() => parseDatasetYaml(read(BROKEN, 'fidesops-meta-references.yml'))).problems[2]).toEqual({
      dataset: 'legacy',
      collection: 'customer',
      field: 'address_id',
      line: 17,
      message: 'references unknown collection legacy.address',
    });
  });
});

describe('valid dataset files', () => {
  const load = (file: string) => parseDatasetYaml(read(VALID, file));
  const collection = (dataset: Dataset, name: string) => dataset.collections.find((c) => c.name === name)!;
  const field = (fields: DatasetField[] | undefined, ...path: string[]): DatasetField =>
    path.reduce<DatasetField>((found, name, i) => (i === 0 ? fields : found.fields)!.find((f) => f.name === name)!, undefined as never);
  const plan = (datasets: Dataset[]) => planTraversal({ datasets: datasets.map((dataset) => ({ connectionKey: 'c', dataset })), identities: ['email'] });

  it('loads every file', () => {
    expect(filesIn(VALID)).toEqual(['fidesops-meta.yml', 'nested-fields.yml', 'reference-directions.yml', 'skip-processing-and-masking.yml']);
    for (const file of filesIn(VALID)) expect(() => load(file), file).not.toThrow();
  });

  it('nested fields', () => {
    const [documents] = load('nested-fields.yml');
    const customer = collection(documents!, 'customer');
    expect(field(customer.fields, 'address', 'geo', 'lng').fides_meta).toEqual({ data_type: 'float' });
    expect(field(customer.fields, 'tags').fides_meta).toEqual({ data_type: 'string[]', return_all_elements: true });
    expect(field(collection(documents!, 'visit').fields, 'city').fides_meta!.references).toEqual([
      { dataset: 'documents', field: 'customer.address.city', direction: 'from' },
    ]);
    expect(plan([documents!]).collections.find((c) => c.key === 'documents:visit')!.inputs).toEqual([
      { field: 'city', from: { collection: 'documents:customer', field: 'address.city' } },
    ]);
  });

  it('fidesops_meta, read as fides_meta', () => {
    const [legacy] = load('fidesops-meta.yml');
    const users = collection(legacy!, 'users');
    expect(users.fides_meta).toEqual({ skip_processing: false });
    expect(field(users.fields, 'id').fides_meta).toEqual({ primary_key: true });
    expect(field(users.fields, 'email').fides_meta).toEqual({ identity: 'email', data_type: 'string', length: 120 });
    expect(JSON.stringify(legacy)).not.toContain('fidesops_meta');
  });

  it('references with every direction, within and across datasets', () => {
    const datasets = load('reference-directions.yml');
    const [shop] = datasets;
    expect(shop!.fides_meta).toEqual({ after: ['crm'] });
    const directions = shop!.collections.flatMap((c) => c.fields.flatMap((f) => f.fides_meta?.references ?? []).map((r) => r.direction ?? 'unset'));
    expect(directions).toEqual(['to', 'from', 'none', 'unset']);
    expect(plan(datasets).stages).toEqual([['crm:contacts'], ['shop:customer'], ['shop:address', 'shop:orders', 'shop:reviews']]);
  });

  it('skip_processing, after, erase_after and masking overrides', () => {
    const [app] = load('skip-processing-and-masking.yml');
    expect(field(collection(app!, 'users').fields, 'name').fides_meta!.masking_strategy_override).toEqual({
      strategy: 'string_rewrite',
      configuration: { rewrite_value: 'masked', format_preservation: { suffix: '-masked' } },
    });
    expect(collection(app!, 'sessions').fides_meta).toEqual({ after: ['app.users'], erase_after: ['app.audit'], masking_strategy_override: { strategy: 'delete' } });
    expect(collection(app!, 'archive')).toEqual({ name: 'archive', description: undefined, fides_meta: { skip_processing: true }, fields: [{ name: 'email', description: undefined }] });
    const planned = plan([app!]);
    expect(planned.stages).toEqual([['app:users'], ['app:sessions']]);
    expect(planned.erasureStages).toEqual([['app:sessions'], ['app:users']]);
  });
});
