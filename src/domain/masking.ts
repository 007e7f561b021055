/**
 * Masking strategies: what an erasure writes in place of a value. Configurations use Fides' keys.
 *
 * - `null_rewrite`: writes null. Works for every data type.
 * - `string_rewrite`: writes `rewrite_value` (plus the `format_preservation` suffix, if set).
 * - `hash`: hex SHA-256 (or SHA-512) of the value followed by a salt, as Fides does.
 * - `hmac`: hex HMAC-SHA-256 (or SHA-512) of the value.
 * - `random_string_rewrite`: `length` (default 30) characters from a-z and 0-9. Not random: they
 *   are drawn from an HMAC of the value, so a retried erasure writes the same string again.
 * - `aes_encrypt`: AES-256-GCM, reversible with {@link decryptAesValue}. The nonce is derived from
 *   the value (convergent encryption, as in Fides), so the same value gives the same ciphertext.
 * - `delete`: deletes whole rows. It masks no value: the executor asks {@link isRowDelete}.
 *
 * Every output is a function of the value and the per-request secret only (32 bytes). Each
 * strategy uses its own key, derived with HKDF-SHA-256 (empty salt, info `dsrflow/masking/v1/<use>`,
 * 32 bytes), so a hash, an HMAC and a ciphertext of one value share no key:
 *
 * | strategy              | derived keys (info suffix)                  | output                                         |
 * | --------------------- | ------------------------------------------- | ---------------------------------------------- |
 * | hash                  | `hash` as 64 hex characters (the salt)      | hex(SHA(utf8(value + salt)))                    |
 * | hmac                  | `hmac`                                      | hex(HMAC-SHA(key, utf8(value)))                 |
 * | random_string_rewrite | `random_string_rewrite`                     | see {@link deterministicString}                 |
 * | aes_encrypt           | `aes_encrypt/key`, `aes_encrypt/nonce`      | base64(nonce ‖ ciphertext ‖ tag), AAD = nonce   |
 *
 * The output is cut to the field's `length` (in characters). A format-preservation suffix survives
 * when it is shorter than `length`: the body is shortened instead. An `aes_encrypt` output that does
 * not fit is refused rather than cut, since a cut ciphertext can never be decrypted.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { z } from 'zod';
import type { DatasetField, MaskingStrategyConfig } from './datasets.js';
import { formatPath, issueMessage } from './messages.js';

export const MASKING_STRATEGIES = ['null_rewrite', 'string_rewrite', 'hash', 'hmac', 'random_string_rewrite', 'aes_encrypt', 'delete'] as const;
export type MaskingStrategyName = (typeof MASKING_STRATEGIES)[number];

const formatPreservation = z.strictObject({ suffix: z.string() });
const algorithm = z.enum(['SHA-256', 'SHA-512'], { error: 'must be SHA-256 or SHA-512' });
/** Strategies without settings accept no configuration, or an empty one. */
const noConfiguration = z.strictObject({}).optional();

export const maskingStrategySchema = z.discriminatedUnion(
  'strategy',
  [
    z.strictObject({ strategy: z.literal('null_rewrite'), configuration: noConfiguration }),
    z.strictObject({
      strategy: z.literal('string_rewrite'),
      configuration: z.strictObject({ rewrite_value: z.string(), format_preservation: formatPreservation.optional() }),
    }),
    z.strictObject({
      strategy: z.literal('hash'),
      configuration: z.strictObject({ algorithm: algorithm.optional(), format_preservation: formatPreservation.optional() }).optional(),
    }),
    z.strictObject({
      strategy: z.literal('hmac'),
      configuration: z.strictObject({ algorithm: algorithm.optional(), format_preservation: formatPreservation.optional() }).optional(),
    }),
    z.strictObject({
      strategy: z.literal('random_string_rewrite'),
      configuration: z
        .strictObject({
          length: z.number().refine((n) => Number.isInteger(n) && n > 0, 'must be a positive integer').optional(),
          format_preservation: formatPreservation.optional(),
        })
        .optional(),
    }),
    z.strictObject({
      strategy: z.literal('aes_encrypt'),
      configuration: z.strictObject({ mode: z.literal('GCM', { error: 'must be GCM' }).optional(), format_preservation: formatPreservation.optional() }).optional(),
    }),
    z.strictObject({ strategy: z.literal('delete'), configuration: noConfiguration }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${MASKING_STRATEGIES.join(', ')}` : undefined) },
);
export type MaskingStrategy = z.infer<typeof maskingStrategySchema>;

export class MaskingError extends Error {
  override name = 'MaskingError';
}

/** Validates a strategy configuration; the error names each key that is wrong. */
export function parseMaskingStrategy(input: unknown, where = 'masking strategy'): MaskingStrategy {
  const parsed = maskingStrategySchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length ? formatPath(issue.path) : issue.code === 'invalid_union' ? 'strategy' : '';
    return `${path ? `${path}: ` : ''}${issueMessage(issue)}`;
  });
  throw new MaskingError(`${where}: ${problems.join('; ')}`);
}

/** True when the strategy deletes whole rows instead of masking values. */
export function isRowDelete(strategy: Pick<MaskingStrategyConfig, 'strategy'> | null | undefined): boolean {
  return strategy?.strategy === 'delete';
}

/**
 * The strategy that masks a field: its `fides_meta.masking_strategy_override` wins over the
 * rule's strategy. Null when neither names one.
 */
export function strategyForField(
  ruleStrategy: MaskingStrategyConfig | MaskingStrategy | null | undefined,
  field: Pick<DatasetField, 'name' | 'fides_meta'>,
): MaskingStrategy | null {
  const override = field.fides_meta?.masking_strategy_override;
  if (override) return parseMaskingStrategy(override, `field ${field.name}: fides_meta.masking_strategy_override`);
  return ruleStrategy ? parseMaskingStrategy(ruleStrategy, 'masking_strategy') : null;
}

export interface MaskingContext {
  /** The per-request secret: 32 bytes. */
  secret: Buffer;
  /** The field's fideslang data type (`string`, `integer`, …, optionally with `[]`). */
  data_type?: string | undefined;
  /** The field's maximum length in characters (`fides_meta.length`). */
  length?: number | undefined;
}

export type MaskedValue = string | null | MaskedValue[];

/** Data types a strategy that writes strings can mask; absent means string. */
const STRING_TYPES = new Set([undefined, 'string', 'no_op']);

/**
 * The value to write in place of `value`. Deterministic in value, strategy and secret.
 * Null stays null; arrays (`data_type` ending in `[]`) are masked element by element. A strategy
 * that writes strings on a field of another data type is refused even when the value is null,
 * so a misconfiguration shows on the first erasure rather than on the first non-null row.
 */
export function maskValue(strategy: MaskingStrategy, value: unknown, context: MaskingContext): MaskedValue {
  if (context.secret.length !== 32) throw new MaskingError(`the masking secret must be 32 bytes, got ${context.secret.length}`);
  if (strategy.strategy === 'delete') throw new MaskingError('delete removes whole rows and masks no value; check isRowDelete first');
  if (strategy.strategy === 'null_rewrite') return null;
  const isArrayType = context.data_type?.endsWith('[]') ?? false;
  const elementType = isArrayType ? context.data_type!.slice(0, -2) : context.data_type;
  if (!STRING_TYPES.has(elementType)) {
    throw new MaskingError(`${strategy.strategy} writes strings and cannot mask a field of data_type ${context.data_type}; use null_rewrite`);
  }
  if (value === null || value === undefined) return null;
  if (isArrayType && !Array.isArray(value)) throw new MaskingError(`${strategy.strategy}: expected an array for data_type ${context.data_type}, got ${typeof value}`);
  if (Array.isArray(value)) {
    return value.map((element) => (element === null || element === undefined ? null : maskString(strategy, asString(strategy, element), context)));
  }
  return maskString(strategy, asString(strategy, value), context);
}

function asString(strategy: MaskingStrategy, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  // ISO, so the output does not depend on the worker's time zone.
  if (value instanceof Date) return value.toISOString();
  throw new MaskingError(`${strategy.strategy} can only mask strings and numbers, got ${Array.isArray(value) ? 'a nested array' : typeof value}`);
}

type StringStrategy = Exclude<MaskingStrategy, { strategy: 'null_rewrite' | 'delete' }>;

function maskString(strategy: StringStrategy, value: string, { secret, length }: MaskingContext): string {
  const suffix = strategy.configuration?.format_preservation?.suffix ?? '';
  switch (strategy.strategy) {
    case 'string_rewrite':
      return fit(strategy.configuration.rewrite_value, suffix, length);
    case 'hash': {
      const salt = deriveKey(secret, 'hash').toString('hex');
      return fit(createHash(nodeAlgorithm(strategy.configuration?.algorithm)).update(value + salt, 'utf8').digest('hex'), suffix, length);
    }
    case 'hmac':
      return fit(createHmac(nodeAlgorithm(strategy.configuration?.algorithm), deriveKey(secret, 'hmac')).update(value, 'utf8').digest('hex'), suffix, length);
    case 'random_string_rewrite':
      return fit(deterministicString(deriveKey(secret, 'random_string_rewrite'), value, strategy.configuration?.length ?? 30), suffix, length);
    case 'aes_encrypt': {
      const masked = aesEncrypt(secret, value) + suffix;
      const characters = [...masked].length;
      if (length !== undefined && characters > length) {
        throw new MaskingError(`aes_encrypt needs ${characters} characters for this value but the field's length is ${length}; a cut ciphertext could not be decrypted`);
      }
      return masked;
    }
  }
  throw new MaskingError(`unknown masking strategy ${(strategy as { strategy: unknown }).strategy}`);
}

/** HKDF-SHA-256 of the per-request secret: one 32-byte key per use. */
function deriveKey(secret: Buffer, use: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `dsrflow/masking/v1/${use}`, 32));
}

function nodeAlgorithm(algorithm: 'SHA-256' | 'SHA-512' | undefined): 'sha256' | 'sha512' {
  return algorithm === 'SHA-512' ? 'sha512' : 'sha256';
}

/** Body and suffix cut to `length` characters (code points); the suffix is kept when shorter than `length`. */
function fit(body: string, suffix: string, length: number | undefined): string {
  if (length === undefined) return body + suffix;
  const suffixChars = [...suffix];
  if (suffixChars.length >= length) return [...body, ...suffixChars].slice(0, length).join('');
  return [...body].slice(0, length - suffixChars.length).join('') + suffix;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `length` characters of a-z0-9 drawn from HMAC-SHA-256 output: seed = HMAC(key, value), then the
 * blocks HMAC(seed, uint32 big-endian counter) for counter 0, 1, …; each byte below 252 gives
 * ALPHABET[byte % 36], and bytes of 252 and above are skipped so every character is equally likely.
 */
export function deterministicString(key: Buffer, value: string, length: number): string {
  const seed = createHmac('sha256', key).update(value, 'utf8').digest();
  let out = '';
  for (let counter = 0; out.length < length; counter += 1) {
    const block = createHmac('sha256', seed).update(uint32(counter)).digest();
    for (const byte of block) {
      if (byte < 252 && out.length < length) out += ALPHABET[byte % 36];
    }
  }
  return out;
}

function uint32(n: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(n);
  return buffer;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

function aesEncrypt(secret: Buffer, value: string): string {
  const nonce = createHmac('sha256', deriveKey(secret, 'aes_encrypt/nonce')).update(value, 'utf8').digest().subarray(0, NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, 'aes_encrypt/key'), nonce);
  cipher.setAAD(nonce);
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64');
}

/**
 * The original value of an `aes_encrypt` output, given the same per-request secret. Pass the
 * strategy's format-preservation suffix, if it had one, so it is removed first. Throws a
 * MaskingError when the secret is wrong or the value was altered.
 */
export function decryptAesValue(masked: string, secret: Buffer, options: { suffix?: string } = {}): string {
  const suffix = options.suffix ?? '';
  if (!masked.endsWith(suffix)) throw new MaskingError(`aes_encrypt: the value does not end with the suffix ${JSON.stringify(suffix)}`);
  const encoded = masked.slice(0, masked.length - suffix.length);
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new MaskingError('aes_encrypt: the value is not base64');
  const sealed = Buffer.from(encoded, 'base64');
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new MaskingError('aes_encrypt: the value is too short to be a ciphertext');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret, 'aes_encrypt/key'), nonce);
  decipher.setAAD(nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new MaskingError('aes_encrypt: the value does not decrypt with this secret (wrong secret, or the value was altered)');
  }
}
