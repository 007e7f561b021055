/**
 * The codec endpoint the Temporal Web UI calls to show payloads in plain text
 * (`temporal server start-dev --ui-codec-endpoint <api>/codec`, or the UI's codec setting).
 * Payloads are encrypted by dsrflow's codec; this decodes them for people who can reach the API.
 * It decrypts personal data, so it is off in production unless DSRFLOW_CODEC_ENDPOINT=true, and
 * only the configured UI origins may call it from a browser.
 */
import type { Payload } from '@temporalio/common';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { EncryptionCodec, payloadKey } from '../temporal/codec.js';
import { errorBody } from './errors.js';

const wirePayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })),
});
type WirePayloads = z.infer<typeof wirePayloads>;

const fromWire = ({ payloads }: WirePayloads): Payload[] =>
  payloads.map((payload) => ({
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  }));

const toWire = (payloads: Payload[]): WirePayloads => ({
  payloads: payloads.map((payload) => ({
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  })),
});

export function codecRoutes({ encryptionKey, origins }: { encryptionKey: Buffer; origins: string[] }) {
  const codec = new EncryptionCodec([payloadKey(encryptionKey)]);
  const app = new Hono();
  app.use('*', cors({ origin: origins, allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['content-type', 'x-namespace', 'authorization'], credentials: true }));
  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/${direction}`, async (c) => {
      const parsed = wirePayloads.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) return c.json(errorBody('validation_error', 'body: expected {payloads: [{metadata, data}]} with base64 values'), 422);
      try {
        return c.json(toWire(await codec[direction](fromWire(parsed.data))));
      } catch (error) {
        return c.json(errorBody('codec_error', (error as Error).message), 400);
      }
    });
  }
  return app;
}
