/** SQL for `access_package` and `access_package_download`: the package's lifecycle and its downloads. */
import type { Sql } from './client.js';

import type { AccessPackageStatus } from '../domain/access-package.js';

export type { AccessPackageStatus };

export interface AccessPackageRow {
  privacy_request_id: string;
  status: AccessPackageStatus;
  storage_location: string;
  object_key: string;
  size_bytes: number | null;
  sha256: string | null;
  collections: Record<string, number> | null;
  error: string | null;
  created_at: Date;
  available_at: Date | null;
  expires_at: Date | null;
  downloaded_at: Date | null;
  deleted_at: Date | null;
  failed_at: Date | null;
}

export interface DownloadRow {
  downloaded_at: Date;
  ip_address: string | null;
  user_agent: string | null;
  /** The client or user who downloaded it, or `signed_link` for a download through the link. */
  actor: string | null;
}

export async function getAccessPackage(sql: Sql, privacyRequestId: string): Promise<AccessPackageRow | undefined> {
  const [row] = await sql<AccessPackageRow[]>`select * from access_package where privacy_request_id = ${privacyRequestId}`;
  return row;
}

/** Records that the package is being prepared (once); returns the row as it stands. */
export async function startAccessPackage(sql: Sql, privacyRequestId: string, storageLocation: string, objectKey: string): Promise<AccessPackageRow> {
  const [inserted] = await sql<AccessPackageRow[]>`
    insert into access_package (privacy_request_id, status, storage_location, object_key)
    values (${privacyRequestId}, 'preparing', ${storageLocation}, ${objectKey})
    on conflict (privacy_request_id) do nothing
    returning *`;
  // Read afresh when another attempt got there first (a snapshot of its own: it sees that attempt's commit).
  return inserted ?? (await getAccessPackage(sql, privacyRequestId))!;
}

/** The file is written: available until now + expiresInMs. Only a package still preparing changes; returns the row as it stands. */
export async function markAvailable(
  sql: Sql,
  privacyRequestId: string,
  file: { sizeBytes: number; sha256: string; collections: Record<string, number>; expiresInMs: number },
): Promise<AccessPackageRow> {
  const [updated] = await sql<AccessPackageRow[]>`
    update access_package set
      status = 'available',
      size_bytes = ${file.sizeBytes},
      sha256 = ${file.sha256},
      collections = ${sql.json(file.collections)},
      available_at = now(),
      expires_at = now() + ${file.expiresInMs}::double precision * interval '1 millisecond',
      updated_at = now()
    where privacy_request_id = ${privacyRequestId} and status = 'preparing'
    returning *`;
  // As another attempt (or a failure, or the expiry) left it: read afresh.
  return updated ?? (await getAccessPackage(sql, privacyRequestId))!;
}

/** Preparing failed for good (after the retries): recorded with the reason. */
export async function markFailed(sql: Sql, privacyRequestId: string, storageLocation: string, objectKey: string, error: string, at: Date): Promise<void> {
  await sql`
    insert into access_package (privacy_request_id, status, storage_location, object_key, error, failed_at)
    values (${privacyRequestId}, 'failed', ${storageLocation}, ${objectKey}, ${error}, ${at})
    on conflict (privacy_request_id) do update set status = 'failed', error = excluded.error, failed_at = excluded.failed_at, updated_at = now()
      where access_package.status = 'preparing'`;
}

/** The download link stops working: the package is expired (deleted next). */
export async function markExpired(sql: Sql, privacyRequestId: string): Promise<void> {
  await sql`
    update access_package set status = 'expired', updated_at = now()
    where privacy_request_id = ${privacyRequestId} and status in ('available', 'downloaded')`;
}

/** Packages whose expiry has passed and whose file is still stored (oldest expiry first): what the workers' sweep deletes. */
export async function packagesPastExpiry(sql: Sql, limit: number): Promise<string[]> {
  const rows = await sql<{ privacy_request_id: string }[]>`
    select privacy_request_id from access_package
    where status in ('available', 'downloaded', 'expired') and expires_at <= now()
    order by expires_at limit ${limit}`;
  return rows.map((row) => row.privacy_request_id);
}

export async function markDeleted(sql: Sql, privacyRequestId: string, at: Date): Promise<void> {
  await sql`
    update access_package set status = 'deleted', deleted_at = ${at}, updated_at = now()
    where privacy_request_id = ${privacyRequestId} and status <> 'deleted'`;
}

/**
 * Records one download (time and client) and marks the package downloaded, unless it expired in
 * the meantime. Returns false, recording nothing, when the package can no longer be downloaded.
 */
export async function recordDownload(sql: Sql, privacyRequestId: string, client: { ipAddress: string | null; userAgent: string | null; actor: string }): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [updated] = await tx`
      update access_package set status = 'downloaded', downloaded_at = now(), updated_at = now()
      where privacy_request_id = ${privacyRequestId} and status in ('available', 'downloaded') and expires_at > now()
      returning downloaded_at`;
    if (!updated) return false;
    await tx`
      insert into access_package_download (privacy_request_id, downloaded_at, ip_address, user_agent, actor)
      values (${privacyRequestId}, ${updated.downloaded_at as Date}, ${client.ipAddress}, ${client.userAgent}, ${client.actor})`;
    return true;
  });
}

export async function listDownloads(sql: Sql, privacyRequestId: string): Promise<DownloadRow[]> {
  return sql<DownloadRow[]>`
    select downloaded_at, ip_address, user_agent, actor from access_package_download
    where privacy_request_id = ${privacyRequestId} order by id`;
}

