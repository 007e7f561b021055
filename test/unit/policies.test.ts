import { describe, expect, it } from 'vitest';
import { categoryMatches, fieldsAffected, policyActionTypes, type Policy } from '../../src/domain/policies.js';
import { exampleDataset } from '../../src/example/load.js';

describe('data category targets', () => {
  it.each([
    ['user.contact', 'user.contact.email', true],
    ['user.contact', 'user.contact', true],
    ['user', 'user.contact.address.city', true],
    ['user.contact', 'user.contactless', false],
    ['user.contact.email', 'user.contact', false],
    ['system', 'user.contact', false],
  ])('%s selects %s: %s', (target, category, selected) => {
    expect(categoryMatches(target, category)).toBe(selected);
  });

  it('selects the fields of a collection that a policy targets', async () => {
    const [dataset] = await exampleDataset();
    const customer = dataset!.collections.find((collection) => collection.name === 'customer')!;
    const policy: Policy = {
      key: 'contact',
      name: 'Contact',
      requires_approval: false,
      requires_erasure_confirmation: false,
      rules: [{ key: 'r', name: 'r', action_type: 'access', masking_strategy: null, targets: [{ key: 't', data_category: 'user.contact' }] }],
    };
    expect(fieldsAffected(policy, 'access', dataset!.fides_key, customer)).toEqual([
      { path: 'postgres_example_test_dataset:customer:email', field_name: 'email', data_categories: ['user.contact.email'] },
    ]);
    expect(fieldsAffected(policy, 'erasure', dataset!.fides_key, customer)).toEqual([]);
    expect(policyActionTypes(policy)).toEqual(['access']);
  });
});
