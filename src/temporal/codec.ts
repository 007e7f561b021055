/**
 * Encrypts every Temporal payload (workflow and activity inputs and results, signals, updates,
 * failure messages) with AES-256-GCM before it leaves the process, so Temporal's history holds no
 * personal data in plain text. Payloads that are not encrypted (for example a signal sent with
 * `temporal workflow signal --input '…'`) pass through decode unchanged.
 *
 * The key is derived from DSRFLOW_ENCRYPTION_KEY; its id travels in the payload metadata so a
 * rotated key can still decode old histories when both are configured. The API serves
 * /codec/encode and /codec/decode for the Temporal Web UI.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const PayloadProto = proto.temporal.api.common.v1.Payload;
export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';

const text = (value: string) => new TextEncoder().encode(value);
const read = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

export interface CodecKey {
  id: string;
  key: Buffer;
}

/** The payload key derived from dsrflow's encryption key (never the same bytes as the at-rest key). */
export function payloadKey(encryptionKey: Buffer): CodecKey {
  const key = Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'dsrflow temporal payloads', 32));
  return { id: `dsrflow-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, key };
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  /** Encodes with the first key; decodes with any of them. */
  constructor(private readonly keyring: CodecKey[]) {
    if (!keyring.length) throw new Error('EncryptionCodec needs at least one key');
    this.keys = new Map(keyring.map(({ id, key }) => [id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keyring[0]!;
    return payloads.map((payload) => {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const plaintext = PayloadProto.encode(payload).finish();
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        metadata: { encoding: text(ENCODING), [KEY_ID]: text(id) },
        data: Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (read(payload.metadata?.encoding) !== ENCODING) return payload;
      const id = read(payload.metadata?.[KEY_ID]);
      const key = id ? this.keys.get(id) : undefined;
      if (!key) throw new Error(`No key to decrypt a payload encrypted with key ${id ?? '(none)'}`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(12, 28));
      const plaintext = Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
      return PayloadProto.decode(plaintext) as Payload;
    });
  }
}

/** Failure messages and stack traces go into encrypted payloads too (see failure-converter.cjs). */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The data converter every client and worker of dsrflow uses. */
export function dataConverter(encryptionKey: Buffer): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec([payloadKey(encryptionKey)])],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
