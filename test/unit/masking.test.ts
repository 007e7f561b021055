import { createCipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DatasetField } from '../../src/domain/datasets.js';
import {
  MaskingError,
  decryptAesValue,
  isRowDelete,
  maskValue,
  maskingStrategySchema,
  parseMaskingStrategy,
  strategyForField,
  type MaskingStrategy,
} from '../../src/domain/masking.js';
import { exampleDataset } from '../../src/example/load.js';

const secret = Buffer.alloc(32, 7);
const otherSecret = Buffer.alloc(32, 8);
const email = 'jane@example.com';

/** The documented key derivation, written out independently of the module. */
const subKey = (use: string, from = secret) => Buffer.from(hkdfSync('sha256', from, Buffer.alloc(0), `dsrflow/masking/v1/${use}`, 32));

/** The documented random_string_rewrite expansion, written out independently of the module. */
function expectedRandomString(value: string, length: number, from = secret): string {
  const seed = createHmac('sha256', subKey('random_string_rewrite', from)).update(value).digest();
  let out = '';
  for (let counter = 0; out.length < length; counter += 1) {
    const block = createHmac('sha256', seed).update(Buffer.from([counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255])).digest();
    for (const byte of block) if (byte < 252 && out.length < length) out += 'abcdefghijklmnopqrstuvwxyz0123456789'[byte % 36];
  }
  return out;
}

const hash: MaskingStrategy = { strategy: 'hash' };
const hmac: MaskingStrategy = { strategy: 'hmac' };
const random: MaskingStrategy = { strategy: 'random_string_rewrite' };
const aes: MaskingStrategy = { strategy: 'aes_encrypt' };
const rewrite: MaskingStrategy = { strategy: 'string_rewrite', configuration: { rewrite_value: 'MASKED' } };
const nullRewrite: MaskingStrategy = { strategy: 'null_rewrite' };
const valueStrategies = [rewrite, hash, hmac, random, aes];

describe('masking test vectors (secret = 32 bytes of 0x07, value jane@example.com)', () => {
  it('null_rewrite writes null', () => {
    expect(maskValue(nullRewrite, email, { secret })).toBeNull();
  });

  it('string_rewrite writes the rewrite value, with the suffix', () => {
    expect(maskValue(rewrite, email, { secret })).toBe('MASKED');
    expect(maskValue({ strategy: 'string_rewrite', configuration: { rewrite_value: 'testing', format_preservation: { suffix: '-test' } } }, email, { secret })).toBe('testing-test');
  });

  it('hash is hex SHA-256 of value + salt, the salt being the hex of the derived hash key', () => {
    const salt = subKey('hash').toString('hex');
    const expected = 'ad0cf75ef3a6557a9f4c7c7c8476ba6b4427d3831a2bc95beb84e128179354b4';
    expect(createHash('sha256').update(email + salt).digest('hex')).toBe(expected);
    expect(maskValue(hash, email, { secret })).toBe(expected);
  });

  it('hash with SHA-512', () => {
    const salt = subKey('hash').toString('hex');
    const expected =
      '9f7e00537a7bf91456360a07d221edb62b8dce1f97f5de7a484160313efbd217f7e0005a06ab512ed905d0040bc790de9660c7aff5cc831da5a4e9608615bdd8';
    expect(createHash('sha512').update(email + salt).digest('hex')).toBe(expected);
    expect(maskValue({ strategy: 'hash', configuration: { algorithm: 'SHA-512' } }, email, { secret })).toBe(expected);
  });

  it('hmac is hex HMAC-SHA-256 with the derived hmac key', () => {
    const expected = 'f9fad100b159e6a04b40eb5c19c0d70635cde8e48864c652186316677e508a51';
    expect(createHmac('sha256', subKey('hmac')).update(email).digest('hex')).toBe(expected);
    expect(maskValue(hmac, email, { secret })).toBe(expected);
    // Not keyed with the raw secret: each strategy has its own key.
    expect(expected).not.toBe(createHmac('sha256', secret).update(email).digest('hex'));
  });

  it('hmac with SHA-512', () => {
    const expected =
      'e31c5c13a8407438a36d43639d9412329a9b01b4e65f77d1e58906ab0e2fd8a70e772f806a5bbe7f97a1a145b74b52a6b7fc03d0928e2e163aaa4fac0cc56059';
    expect(createHmac('sha512', subKey('hmac')).update(email).digest('hex')).toBe(expected);
    expect(maskValue({ strategy: 'hmac', configuration: { algorithm: 'SHA-512' } }, email, { secret })).toBe(expected);
  });

  it('random_string_rewrite draws 30 characters from an HMAC expansion of the value', () => {
    const expected = 's0wngd8yqx2a29gykeaykf1vrei1mn';
    expect(expectedRandomString(email, 30)).toBe(expected);
    expect(maskValue(random, email, { secret })).toBe(expected);
  });

  it('aes_encrypt is base64(nonce | ciphertext | tag) with the nonce from an HMAC of the value', () => {
    const expected = '4yzkG77QsxENg0lsgzHSEcFx9IisNzGDz5ILdQ8UPS3kO9j65/475eEkHnc=';
    const nonce = createHmac('sha256', subKey('aes_encrypt/nonce')).update(email).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', subKey('aes_encrypt/key'), nonce);
    cipher.setAAD(nonce);
    const independent = Buffer.concat([nonce, cipher.update(email, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
    expect(independent).toBe(expected);
    expect(maskValue(aes, email, { secret })).toBe(expected);
    // The nonce key is not the hmac strategy's key.
    expect(Buffer.from(expected, 'base64').subarray(0, 12).toString('hex')).not.toBe(maskValue(hmac, email, { secret })!.toString().slice(0, 24));
  });
});

describe('determinism', () => {
  it.each(valueStrategies.map((strategy) => [strategy.strategy, strategy] as const))('%s gives the same output for the same value and secret', (_name, strategy) => {
    const first = maskValue(strategy, email, { secret });
    expect(maskValue(strategy, email, { secret: Buffer.alloc(32, 7) })).toBe(first);
    expect(maskValue(strategy, email, { secret })).toBe(first);
  });

  it.each([hash, hmac, random, aes].map((strategy) => [strategy.strategy, strategy] as const))('%s depends on the secret and the value', (_name, strategy) => {
    const first = maskValue(strategy, email, { secret });
    expect(maskValue(strategy, email, { secret: otherSecret })).not.toBe(first);
    expect(maskValue(strategy, 'john@example.com', { secret })).not.toBe(first);
  });

  it('refuses a secret that is not 32 bytes', () => {
    expect(() => maskValue(hash, email, { secret: Buffer.alloc(16, 7) })).toThrow(/32 bytes, got 16/);
  });
});

describe('format preservation and length', () => {
  const suffix = '@example.org';

  it('appends the suffix to hash, hmac, random_string_rewrite and aes_encrypt outputs', () => {
    expect(maskValue({ strategy: 'hash', configuration: { format_preservation: { suffix } } }, email, { secret })).toBe(`${maskValue(hash, email, { secret })}${suffix}`);
    expect(maskValue({ strategy: 'hmac', configuration: { format_preservation: { suffix } } }, email, { secret })).toBe(`${maskValue(hmac, email, { secret })}${suffix}`);
    expect(maskValue({ strategy: 'random_string_rewrite', configuration: { length: 8, format_preservation: { suffix } } }, email, { secret })).toBe(
      `${expectedRandomString(email, 8)}${suffix}`,
    );
    expect(maskValue({ strategy: 'aes_encrypt', configuration: { format_preservation: { suffix } } }, email, { secret })).toBe(`${maskValue(aes, email, { secret })}${suffix}`);
  });

  it('cuts the output to the field length', () => {
    expect(maskValue(hash, email, { secret, length: 10 })).toBe('ad0cf75ef3');
    expect(maskValue(random, email, { secret, length: 5 })).toBe('s0wng');
    expect(maskValue(rewrite, email, { secret, length: 3 })).toBe('MAS');
    expect(maskValue(hash, email, { secret, length: 1000 })).toHaveLength(64);
  });

  it('keeps the suffix when it is shorter than the length, cutting the body instead', () => {
    const masked = maskValue({ strategy: 'hash', configuration: { format_preservation: { suffix } } }, email, { secret, length: 20 });
    expect(masked).toBe(`ad0cf75e${suffix}`);
    expect(masked).toHaveLength(20);
  });

  it('cuts body and suffix together when the suffix does not fit', () => {
    expect(maskValue({ strategy: 'string_rewrite', configuration: { rewrite_value: 'x', format_preservation: { suffix } } }, email, { secret, length: 5 })).toBe('x@exa');
  });

  it('counts characters, not UTF-16 code units', () => {
    expect(maskValue({ strategy: 'string_rewrite', configuration: { rewrite_value: '😀😀😀' } }, email, { secret, length: 2 })).toBe('😀😀');
  });

  it('refuses an aes_encrypt output that does not fit rather than writing a cut ciphertext', () => {
    expect(() => maskValue(aes, email, { secret, length: 40 })).toThrow(MaskingError);
    expect(() => maskValue(aes, email, { secret, length: 40 })).toThrow(/aes_encrypt needs 60 characters .* length is 40/);
    expect(maskValue(aes, email, { secret, length: 60 })).toHaveLength(60);
  });
});

describe('aes_encrypt is reversible', () => {
  it('decrypts with the same secret', () => {
    for (const value of [email, '', 'Zoë 😀 Ünïcode', 'x'.repeat(500)]) {
      expect(decryptAesValue(maskValue(aes, value, { secret }) as string, secret)).toBe(value);
    }
  });

  it('decrypts a value with a format-preservation suffix', () => {
    const masked = maskValue({ strategy: 'aes_encrypt', configuration: { mode: 'GCM', format_preservation: { suffix: '@masked' } } }, email, { secret }) as string;
    expect(masked.endsWith('@masked')).toBe(true);
    expect(decryptAesValue(masked, secret, { suffix: '@masked' })).toBe(email);
    expect(() => decryptAesValue(masked, secret, { suffix: '@other' })).toThrow(/suffix/);
  });

  it('uses a different nonce for different values', () => {
    const nonceOf = (value: string) => Buffer.from(maskValue(aes, value, { secret }) as string, 'base64').subarray(0, 12).toString('hex');
    expect(nonceOf(email)).not.toBe(nonceOf('john@example.com'));
  });

  it('refuses a tampered ciphertext, a wrong secret and a value that is not base64', () => {
    const sealed = Buffer.from(maskValue(aes, email, { secret }) as string, 'base64');
    for (const position of [0, 12, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[position]! ^= 1;
      expect(() => decryptAesValue(tampered.toString('base64'), secret)).toThrow(/does not decrypt with this secret/);
    }
    expect(() => decryptAesValue(sealed.toString('base64'), otherSecret)).toThrow(MaskingError);
    expect(() => decryptAesValue('not base64!', secret)).toThrow(/not base64/);
    expect(() => decryptAesValue(sealed.subarray(0, 20).toString('base64'), secret)).toThrow(/too short/);
  });
});

describe('random_string_rewrite', () => {
  it('writes the configured number of lowercase letters and digits', () => {
    for (const length of [1, 5, 30, 100, 257]) {
      const masked = maskValue({ strategy: 'random_string_rewrite', configuration: { length } }, email, { secret }) as string;
      expect(masked).toMatch(/^[a-z0-9]+$/);
      expect(masked).toHaveLength(length);
      expect(masked).toBe(expectedRandomString(email, length));
    }
  });

  it('defaults to 30 characters, and a longer string starts with the shorter one', () => {
    expect(maskValue(random, email, { secret })).toHaveLength(30);
    const long = maskValue({ strategy: 'random_string_rewrite', configuration: { length: 100 } }, email, { secret }) as string;
    expect(long.startsWith(maskValue(random, email, { secret }) as string)).toBe(true);
  });

  it('uses the whole alphabet', () => {
    const characters = new Set(maskValue({ strategy: 'random_string_rewrite', configuration: { length: 2000 } }, email, { secret }) as string);
    expect(characters.size).toBe(36);
  });
});

describe('data types and values', () => {
  it('leaves null and undefined as null', () => {
    for (const strategy of valueStrategies) {
      expect(maskValue(strategy, null, { secret })).toBeNull();
      expect(maskValue(strategy, undefined, { secret })).toBeNull();
    }
  });

  it.each([
    ['hash', hash, 'integer'],
    ['hmac', hmac, 'float'],
    ['string_rewrite', rewrite, 'boolean'],
    ['random_string_rewrite', random, 'integer[]'],
    ['aes_encrypt', aes, 'object'],
  ] as const)('refuses %s on a field of data_type %s', (name, strategy, dataType) => {
    expect(() => maskValue(strategy, 42, { secret, data_type: dataType })).toThrow(MaskingError);
    expect(() => maskValue(strategy, 42, { secret, data_type: dataType })).toThrow(`${name} writes strings and cannot mask a field of data_type ${dataType}`);
    // Refused for null too, so the misconfiguration does not depend on the data.
    expect(() => maskValue(strategy, null, { secret, data_type: dataType })).toThrow(MaskingError);
  });

  it('refuses a strategy it does not know, even when it skipped validation', () => {
    expect(() => maskValue({ strategy: 'scramble' } as unknown as MaskingStrategy, email, { secret })).toThrow('unknown masking strategy scramble');
  });

  it('null_rewrite masks every data type', () => {
    for (const dataType of ['integer', 'float', 'boolean', 'object', 'string[]', 'integer[]']) {
      expect(maskValue(nullRewrite, 42, { secret, data_type: dataType })).toBeNull();
    }
    expect(maskValue(nullRewrite, ['a', 'b'], { secret, data_type: 'string[]' })).toBeNull();
  });

  it('treats a value without data_type as a string', () => {
    expect(maskValue(hash, 42, { secret })).toBe(maskValue(hash, '42', { secret }));
    expect(maskValue(hash, 42, { secret, data_type: 'string' })).toBe(maskValue(hash, '42', { secret }));
    expect(maskValue(hash, email, { secret, data_type: 'no_op' })).toBe(maskValue(hash, email, { secret }));
    const date = new Date('2024-01-02T03:04:05.000Z');
    expect(maskValue(hmac, date, { secret })).toBe(maskValue(hmac, '2024-01-02T03:04:05.000Z', { secret }));
  });

  it('refuses values that are not strings, numbers or dates', () => {
    expect(() => maskValue(hash, { street: 'Main' }, { secret })).toThrow(/hash can only mask strings and numbers, got object/);
  });

  it('masks each element of an array, keeping null elements', () => {
    const masked = maskValue(hash, ['a@example.com', null, 'b@example.com'], { secret, data_type: 'string[]', length: 12 });
    expect(masked).toEqual([maskValue(hash, 'a@example.com', { secret, length: 12 }), null, maskValue(hash, 'b@example.com', { secret, length: 12 })]);
    expect((masked as string[])[0]).toHaveLength(12);
    expect(maskValue(rewrite, ['x', 'y'], { secret, data_type: 'string[]' })).toEqual(['MASKED', 'MASKED']);
  });

  it('refuses a value that is not an array for an array data type', () => {
    expect(() => maskValue(hash, 'a@example.com', { secret, data_type: 'string[]' })).toThrow(/expected an array for data_type string\[\]/);
  });
});

describe('row delete', () => {
  it('is told apart from value masking', () => {
    expect(isRowDelete({ strategy: 'delete' })).toBe(true);
    expect(isRowDelete(nullRewrite)).toBe(false);
    expect(isRowDelete(null)).toBe(false);
    expect(isRowDelete(undefined)).toBe(false);
    expect(() => maskValue({ strategy: 'delete' }, email, { secret })).toThrow(/delete removes whole rows/);
  });
});

describe('strategy for a field', () => {
  const plain: DatasetField = { name: 'email', fides_meta: { data_type: 'string' } };
  const overridden: DatasetField = {
    name: 'name',
    fides_meta: { masking_strategy_override: { strategy: 'string_rewrite', configuration: { rewrite_value: 'testing' } } },
  };

  it("a field's masking_strategy_override wins over the rule's strategy", () => {
    expect(strategyForField(hash, overridden)).toEqual({ strategy: 'string_rewrite', configuration: { rewrite_value: 'testing' } });
    expect(strategyForField(null, overridden)).toEqual({ strategy: 'string_rewrite', configuration: { rewrite_value: 'testing' } });
  });

  it("uses the rule's strategy otherwise, and null when there is none", () => {
    expect(strategyForField({ strategy: 'hmac', configuration: { algorithm: 'SHA-512' } }, plain)).toEqual({ strategy: 'hmac', configuration: { algorithm: 'SHA-512' } });
    expect(strategyForField(null, plain)).toBeNull();
    expect(strategyForField(undefined, { name: 'bare' })).toBeNull();
  });

  it('names the field when its override is invalid, and the rule when the rule is', () => {
    const broken = { name: 'name', fides_meta: { masking_strategy_override: { strategy: 'string_rewrite', configuration: {} } } } as unknown as DatasetField;
    expect(() => strategyForField(hash, broken)).toThrow('field name: fides_meta.masking_strategy_override: configuration.rewrite_value: is required');
    expect(() => strategyForField({ strategy: 'scramble' } as never, plain)).toThrow(/^masking_strategy: strategy: must be one of null_rewrite/);
  });

  it('masks the example dataset fields: the override of employee.name, the length of customer.name', async () => {
    const [dataset] = await exampleDataset();
    const nameOf = (collection: string) => dataset!.collections.find((candidate) => candidate.name === collection)!.fields.find((field) => field.name === 'name')!;
    const employeeName = nameOf('employee');
    expect(maskValue(strategyForField(nullRewrite, employeeName)!, 'Jane Doe', { secret, data_type: employeeName.fides_meta?.data_type })).toBe('testing-test');
    const customerName = nameOf('customer');
    const masked = maskValue(strategyForField(hash, customerName)!, 'Jane Doe', { secret, ...customerName.fides_meta });
    expect(masked).toHaveLength(40);
    expect(masked).toBe((maskValue(hash, 'Jane Doe', { secret }) as string).slice(0, 40));
  });
});

describe('strategy configuration', () => {
  it.each([
    [{ strategy: 'null_rewrite' }],
    [{ strategy: 'null_rewrite', configuration: {} }],
    [{ strategy: 'string_rewrite', configuration: { rewrite_value: 'MASKED', format_preservation: { suffix: '@example.com' } } }],
    [{ strategy: 'hash', configuration: { algorithm: 'SHA-512' } }],
    [{ strategy: 'hmac', configuration: { algorithm: 'SHA-256', format_preservation: { suffix: '-x' } } }],
    [{ strategy: 'random_string_rewrite', configuration: { length: 12 } }],
    [{ strategy: 'aes_encrypt', configuration: { mode: 'GCM' } }],
    [{ strategy: 'delete' }],
  ])('accepts %j', (input) => {
    expect(maskingStrategySchema.parse(input)).toEqual(input);
  });

  it.each([
    [{ strategy: 'scramble' }, 'strategy: must be one of null_rewrite, string_rewrite, hash, hmac, random_string_rewrite, aes_encrypt, delete'],
    [{}, 'strategy: must be one of'],
    [{ strategy: 'string_rewrite' }, 'configuration: is required'],
    [{ strategy: 'string_rewrite', configuration: {} }, 'configuration.rewrite_value: is required'],
    [{ strategy: 'string_rewrite', configuration: { rewrite_value: 3 } }, 'configuration.rewrite_value: expected string, received number'],
    [{ strategy: 'hash', configuration: { algorithm: 'MD5' } }, 'configuration.algorithm: must be SHA-256 or SHA-512'],
    [{ strategy: 'hmac', configuration: { algoritm: 'SHA-512' } }, 'configuration: unknown field: algoritm'],
    [{ strategy: 'random_string_rewrite', configuration: { length: 0 } }, 'configuration.length: must be a positive integer'],
    [{ strategy: 'random_string_rewrite', configuration: { length: 2.5 } }, 'configuration.length: must be a positive integer'],
    [{ strategy: 'random_string_rewrite', configuration: { length: '5' } }, 'configuration.length: expected number'],
    [{ strategy: 'aes_encrypt', configuration: { mode: 'CBC' } }, 'configuration.mode: must be GCM'],
    [{ strategy: 'hash', configuration: { format_preservation: {} } }, 'configuration.format_preservation.suffix: is required'],
    [{ strategy: 'null_rewrite', configuration: { rewrite_value: 'x' } }, 'configuration: unknown field: rewrite_value'],
  ])('refuses %j: %s', (input, message) => {
    expect(maskingStrategySchema.safeParse(input).success).toBe(false);
    expect(() => parseMaskingStrategy(input)).toThrow(MaskingError);
    expect(() => parseMaskingStrategy(input)).toThrow(`masking strategy: ${message}`);
  });
});
