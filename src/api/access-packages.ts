/**
 * Access packages: `GET /privacy-request/{id}/access-package` tells the package's status (the
 * lifecycle of reference 004_*) and, while it can be downloaded, a signed link that expires with
 * it; `GET /access-package/{id}/download?expires=…&signature=…` streams the zip and records the
 * download (time, client address, user agent). After the expiry the link answers 410; a link
 * whose signature does not match (tampered, or made for another request) answers 403.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { getAccessPackage, listDownloads, recordDownload, type AccessPackageRow, type DownloadRow } from '../db/access-packages.js';
import { ACCESS_PACKAGE_STATUSES, type AccessPackageStatus } from '../domain/access-package.js';
import { getPrivacyRequest } from '../db/privacy-requests.js';
import { linkKey, signDownload, verifyDownload } from '../domain/download-links.js';
import { iso } from '../service/privacy-requests.js';
import { storageAt, StorageError } from '../storage/index.js';
import type { ApiDeps } from './types.js';
import { custom, holds, principal, requireScopes, secured, SECURITY_SCHEME, type AuthVariables } from './auth.js';
import { errorBody } from './errors.js';
import { clientAddress } from './rate-limit.js';
import { ErrorSchema, errorResponses, json, PrivacyRequestIdParam, timestamp } from './schemas.js';
import { newRouter } from './types.js';

const TAG = 'Access packages';

export const AccessPackageSchema = z
  .object({
    privacy_request_id: z.string().meta({ example: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac' }),
    status: z.enum(ACCESS_PACKAGE_STATUSES).meta({
      description:
        '`preparing` until access is done and the file is written; `available` to download until `expires_at`; `downloaded` once downloaded (still available until it expires); ' +
        '`expired` once `expires_at` passed (the link answers 410); `deleted` when the file is gone from storage; `failed` when it could not be written (see `error`)',
    }),
    created_at: timestamp,
    available_at: timestamp,
    expires_at: timestamp,
    downloaded_at: timestamp.meta({ description: 'The most recent download' }),
    deleted_at: timestamp,
    failed_at: timestamp,
    error: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
    sha256: z.string().nullable().meta({ description: 'SHA-256 of the zip, hex' }),
    collections: z.record(z.string(), z.number().int()).nullable().meta({ description: 'Rows in the package per collection (`dataset:collection`)' }),
    download_url: z
      .string()
      .nullable()
      .meta({ description: 'Signed link, valid until `expires_at`; null when the package cannot be downloaded, or the caller lacks `privacy-request:download`' }),
    download_count: z.number().int(),
    downloads: z.array(
      z.object({
        downloaded_at: z.string().meta({ format: 'date-time' }),
        ip_address: z.string().nullable(),
        user_agent: z.string().nullable(),
        actor: z.string().nullable().meta({ description: 'The client or user who downloaded it, or `signed_link`' }),
      }),
    ),
  })
  .meta({ id: 'AccessPackage' });

/** With a signed link both are given; with a bearer token holding privacy-request:download, neither is needed. */
const DownloadQuery = z
  .object({
    expires: z.string().regex(/^\d{1,12}$/, 'must be a Unix time in seconds').optional().meta({ example: '1764000000' }),
    signature: z.string().min(1).max(200).optional().meta({ example: 'q2b0…' }),
  })
  .refine((query) => (query.expires === undefined) === (query.signature === undefined), { message: 'give expires and signature together (a signed link), or neither with a bearer token', path: ['signature'] });

/** The signed link's parameter, declared as a credential in the OpenAPI document. */
export const SIGNED_LINK_SCHEME = 'SignedLink';
export const signedLinkScheme = {
  type: 'apiKey' as const,
  in: 'query' as const,
  name: 'signature',
  description: 'The signed link from GET /privacy-request/{id}/access-package (with its `expires`): downloads without a token until the package expires',
};

/** A signed link is its own credential (checked by the handler); otherwise a token with the download scope. */
const linkOrToken: MiddlewareHandler<{ Variables: AuthVariables }> = async (c, next) => {
  if (c.req.query('signature') !== undefined) return next();
  return requireScopes(['privacy-request:download'])(c, next);
};

const statusRoute = secured('privacy-request:read', createRoute({
  method: 'get',
  path: '/privacy-request/{privacy_request_id}/access-package',
  tags: [TAG],
  summary: "A request's access package: its status, timestamps, downloads and a signed download link",
  description:
    'The package holds what access found, limited to the data categories of the policy\'s access rules: `access-results.json` plus one CSV per collection, zipped. ' +
    'It is written when the access phase ends and deleted when it expires (DSRFLOW_ACCESS_PACKAGE_EXPIRY, 7 days by default).',
  request: { params: PrivacyRequestIdParam },
  responses: {
    200: { description: 'The package', content: json(AccessPackageSchema) },
    404: { description: 'No such privacy request, or it has no access package (its policy has no access rules, or it ended before access)', content: json(ErrorSchema) },
    422: errorResponses[422],
  },
}));

const downloadRoute = custom([{ [SECURITY_SCHEME]: ['privacy-request:download'] }, { [SIGNED_LINK_SCHEME]: [] }], linkOrToken, createRoute({
  method: 'get',
  path: '/access-package/{privacy_request_id}/download',
  tags: [TAG],
  summary: 'Download an access package through its signed link',
  description: 'Each download is recorded with its time and the client (address, user agent). The link is the one `GET /privacy-request/{id}/access-package` gives.',
  request: { params: PrivacyRequestIdParam, query: DownloadQuery },
  responses: {
    200: { description: 'The zip', content: { 'application/zip': { schema: z.string().meta({ format: 'binary' }) } } },
    403: { description: 'The signature does not match: the link was altered or made for another request', content: json(ErrorSchema) },
    404: { description: 'No package to download for this request', content: json(ErrorSchema) },
    410: { description: 'The link or the package expired; the file is (or is being) deleted', content: json(ErrorSchema) },
    422: errorResponses[422],
    503: { description: 'The package storage is not reachable or not configured in this process', content: json(ErrorSchema) },
  },
}));

/** The status as of now: a package past its expiry is expired, even before the timer recorded it. */
function currentStatus(row: AccessPackageRow, now = Date.now()): AccessPackageStatus {
  if ((row.status === 'available' || row.status === 'downloaded') && row.expires_at && row.expires_at.getTime() <= now) return 'expired';
  return row.status;
}

/** The package as the API shows it; without a row, one that is still being prepared. */
function packageView(privacyRequestId: string, row: AccessPackageRow | undefined, downloads: DownloadRow[], downloadUrl: string | null): z.infer<typeof AccessPackageSchema> {
  return {
    privacy_request_id: privacyRequestId,
    status: row ? currentStatus(row) : 'preparing',
    created_at: iso(row?.created_at),
    available_at: iso(row?.available_at),
    expires_at: iso(row?.expires_at),
    downloaded_at: iso(row?.downloaded_at),
    deleted_at: iso(row?.deleted_at),
    failed_at: iso(row?.failed_at),
    error: row?.error ?? null,
    size_bytes: row?.size_bytes ?? null,
    sha256: row?.sha256 ?? null,
    collections: row?.collections ?? null,
    download_url: downloadUrl,
    download_count: downloads.length,
    downloads: downloads.map((download) => ({ downloaded_at: download.downloaded_at.toISOString(), ip_address: download.ip_address, user_agent: download.user_agent, actor: download.actor })),
  };
}

export function accessPackageRoutes(deps: Pick<ApiDeps, 'sql' | 'encryptionKey' | 'accessPackages'>) {
  const key = linkKey(deps.encryptionKey);
  const baseUrl = (c: Context) => deps.accessPackages?.publicUrl ?? new URL(c.req.url).origin;
  const gone = (c: Context, message: string) => c.json(errorBody('gone', message), 410);

  return newRouter()
    .openapi(statusRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const request = await getPrivacyRequest(deps.sql, id);
      if (!request) return c.json(errorBody('not_found', `No privacy request with id ${id}`), 404);
      const row = await getAccessPackage(deps.sql, id);
      if (!row) {
        if (!request.action_types.includes('access')) return c.json(errorBody('not_found', `The policy of ${id} has no access rules: it has no access package`), 404);
        if (['complete', 'canceled', 'denied'].includes(request.status)) return c.json(errorBody('not_found', `${id} is ${request.status} without an access package`), 404);
        // Access has not finished: the package is coming.
        return c.json(packageView(id, undefined, [], null), 200);
      }
      const status = currentStatus(row);
      let downloadUrl: string | null = null;
      // The link is a credential to the person's data: only callers who may download see it.
      if ((status === 'available' || status === 'downloaded') && row.expires_at && holds(c, 'privacy-request:download')) {
        const expires = Math.floor(row.expires_at.getTime() / 1000);
        const query = new URLSearchParams({ expires: String(expires), signature: signDownload(key, id, expires) });
        downloadUrl = `${baseUrl(c)}/api/v1/access-package/${encodeURIComponent(id)}/download?${query}`;
      }
      return c.json(packageView(id, row, await listDownloads(deps.sql, id), downloadUrl), 200);
    })
    .openapi(downloadRoute, async (c) => {
      const { privacy_request_id: id } = c.req.valid('param');
      const query = c.req.valid('query');
      let actor = 'signed_link';
      if (query.signature !== undefined) {
        const expires = Number(query.expires);
        if (!verifyDownload(key, id, expires, query.signature)) {
          return c.json(errorBody('invalid_signature', 'This download link is not valid: it was altered or made for another request'), 403);
        }
        if (expires * 1000 <= Date.now()) return gone(c, `This download link expired at ${new Date(expires * 1000).toISOString()}`);
      } else {
        actor = principal(c).actor;
      }
      const row = await getAccessPackage(deps.sql, id);
      if (!row) return c.json(errorBody('not_found', `No access package for ${id}`), 404);
      const status = currentStatus(row);
      if (status === 'expired' || status === 'deleted') return gone(c, `The access package of ${id} expired${row.expires_at ? ` at ${row.expires_at.toISOString()}` : ''}`);
      if (status !== 'available' && status !== 'downloaded') return c.json(errorBody('not_found', `The access package of ${id} is ${status}`), 404);
      // A HEAD (link previews, download managers) is not a download: nothing is read or recorded.
      if (c.req.method === 'HEAD') return c.body(null, 200, { 'content-type': 'application/zip', 'cache-control': 'no-store' });

      let object;
      try {
        object = await storageAt(row.storage_location, deps.accessPackages?.storage).get(row.object_key);
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        return c.json(errorBody('storage_unavailable', error.message), 503);
      }
      if (!object) return gone(c, `The access package of ${id} is no longer in storage`);
      const recorded = await recordDownload(deps.sql, id, { ipAddress: clientAddress(c), userAgent: c.req.header('user-agent') ?? null, actor });
      if (!recorded) {
        await object.body.cancel();
        return gone(c, `The access package of ${id} expired`);
      }
      return c.body(object.body, 200, {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${id}-access-package.zip"`,
        ...(object.size !== undefined ? { 'content-length': String(object.size) } : {}),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
      });
    });
}
