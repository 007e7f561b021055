/**
 * The codec endpoint the Temporal Web UI (and `temporal … --codec-endpoint`) calls to show
 * payloads in plain text. Payloads are encrypted by dsrflow's codec, and they hold personal data,
 * so decoding needs a credential:
 *
 * - `POST /codec/{encode,decode}` with a bearer token holding `codec:decode` (for example
 *   `temporal workflow show … --codec-endpoint <api>/codec --codec-auth "Bearer <token>"`);
 * - `POST /codec/ui/<key>/{encode,decode}` with DSRFLOW_CODEC_UI_KEY in the path, for the Web UI,
 *   which cannot send dsrflow's tokens: whoever can open that UI can read what it shows, so
 *   the key goes where the UI's own access control is (docs/decisions.md).
 *
 * It is off in production unless DSRFLOW_CODEC_ENDPOINT=true, and only the configured UI origins
 * may call it from a browser.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Payload } from '@temporalio/common';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { constantTimeEqual } from '../auth/secrets.js';
import { EncryptionCodec, payloadKey } from '../temporal/codec.js';
import { custom, secured, unauthorized } from './auth.js';
import { errorBody } from './errors.js';
import { ErrorSchema, json } from './schemas.js';
import { newRouter } from './types.js';

const MAX_PAYLOADS = 1000;

const WirePayloadsSchema = z
  .object({
    payloads: z
      .array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() }))
      .max(MAX_PAYLOADS, `at most ${MAX_PAYLOADS} payloads per call`),
  })
  .meta({ id: 'CodecPayloads', description: "Temporal's remote codec format: payloads with base64 metadata values and data" });
type WirePayloads = z.infer<typeof WirePayloadsSchema>;

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

const TAG = 'Temporal codec';
const KeyParam = z.object({ key: z.string().min(1).max(200).meta({ description: 'DSRFLOW_CODEC_UI_KEY' }) });

function codecRoute(direction: 'encode' | 'decode', viaUiKey: boolean) {
  return createRoute({
    method: 'post',
    path: viaUiKey ? `/ui/{key}/${direction}` : `/${direction}`,
    tags: [TAG],
    summary: `${direction === 'decode' ? 'Decrypt' : 'Encrypt'} Temporal payloads${viaUiKey ? ' for the Temporal Web UI (the key in the path is the credential)' : ''}`,
    request: { ...(viaUiKey ? { params: KeyParam } : {}), body: { required: true, content: json(WirePayloadsSchema) } },
    responses: {
      200: { description: 'The payloads', content: json(WirePayloadsSchema) },
      400: { description: 'A payload could not be decoded', content: json(ErrorSchema) },
      422: { description: 'Not a list of payloads', content: json(ErrorSchema) },
    },
  });
}

/** The UI key route's own check: the key in the path, compared in constant time. */
function uiKeyCheck(uiKey: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.param('key') ?? '';
    if (!uiKey || !constantTimeEqual(given, uiKey)) return unauthorized(c, given ? 'unknown' : 'missing');
    await next();
  };
}

export function codecRoutes({ encryptionKey, origins, uiKey }: { encryptionKey: Buffer; origins: string[]; uiKey?: string | undefined }) {
  const codec = new EncryptionCodec([payloadKey(encryptionKey)]);
  const router = newRouter();
  router.use('*', cors({ origin: origins, allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['content-type', 'x-namespace', 'authorization'], credentials: true }));

  const run = async (direction: 'encode' | 'decode', body: WirePayloads) => {
    try {
      return { payloads: toWire(await codec[direction](fromWire(body))) };
    } catch (error) {
      return { error: errorBody('codec_error', (error as Error).message) };
    }
  };

  for (const direction of ['encode', 'decode'] as const) {
    router.openapi(secured('codec:decode', codecRoute(direction, false)), async (c) => {
      const result = await run(direction, c.req.valid('json'));
      return result.payloads ? c.json(result.payloads, 200) : c.json(result.error!, 400);
    });
    router.openapi(custom([], uiKeyCheck(uiKey), { ...codecRoute(direction, true), 'x-credential': 'path-key' }), async (c) => {
      const result = await run(direction, c.req.valid('json'));
      return result.payloads ? c.json(result.payloads, 200) : c.json(result.error!, 400);
    });
  }
  return router;
}
