/**
 * The access package's lifecycle on the worker side: prepare it once access is done (read the
 * results, keep the policy's categories, zip, store, record `available` with its expiry), record
 * a failure, and at the expiry mark it `expired` and delete the file (`deleted`): for requests
 * since 'lean-requests', by the workers' maintenance sweep (sweepExpiredPackages); before, by a
 * child workflow per request (workflows/access-package.ts).
 *
 * Each step is safe to run again: the row in `access_package` says how far it got.
 */
import { readAccessResultsOf } from '../db/access-results.js';
import {
  getAccessPackage,
  markAvailable,
  markDeleted,
  markExpired,
  markFailed,
  packagesPastExpiry,
  startAccessPackage,
  type AccessPackageStatus,
} from '../db/access-packages.js';
import { buildAccessPackage, packagedCollections } from '../domain/access-package.js';
import { storageAt, type PackageStorage } from '../storage/index.js';
import { ConfigurationError, type ExecutionContext } from './context.js';
import { snapshotOf } from './inputs.js';

export interface PackageContext extends ExecutionContext {
  /** Where new packages are written (the configured storage). */
  storage: PackageStorage;
}

export const packageObjectKey = (privacyRequestId: string) => `${privacyRequestId}.zip`;

export interface PreparedPackage {
  status: AccessPackageStatus;
  /** ISO time until which the package can be downloaded; null when it is not available. */
  expiresAt: string | null;
}

const prepared = (row: { status: AccessPackageStatus; expires_at: Date | null }): PreparedPackage => ({
  status: row.status,
  expiresAt: row.status === 'failed' ? null : (row.expires_at?.toISOString() ?? null),
});

export async function prepareAccessPackage(context: PackageContext, input: { privacyRequestId: string; expiresInMs: number }): Promise<PreparedPackage> {
  const { sql } = context;
  const { privacyRequestId } = input;
  const row = await startAccessPackage(sql, privacyRequestId, context.storage.location, packageObjectKey(privacyRequestId));
  if (row.status !== 'preparing') return prepared(row);

  const snapshot = await snapshotOf(context, privacyRequestId);
  if (!snapshot) throw new ConfigurationError(`Privacy request ${privacyRequestId} has no plan`);
  const collections = packagedCollections(
    snapshot.policy,
    snapshot.datasets,
    snapshot.plan.collections.map((collection) => collection.key),
  );
  const rows = await readAccessResultsOf(sql, privacyRequestId, collections);
  const withRows = collections.map((collection) => ({ collection, rows: rows.get(collection.key)! }));
  const built = buildAccessPackage({ privacyRequestId, policy: snapshot.policy, createdAt: row.created_at, collections: withRows });
  await storageAt(row.storage_location, context.storage).put(row.object_key, built.zip, 'application/zip');
  return prepared(await markAvailable(sql, privacyRequestId, { sizeBytes: built.zip.byteLength, sha256: built.sha256, collections: built.rowCounts, expiresInMs: input.expiresInMs }));
}

/** Preparing failed after its retries; the reason is kept (it names no personal data: storage and plan errors). */
export async function recordAccessPackageFailure(context: PackageContext, input: { privacyRequestId: string; at: string; message: string }): Promise<void> {
  await markFailed(context.sql, input.privacyRequestId, context.storage.location, packageObjectKey(input.privacyRequestId), input.message, new Date(input.at));
}

/** The expiry passed: the link stops working. */
export async function expireAccessPackage(context: Pick<PackageContext, 'sql'>, input: { privacyRequestId: string }): Promise<void> {
  await markExpired(context.sql, input.privacyRequestId);
}

/** Deletes the file from the storage it was written to, then records `deleted`. */
export async function deleteAccessPackage(context: Pick<PackageContext, 'sql' | 'storage'>, input: { privacyRequestId: string; at: string }): Promise<void> {
  const row = await getAccessPackage(context.sql, input.privacyRequestId);
  if (!row || !['available', 'downloaded', 'expired'].includes(row.status)) return;
  await storageAt(row.storage_location, context.storage).delete(row.object_key);
  await markDeleted(context.sql, input.privacyRequestId, new Date(input.at));
}

/**
 * Expires and deletes the packages whose expiry has passed, up to `limit` (the workers'
 * maintenance, src/worker/maintenance.ts). The download link already refuses them from the
 * moment they expire; this removes the files. Safe to run on several workers at once: each step
 * is idempotent, and deleting a file already deleted is no error. Answers how many it deleted.
 */
export async function sweepExpiredPackages(context: Pick<PackageContext, 'sql' | 'storage'>, limit = 100): Promise<number> {
  const due = await packagesPastExpiry(context.sql, limit);
  for (const privacyRequestId of due) {
    await expireAccessPackage(context, { privacyRequestId });
    await deleteAccessPackage(context, { privacyRequestId, at: new Date().toISOString() });
  }
  return due.length;
}
