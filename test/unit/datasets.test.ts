import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DatasetValidationError, parseDatasetYaml } from '../../src/domain/datasets.js';
import { EXAMPLE_DIR } from '../../src/example/load.js';

const read = (file: string) => readFile(`${EXAMPLE_DIR}/${file}`, 'utf8');

function problems(yaml: string): string[] {
  try {
    parseDatasetYaml(yaml);
  } catch (error) {
    if (error instanceof DatasetValidationError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the dataset to be refused');
}

describe('fideslang datasets', () => {
  it('loads the Fides example datasets unchanged', async () => {
    const [dataset] = parseDatasetYaml(await read('postgres_example_test_dataset.yml'));
    expect(dataset!.fides_key).toBe('postgres_example_test_dataset');
    expect(dataset!.collections.map((collection) => collection.name)).toEqual([
      'address', 'customer', 'employee', 'login', 'orders', 'order_item', 'payment_card', 'product', 'report', 'service_request', 'visit',
    ]);
    const customer = dataset!.collections.find((collection) => collection.name === 'customer')!;
    expect(customer.fields.find((field) => field.name === 'email')!.fides_meta).toEqual({ identity: 'email', data_type: 'string' });
    expect(customer.fields.find((field) => field.name === 'address_id')!.fides_meta!.references).toEqual([
      { dataset: 'postgres_example_test_dataset', field: 'address.id', direction: 'to' },
    ]);
    const employee = dataset!.collections.find((collection) => collection.name === 'employee')!;
    expect(employee.fields.find((field) => field.name === 'name')!.fides_meta!.masking_strategy_override).toEqual({
      strategy: 'string_rewrite',
      configuration: { rewrite_value: 'testing', format_preservation: { suffix: '-test' } },
    });

    const [extended] = parseDatasetYaml(await read('postgres_example_test_extended_dataset.yml'));
    expect(extended!.collections[0]!.fields[0]!.fides_meta).toEqual({ identity: 'loyalty_id' });
  });

  it('reads the older fidesops_meta like fides_meta', () => {
    const [dataset] = parseDatasetYaml(`
dataset:
  - fides_key: legacy
    collections:
      - name: users
        fields:
          - name: email
            fidesops_meta:
              identity: email
`);
    expect(dataset!.collections[0]!.fields[0]!.fides_meta).toEqual({ identity: 'email' });
  });

  it('names the dataset, collection, field and line of each problem', () => {
    expect(
      problems(`dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: email
            fides_meta:
              identity: email
              data_type: text
          - name: name
            fides_meta:
              length: -4
          - name: address_id
            fides_meta:
              references:
                - dataset: shop
                  field: addresses.id
                  direction: sideways
`),
    ).toEqual([
      'dataset shop, collection customer, field email: fides_meta.data_type: must be one of string, integer, float, boolean, object_id, object, no_op (optionally followed by []) (line 9)',
      'dataset shop, collection customer, field name: fides_meta.length: must be a positive integer (line 12)',
      'dataset shop, collection customer, field address_id: fides_meta.references[0].direction: must be from, to or none (line 18)',
    ]);
  });

  it('finds references to collections and fields that do not exist, and duplicates', () => {
    expect(
      problems(`dataset:
  - fides_key: shop
    collections:
      - name: customer
        fields:
          - name: id
          - name: id
          - name: address_id
            fides_meta:
              references:
                - dataset: shop
                  field: address.id
      - name: orders
        fields:
          - name: customer_id
            fides_meta:
              references:
                - dataset: shop
                  field: customer.uuid
                  direction: from
`),
    ).toEqual([
      'dataset shop, collection customer, field id: field name appears more than once in its collection (line 7)',
      'dataset shop, collection customer, field address_id: references unknown collection shop.address (line 12)',
      'dataset shop, collection orders, field customer_id: references unknown field shop.customer.uuid (line 19)',
    ]);
  });

  it('says what is missing where', () => {
    expect(problems(`dataset:\n  - name: no key\n    collections: []\n`)).toEqual(['dataset #1: fides_key: is required (line 2)']);
    expect(problems(`dataset:\n  - fides_key: shop\n    collections:\n      - name: customer\n`)).toEqual(['dataset shop, collection customer: fields: is required (line 4)']);
    expect(problems(`collections: []\n`)).toEqual(['dataset: is required (line 1)']);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems(`dataset:\n  - fides_key: shop\n    collections: [\n`)[0]).toMatch(/^invalid YAML: .* \(line \d+\)$/);
  });
});
