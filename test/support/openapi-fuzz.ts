/**
 * Hostile HTTP inputs generated from an OpenAPI 3.1 document, with fast-check.
 *
 * For every operation (path × method) it builds requests from three sources:
 * - valid-looking bodies sampled from the operation's request schema (required properties filled
 *   with plausible values, fixtures where the caller gives hints), then corrupted one field at a
 *   time (wrong types, huge or odd strings, edge numbers, deep nesting, duplicate and prototype keys),
 *   so the input gets past shape validation into the handlers;
 * - fully random hostile bodies, and raw body texts (malformed JSON, duplicate keys, BOMs, invalid
 *   UTF-8, deep brackets, YAML bombs) under right and wrong content types;
 * - hostile path and query parameters (`%00`, `..%2F`, malformed percent-encoding, very long values,
 *   repeated and unknown parameters, numbers at the edges).
 *
 * Values that plain JSON.stringify cannot write (numbers such as -0 or 2^53+1 as written, duplicate
 * keys, `__proto__` keys) are carried as `RawJson` / `RawObject` and written by `toJsonText`.
 */
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// The document

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  format?: string;
  example?: unknown;
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

interface OperationObject {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface Operation {
  method: string;
  path: string;
  /** `METHOD /path/{param}` */
  label: string;
  parameters: Parameter[];
  bodies: { contentType: string; schema: JsonSchema }[];
  /** Whether the operation declares a credential (an empty `security` means anyone may call it). */
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** Every path × method of the document. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const bodies = Object.entries(operation.requestBody?.content ?? {}).map(([contentType, media]) => ({ contentType, schema: media.schema ?? {} }));
      operations.push({ method: method.toUpperCase(), path, label: `${method.toUpperCase()} ${path}`, parameters: operation.parameters ?? [], bodies, secured: (operation.security ?? []).length > 0 });
    }
  }
  return operations;
}

/** The schema a `$ref` points at, and the component's name. */
export function deref(doc: OpenApiDocument, schema: JsonSchema): { schema: JsonSchema; ref?: string } {
  let current = schema;
  let ref: string | undefined;
  for (let hops = 0; current.$ref && hops < 20; hops++) {
    const name = current.$ref.replace('#/components/schemas/', '');
    ref = name;
    current = doc.components?.schemas?.[name] ?? {};
  }
  return ref === undefined ? { schema: current } : { schema: current, ref };
}

// ---------------------------------------------------------------------------------------------
// JSON text that JSON.stringify cannot write

/** A JSON value written as this exact text (`-0`, `9007199254740993`, `1e-320`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object written key by key: keys may repeat, and `__proto__` is an ordinary key. */
export class RawObject {
  constructor(readonly entries: [string, unknown][]) {}
}

/** JSON text of a value that may hold RawJson and RawObject. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof RawObject) return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map((item) => toJsonText(item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`)
      .join(',')}}`;
  }
  if (value === undefined) return 'null';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value);
}

/** A short description of a long text for failure messages: long runs are shortened, the length is kept. */
export function abbreviate(text: string, max = 300): string {
  const shortened = text.replace(/(.)\1{19,}/gsu, (run, char: string) => `${char.repeat(3)}…(${char} ×${run.length / char.length})…`);
  const escaped = JSON.stringify(shortened).slice(1, -1);
  return escaped.length <= max ? escaped : `${escaped.slice(0, max)}…(${text.length} chars)`;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ude00b'];
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(16),
  '\u202e\u202dRTL-override',
  '\u200f\u200e',
  '\u2028',
  '\u2029',
  'line\u2028break',
  '\ufeff',
  '\uffff\ufffe',
  '😀',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  'e\u0301\u0301\u0301',
  '𝕏𝔂𝕫',
  'Z̸̡̛͓̼̖̮̱̭̺͓͙͖̲͂̄͗̎̀̿̈́͗̔a̴l̸g̸o',
  '\u0007\u0008\u001b[31m',
  '\r\n\t',
  '%00',
  '../../../../etc/passwd',
  '..\\..\\windows',
  "'; drop table privacy_request; --",
  '" or 1=1 --',
  '$(touch /tmp/x)',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'NaN',
  'true',
  '0x10',
  '1e308',
  '-0',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'customer-1@example.com\u0000',
  'pri_00000000-0000-0000-0000-000000000000',
  '*',
  '%',
  '_%_',
  '\\',
  '.',
  '..',
];

const EDGE_NUMBERS = [
  '1e308',
  '-1e308',
  '1e309',
  '-0',
  '0',
  '-1',
  '9007199254740993',
  '9007199254740992',
  '-9223372036854775808',
  '9223372036854775808',
  '18446744073709551616',
  '1e-320',
  '5e-324',
  '2147483648',
  '-2147483649',
  '0.1',
  '1.5',
  '123456789012345678901234567890',
  '1E2',
  '-0.0',
].map((text) => new RawJson(text));

/** Strings no field expects: odd unicode, lone surrogates, NUL, control characters, injection attempts. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 5 },
  { arbitrary: fc.constantFrom(...LONE_SURROGATES), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom(...ODD_STRINGS, ...LONE_SURROGATES), fc.constantFrom(...ODD_STRINGS, ...LONE_SURROGATES)).map(([a, b]) => `${a}x${b}`), weight: 2 },
  { arbitrary: fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })).map(([a, b]) => `${a}\u0000${b}`), weight: 2 },
);

/** Strings from 10 KB to ~100 KB. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 10_000, max: 100_000 }), fc.constantFrom('a', 'é', '😀', '\u2028', '\u0000', 'ab\ud800', '%', ' ', '.'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

/** Objects or arrays nested 50 to 500 levels deep. */
export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 50, max: 500 }), fc.constantFrom('object', 'array', 'mixed'), fc.constantFrom<unknown>(1, 'x', null, {}, []))
  .map(([depth, kind, leaf]) => {
    let value: unknown = leaf;
    for (let i = 0; i < depth; i++) {
      const asObject = kind === 'object' || (kind === 'mixed' && i % 2 === 0);
      value = asObject ? { a: value } : [value];
    }
    return value;
  });

const protoKeyed: fc.Arbitrary<unknown> = fc.constantFrom(
  new RawObject([['__proto__', { polluted: true, isAdmin: true }]]),
  new RawObject([['constructor', { prototype: { polluted: true } }]]),
  new RawObject([['prototype', { polluted: true }]]),
  new RawObject([['__proto__', null]]),
  new RawObject([['__proto__', []]]),
  new RawObject([['a', 1], ['a', 2], ['a', { b: 3 }]]),
  new RawObject([['toString', 'x'], ['valueOf', 1], ['hasOwnProperty', null]]),
  new RawObject([['\u0000', 1]]),
  new RawObject([['', '']]),
);

/** Values of the wrong type for any field. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom<unknown>({}, [], [null], [[]], [{}], { length: 1e308 }, [1, 'a', null, true]),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3 }),
);

/** Anything hostile that JSON can carry. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: wrongType, weight: 6 },
  { arbitrary: hostileString, weight: 5 },
  { arbitrary: fc.constantFrom(...EDGE_NUMBERS), weight: 3 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: deepValue, weight: 1 },
  { arbitrary: protoKeyed, weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.array(hostileString, { minLength: 1, maxLength: 60 }), weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Valid-looking values from a schema

export interface HintContext {
  /** The property (or parameter) name, when the value is one. */
  name?: string;
  /** The component schema the value belongs to (the nearest `$ref` above it). */
  ref?: string;
  schema: JsonSchema;
}

/** Plausible values for some fields (fixtures: existing keys and ids); undefined to let the schema decide. */
export type Hints = (context: HintContext) => fc.Arbitrary<unknown> | undefined;

const typesOf = (schema: JsonSchema): string[] => (schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type]);

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((date) => date.toISOString());
  if (schema.format === 'password') return fc.constantFrom('Correct-Horse-Battery-1', 'a-long-enough-password');
  if (schema.format === 'email') return fc.constantFrom('customer-1@example.com', 'someone@example.org');
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? min + 24, min + 24);
  if (typeof schema.example === 'string' && schema.example.length >= min && (schema.maxLength === undefined || schema.example.length <= schema.maxLength)) {
    return fc.oneof({ arbitrary: fc.constant(schema.example), weight: 3 }, { arbitrary: plainString(schema, min, max), weight: 1 });
  }
  return plainString(schema, min, max);
}

function plainString(schema: JsonSchema, min: number, max: number): fc.Arbitrary<string> {
  if (schema.pattern) {
    let regex: RegExp | undefined;
    try {
      regex = new RegExp(schema.pattern);
    } catch {
      regex = undefined;
    }
    if (regex) {
      const matching = regex;
      return fc.stringMatching(matching, { size: 'xsmall' }).filter((text) => text.length >= Math.max(min, 1) && text.length <= Math.max(max, 1) + 40);
    }
  }
  return fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1), unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_') });
}

/** A value that looks right for the schema: required properties always, optional ones sometimes. */
export function validArb(doc: OpenApiDocument, input: JsonSchema, hints: Hints, context: { name?: string; ref?: string; depth?: number } = {}): fc.Arbitrary<unknown> {
  const { schema, ref: ownRef } = deref(doc, input);
  const ref = ownRef ?? context.ref;
  const depth = context.depth ?? 0;
  const hinted = hints({ ...(context.name === undefined ? {} : { name: context.name }), ...(ref === undefined ? {} : { ref }), schema });
  if (hinted) return hinted;
  const next = (child: JsonSchema, name?: string) => validArb(doc, child, hints, { ...(name === undefined ? {} : { name }), ...(ref === undefined ? {} : { ref }), depth: depth + 1 });

  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants?.length) {
    const nonNull = variants.filter((variant) => !typesOf(deref(doc, variant).schema).includes('null') || typesOf(deref(doc, variant).schema).length > 1);
    const choices = (nonNull.length ? nonNull : variants).map((variant) => validArb(doc, variant, hints, { ...context, ...(ref === undefined ? {} : { ref }) }));
    return fc.oneof(...choices);
  }
  if (schema.allOf?.length) return validArb(doc, schema.allOf[0]!, hints, context);

  const types = typesOf(schema);
  const type = types.find((candidate) => candidate !== 'null') ?? (schema.properties ? 'object' : schema.items ? 'array' : types[0]);
  let value: fc.Arbitrary<unknown>;
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const required = schema.required ?? [];
      const keys = Object.keys(properties).filter((key) => depth < 5 || required.includes(key));
      if (keys.length === 0) {
        value =
          schema.additionalProperties === false
            ? fc.constant({})
            : fc.dictionary(fc.constantFrom('note', 'value', 'email', 'id', 'n'), fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean()), { maxKeys: 3 });
        break;
      }
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const key of keys) model[key] = next(properties[key]!, key);
      value = fc.record(model, { requiredKeys: required.filter((key) => keys.includes(key)) });
      break;
    }
    case 'array': {
      const minLength = Math.max(schema.minItems ?? 0, 1);
      const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? minLength + 1, minLength + 1));
      value = fc.array(next(schema.items ?? {}), { minLength, maxLength });
      break;
    }
    case 'string':
      value = stringFor(schema);
      break;
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
      value = fc.integer({ min, max: Math.min(schema.maximum ?? min + 100, min + 100) });
      break;
    }
    case 'number':
      value = fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100, (schema.minimum ?? 0) + 100) });
      break;
    case 'boolean':
      value = fc.boolean();
      break;
    case 'null':
      value = fc.constant(null);
      break;
    default:
      value = fc.jsonValue({ maxDepth: 2 });
  }
  return types.includes('null') && type !== 'null' ? fc.oneof({ arbitrary: value, weight: 5 }, { arbitrary: fc.constant(null), weight: 1 }) : value;
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid value, one field at a time

type Path = (string | number)[];

function pathsOf(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((item, index) => pathsOf(item, [...path, index], out));
  else if (value !== null && typeof value === 'object' && !(value instanceof RawJson) && !(value instanceof RawObject)) {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...path, key], out);
  }
  return out;
}

/** A copy of `value` with the node at `path` replaced by what `change` returns (its parent given too). */
function changeAt(value: unknown, path: Path, change: (node: unknown) => unknown): unknown {
  if (path.length === 0) return change(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, index) => (index === head ? changeAt(item, rest, change) : item));
  const object = value as Record<string, unknown>;
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, key === head ? changeAt(item, rest, change) : item]));
}

type Mutation = 'replace' | 'delete' | 'add-key' | 'duplicate-key' | 'wrap' | 'huge';

/** One corruption of a valid value: a field replaced, removed, duplicated, wrapped, or an unexpected key added. */
export function mutationArb(valid: unknown): fc.Arbitrary<{ value: unknown; what: string }> {
  const paths = pathsOf(valid);
  return fc
    .tuple(
      fc.nat({ max: paths.length - 1 }),
      fc.constantFrom<Mutation>('replace', 'replace', 'replace', 'replace', 'delete', 'add-key', 'duplicate-key', 'wrap', 'huge'),
      hostileValue,
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'unexpected_field', '', '\u0000', 'a'.repeat(300), 'toString'),
      hugeString,
    )
    .map(([index, mutation, hostile, key, huge]) => {
      const path = paths[index]!;
      const at = path.length ? path.map(String).join('.') : '(root)';
      switch (mutation) {
        case 'replace':
          return { value: changeAt(valid, path, () => hostile), what: `replace ${at}` };
        case 'huge':
          return { value: changeAt(valid, path, () => huge), what: `huge string at ${at}` };
        case 'wrap':
          return { value: changeAt(valid, path, (node) => [node]), what: `wrap ${at} in an array` };
        case 'delete': {
          if (path.length === 0) return { value: new RawJson(''), what: 'empty body' };
          const parentPath = path.slice(0, -1);
          const last = path[path.length - 1]!;
          return {
            value: changeAt(valid, parentPath, (parent) =>
              Array.isArray(parent) ? parent.filter((_, i) => i !== last) : Object.fromEntries(Object.entries(parent as object).filter(([k]) => k !== last)),
            ),
            what: `delete ${at}`,
          };
        }
        case 'add-key':
        case 'duplicate-key': {
          // The nearest object at or above the path gets the key (as raw JSON, so __proto__ is a key).
          let objectPath = path;
          const isPlainObject = (node: unknown) => node !== null && typeof node === 'object' && !Array.isArray(node) && !(node instanceof RawJson) && !(node instanceof RawObject);
          const nodeAt = (p: Path) => p.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)[step], valid);
          while (objectPath.length && !isPlainObject(nodeAt(objectPath))) objectPath = objectPath.slice(0, -1);
          if (!isPlainObject(nodeAt(objectPath))) return { value: changeAt(valid, path, () => hostile), what: `replace ${at}` };
          const where = objectPath.length ? objectPath.map(String).join('.') : '(root)';
          return {
            value: changeAt(valid, objectPath, (node) => {
              const entries = Object.entries(node as object) as [string, unknown][];
              if (mutation === 'add-key' || entries.length === 0) return new RawObject([...entries, [key, hostile]]);
              const [first] = entries;
              return new RawObject([[first![0], hostile], ...entries]);
            }),
            what: mutation === 'add-key' ? `add key ${JSON.stringify(key.slice(0, 20))} at ${where}` : `duplicate key at ${where}`,
          };
        }
      }
    });
}

// ---------------------------------------------------------------------------------------------
// Raw bodies

/** Texts that are not quite JSON, or JSON that is built to hurt. */
export function malformedJsonArb(validText: string): fc.Arbitrary<{ text: string | Uint8Array; what: string }> {
  return fc.oneof(
    fc.nat({ max: Math.max(validText.length - 1, 0) }).map((cut) => ({ text: validText.slice(0, cut), what: `truncated at ${cut}` })),
    fc.constantFrom(
      { text: '', what: 'empty' },
      { text: ' ', what: 'blank' },
      { text: 'null', what: 'null' },
      { text: 'undefined', what: 'undefined' },
      { text: 'NaN', what: 'NaN' },
      { text: '"string"', what: 'a string' },
      { text: '1e999', what: 'a number that overflows' },
      { text: '{"a":1}{"b":2}', what: 'two documents' },
      { text: "{'a': 1}", what: 'single quotes' },
      { text: '{"a":1,}', what: 'trailing comma' },
      { text: '{"a":1 /* comment */}', what: 'comment' },
      { text: '{"a":"\\x41"}', what: 'bad escape' },
      { text: '{"a":"\\ud800"}', what: 'escaped lone surrogate' },
      { text: '{"a":"\u0000"}', what: 'raw NUL in string' },
      { text: '\u0000', what: 'NUL' },
      { text: `{"a":"${'x'.repeat(50_000)}`, what: 'unterminated long string' },
      { text: '['.repeat(100_000), what: '100k unclosed brackets' },
      { text: '['.repeat(50_000) + ']'.repeat(50_000), what: '50k nested arrays' },
      { text: '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), what: '20k nested objects' },
      { text: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', what: 'prototype keys' },
    ),
    fc.constant({ text: `\ufeff${validText}`, what: 'BOM before valid JSON' }),
    fc.constant({ text: `${validText}\u0000`, what: 'NUL after valid JSON' }),
    fc.constant({ text: `${validText}garbage`, what: 'garbage after valid JSON' }),
    fc.constant({ text: validText.replace(/:/g, '='), what: 'colons replaced' }),
    fc.constant({ text: Buffer.concat([Buffer.from(validText.slice(0, Math.floor(validText.length / 2))), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from(validText.slice(Math.floor(validText.length / 2)))]), what: 'invalid UTF-8 in the middle' }),
    fc.constant({ text: Buffer.from(validText, 'utf16le'), what: 'UTF-16LE encoded' }),
  );
}

/** YAML built to hurt a YAML reader: alias bombs, tags, deep nesting, several documents. */
export const hostileYaml: fc.Arbitrary<{ text: string; what: string }> = fc.constantFrom(
  {
    what: 'billion laughs',
    text: ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`), 'dataset: *i'].join('\n'),
  },
  { what: 'js function tag', text: 'dataset: !!js/function "function(){ return process.exit(1) }"' },
  { what: 'binary tag', text: 'dataset: !!binary aGVsbG8=' },
  { what: 'unknown tag', text: 'dataset: !evil [1]' },
  { what: 'merge key', text: 'base: &b {fides_key: x, collections: []}\ndataset:\n  - <<: *b\n    <<: *b' },
  { what: 'duplicate keys', text: 'dataset: []\ndataset: [1]' },
  { what: 'several documents', text: 'dataset: []\n---\ndataset: []\n...\n---\n' },
  { what: 'deep flow nesting', text: `dataset: ${'['.repeat(5000)}${']'.repeat(5000)}` },
  { what: 'unclosed flow', text: `dataset: ${'{a: '.repeat(2000)}` },
  { what: 'tabs', text: 'dataset:\n\t- fides_key: x' },
  { what: 'YAML 2.0 directive', text: '%YAML 2.0\n---\ndataset: []' },
  { what: 'NUL', text: 'dataset: "\u0000"' },
  { what: 'recursive alias', text: 'dataset: &a [*a]' },
  { what: 'undefined alias', text: 'dataset: *nope' },
  { what: 'a scalar', text: '42' },
  { what: 'empty', text: '' },
  { what: 'comments only', text: '# nothing\n# here' },
  { what: 'huge key', text: `${'k'.repeat(100_000)}: 1` },
);

// ---------------------------------------------------------------------------------------------
// Whole requests

export interface FuzzRequest {
  operation: Operation;
  method: string;
  /** Path and query, already encoded (hostile parts deliberately not). */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** A short description of the input, for failure messages. */
  what: string;
}

export interface RequestContext {
  doc: OpenApiDocument;
  hints: Hints;
  /** Values of path and query parameters that name things that exist (a request id, a connection key…). */
  realValues: (parameter: string) => string[];
}

/** Percent-encodes any string, lone surrogates included (as the bytes WTF-8 would give them: invalid UTF-8). */
export function encodeAny(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(char);
  }
  return out;
}

const RAW_SEGMENTS = [
  '%00',
  'pri_%00',
  'a%00b',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '..%2f',
  '%2e%2e%2f%2e%2e%2f',
  '..%5C..%5C',
  '%',
  '%zz',
  '%e',
  '%C0%AF',
  '%ff%fe',
  '%ED%A0%80',
  '%E2%80%A8',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%20',
  '%2F',
  '%252e%252e%252f',
  "'%20or%20'1'%3D'1",
  '__proto__',
  'constructor',
  'prototype',
  '1e308',
  '-0',
  '9007199254740993',
  '-9223372036854775808',
  'null',
  'undefined',
  '*',
  '%25',
  '%3F',
  '%23',
  ';',
  'a;b=c',
];

/** A path parameter: an existing value, or something hostile (raw, not encoded again). */
function pathSegmentArb(real: string[]): fc.Arbitrary<string> {
  const hostile = fc.oneof(
    { arbitrary: fc.constantFrom(...RAW_SEGMENTS), weight: 4 },
    { arbitrary: hostileString.map(encodeAny), weight: 3 },
    { arbitrary: fc.integer({ min: 201, max: 12_000 }).map((length) => 'a'.repeat(length)), weight: 1 },
    { arbitrary: fc.constantFrom(...(real.length ? real : ['x'])).map((value) => `${encodeAny(value)}%00`), weight: 1 },
    { arbitrary: fc.constantFrom(...(real.length ? real : ['x'])).map((value) => `${encodeAny(value)}${'x'.repeat(300)}`), weight: 1 },
  );
  if (!real.length) return hostile;
  return fc.oneof({ arbitrary: fc.constantFrom(...real).map(encodeAny), weight: 4 }, { arbitrary: hostile, weight: 3 });
}

const RAW_QUERY_VALUES = ['%00', 'a%00', '%', '%zz', '%ED%A0%80', '%C0%AF', '', '+', '%2B', '..%2F..%2F', 'true', 'TRUE', 'yes', '1', '0', 'maybe', '[]', '{}', 'null'];
const NUMBER_TEXTS = ['1e308', '-0', '0', '-1', '9007199254740993', '-9223372036854775808', '1e-320', 'NaN', 'Infinity', '-Infinity', '0x1F', '1.5', ' 1', '1 ', '01', '+1', '1e3', '99999999999999999999999'];

/** A plausible value of a query parameter (repeated for arrays), encoded: an existing thing where there is one. */
function validQueryValue(doc: OpenApiDocument, parameter: Parameter, context: RequestContext): fc.Arbitrary<string[]> {
  const real = context.realValues(parameter.name);
  const sampled = parameter.schema
    ? validArb(doc, parameter.schema, context.hints, { name: parameter.name }).map((value) => (Array.isArray(value) ? value.map(String) : [String(value)]).map(encodeAny))
    : fc.constant<string[]>(['x']);
  return real.length ? fc.oneof(sampled, fc.constantFrom(...real).map((value) => [encodeAny(value)])) : sampled;
}

/** A hostile value of a query parameter (raw: not encoded again), or several to repeat it. */
const hostileQueryValue: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(...RAW_QUERY_VALUES).map((value) => [value]),
  fc.constantFrom(...NUMBER_TEXTS).map((value) => [encodeAny(value)]),
  hostileString.map((value) => [encodeAny(value)]),
  fc.integer({ min: 1000, max: 10_000 }).map((length) => ['9'.repeat(length)]),
  fc.array(fc.constantFrom<string>('1', '2', 'x', '%00', 'complete', 'paused'), { minLength: 2, maxLength: 30 }),
);

/**
 * The query string: some declared parameters with plausible values (so a call can succeed), then
 * often one parameter (declared or not) with a hostile value, added after the others (so a
 * parameter may come twice), and sometimes unknown parameters.
 */
function queryArb(doc: OpenApiDocument, operation: Operation, context: RequestContext): fc.Arbitrary<string> {
  const declared = operation.parameters.filter((parameter) => parameter.in === 'query');
  const plausible = declared.map((parameter) =>
    fc.option(validQueryValue(doc, parameter, context), { freq: 3 }).map((values) => (values ? values.map((value) => `${parameter.name}=${value}`) : [])),
  );
  const names = [...declared.map((parameter) => parameter.name), '__proto__', 'constructor', 'unknown'];
  const hostile = fc.option(
    fc.tuple(fc.constantFrom(...names), hostileQueryValue).map(([name, values]) => values.map((value) => `${name}=${value}`)),
    { freq: declared.length ? 1 : 3 },
  );
  const unknown = fc.option(
    fc.constantFrom('__proto__=1', 'constructor[prototype][polluted]=1', 'a[b][c]=1', '%00=1', `${'q'.repeat(3000)}=1`, '&&&', '=', '=x', 'page[]=1', 'size=1&size=2&size=3', '%zz=%zz', 'x=%ED%A0%80'),
    { freq: 5 },
  );
  return fc.tuple(fc.tuple(...plausible), hostile, unknown).map(([plausibleParts, hostileParts, extra]) => {
    const all = [...plausibleParts.flat(), ...(hostileParts ?? [])];
    if (extra) all.push(extra);
    return all.length ? `?${all.join('&')}` : '';
  });
}

interface Body {
  contentType?: string;
  body: string | Uint8Array;
  what: string;
}

const isJson = (contentType: string) => /json/i.test(contentType);
const isYaml = (contentType: string) => /yaml/i.test(contentType);
const isForm = (contentType: string) => /x-www-form-urlencoded/i.test(contentType);

/** The same content under a content type the operation does not take (or none at all). */
function wrongContentType(text: string): fc.Arbitrary<Body> {
  return fc.constantFrom<Body>(
    { contentType: 'text/plain', body: text, what: 'text/plain' },
    { contentType: 'application/x-yaml', body: text, what: 'JSON as application/x-yaml' },
    { contentType: 'text/yaml', body: text, what: 'JSON as text/yaml' },
    { body: Buffer.from(text), what: 'no content type' },
    { contentType: 'application/x-www-form-urlencoded', body: text, what: 'JSON as a form' },
    { contentType: 'multipart/form-data; boundary=xyz', body: `--xyz\r\nContent-Disposition: form-data; name="body"\r\n\r\n${text}\r\n--xyz--\r\n`, what: 'multipart' },
    { contentType: 'multipart/form-data; boundary=xyz', body: text, what: 'multipart without parts' },
    { contentType: 'multipart/form-data', body: text, what: 'multipart without boundary' },
    { contentType: 'application/json; charset=utf-16', body: text, what: 'JSON claiming UTF-16' },
    { contentType: 'application/json; charset=latin1', body: text, what: 'JSON claiming latin1' },
    { contentType: 'APPLICATION/JSON', body: text, what: 'upper-case content type' },
    { contentType: 'application/vnd.api+json', body: text, what: 'vendor +json' },
    { contentType: 'application/json, text/plain', body: text, what: 'two content types' },
    { contentType: 'application/xml', body: `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`, what: 'XML with an external entity' },
    { contentType: 'a/b/c', body: text, what: 'malformed content type' },
    { contentType: ';;;', body: text, what: 'content type of separators' },
    { contentType: `application/json; x=${'a'.repeat(4000)}`, body: text, what: 'very long content type' },
    { contentType: 'application/json', body: new Uint8Array(0), what: 'JSON content type, empty body' },
  );
}

/** A form body: valid-looking fields, or a field hostile, repeated, or badly encoded. */
function formBodyArb(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  return fc.tuple(valid, fc.nat(), hostileString, fc.constantFrom('valid', 'hostile', 'repeat', 'raw', 'huge')).map(([value, index, hostile, kind]) => {
    const fields = Object.entries((value ?? {}) as Record<string, unknown>).map(([key, item]) => [key, String(item)] as [string, string]);
    const encode = (entries: [string, string][]) => entries.map(([key, item]) => `${encodeAny(key)}=${encodeAny(item)}`).join('&');
    const contentType = 'application/x-www-form-urlencoded';
    if (!fields.length || kind === 'valid') return { contentType, body: encode(fields), what: 'form' };
    const i = index % fields.length;
    if (kind === 'hostile') return { contentType, body: encode(fields.map(([key, item], j) => [key, j === i ? hostile : item])), what: `form with ${fields[i]![0]} hostile` };
    if (kind === 'repeat') return { contentType, body: `${encode(fields)}&${encode([[fields[i]![0], hostile]])}`, what: `form with ${fields[i]![0]} repeated` };
    if (kind === 'huge') return { contentType, body: encode(fields.map(([key, item], j) => [key, j === i ? 'x'.repeat(100_000) : item])), what: `form with ${fields[i]![0]} huge` };
    return { contentType, body: `${encode(fields)}&%zz=%&=&%00=%00&${fields[i]![0]}[]=1`, what: 'form with bad encoding' };
  });
}

function jsonBodyArb(valid: fc.Arbitrary<unknown>, contentType: string): fc.Arbitrary<Body> {
  const asJson = (what: string) => (value: unknown): Body => ({ contentType, body: toJsonText(value), what });
  return fc.oneof(
    { arbitrary: valid.chain((value) => mutationArb(value)).map(({ value, what }) => asJson(`mutation: ${what}`)(value)), weight: 50 },
    { arbitrary: valid.map(asJson('valid-looking')), weight: 10 },
    { arbitrary: hostileValue.map(asJson('random hostile value')), weight: 15 },
    { arbitrary: fc.array(hostileValue, { minLength: 1, maxLength: 4 }).map(asJson('array of hostile values')), weight: 5 },
    { arbitrary: valid.chain((value) => malformedJsonArb(toJsonText(value))).map(({ text, what }) => ({ contentType, body: text, what: `malformed: ${what}` })), weight: 15 },
    { arbitrary: valid.chain((value) => wrongContentType(toJsonText(value))), weight: 15 },
    { arbitrary: fc.constant<Body>({ contentType, body: JSON.stringify({ pad: 'x'.repeat(1_100_000) }), what: 'body over 1 MiB' }), weight: 1 },
  );
}

/** Bodies for one operation, from each content type it declares. */
function bodyArb(doc: OpenApiDocument, operation: Operation, context: RequestContext): fc.Arbitrary<Body | undefined> {
  if (operation.method === 'GET' || operation.method === 'HEAD') return fc.constant(undefined);
  if (!operation.bodies.length) {
    // No body declared: usually none, sometimes a hostile one anyway.
    return fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      { arbitrary: hostileValue.map((value): Body => ({ contentType: 'application/json', body: toJsonText(value), what: 'undeclared hostile body' })), weight: 1 },
      { arbitrary: malformedJsonArb('{"a":1}').map(({ text, what }): Body => ({ contentType: 'application/json', body: text, what: `undeclared malformed body: ${what}` })), weight: 1 },
    );
  }
  const choices: fc.WeightedArbitrary<Body | undefined>[] = [];
  for (const { contentType, schema } of operation.bodies) {
    const valid = validArb(doc, schema, context.hints);
    if (isJson(contentType)) choices.push({ arbitrary: jsonBodyArb(valid, contentType), weight: 20 });
    else if (isForm(contentType)) choices.push({ arbitrary: formBodyArb(valid), weight: 8 });
    else if (isYaml(contentType)) {
      // A YAML body: the JSON body (JSON is YAML) corrupted, or YAML built to hurt.
      const json = operation.bodies.find((body) => isJson(body.contentType));
      const jsonValid = json ? validArb(doc, json.schema, context.hints) : fc.constant({});
      choices.push({ arbitrary: jsonBodyArb(jsonValid, contentType), weight: 4 });
      choices.push({ arbitrary: hostileYaml.map(({ text, what }): Body => ({ contentType, body: text, what: `YAML: ${what}` })), weight: 2 });
    } else choices.push({ arbitrary: hostileValue.map((value): Body => ({ contentType, body: toJsonText(value), what: 'hostile' })), weight: 2 });
  }
  choices.push({ arbitrary: fc.constant(undefined), weight: 1 });
  return fc.oneof(...choices);
}

/** Credentials for the operations anyone may call (token, login): usually none, sometimes hostile ones. */
const openAuthorization: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  { arbitrary: hostileString.map((value) => `Basic ${Buffer.from(value).toString('base64')}`), weight: 1 },
  { arbitrary: hostileString.map((value) => `Basic ${Buffer.from(`${value}:${value}`).toString('base64')}`), weight: 1 },
  { arbitrary: fc.constantFrom('Basic', 'Basic %%%', 'Basic ====', `Basic ${'A'.repeat(8000)}`, 'Bearer', 'Bearer x', 'Digest a=b', 'basic dGVzdC1yb290Og=='), weight: 1 },
);

/** Hostile requests for one operation. */
export function requestArb(operation: Operation, context: RequestContext): fc.Arbitrary<FuzzRequest> {
  const { doc } = context;
  const pathNames = [...operation.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const segments = fc.tuple(...pathNames.map((name) => pathSegmentArb(context.realValues(name))));
  const authorization = operation.secured ? fc.constant(undefined) : openAuthorization;
  return fc.tuple(segments, queryArb(doc, operation, context), bodyArb(doc, operation, context), authorization).map(([values, query, body, auth]) => {
    let path = operation.path;
    pathNames.forEach((name, i) => {
      path = path.replace(`{${name}}`, values[i]!);
    });
    const headers: Record<string, string> = {};
    if (body?.contentType !== undefined) headers['content-type'] = body.contentType;
    if (auth !== undefined) headers.authorization = auth;
    const bodyText = body === undefined ? '' : typeof body.body === 'string' ? body.body : Buffer.from(body.body).toString('latin1');
    const what = [
      `${operation.method} ${abbreviate(path + query, 400)}`,
      ...(auth !== undefined ? [`authorization: ${abbreviate(auth, 80)}`] : []),
      ...(body ? [`body (${body.what}; ${body.contentType ?? 'no content type'}): ${abbreviate(bodyText, 600)}`] : []),
    ].join('\n    ');
    return { operation, method: operation.method, url: path + query, headers, ...(body ? { body: body.body } : {}), what };
  });
}
