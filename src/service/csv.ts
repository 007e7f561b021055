/**
 * The privacy request listing as CSV (RFC 4180, CRLF line ends), streamed: Postgres writes each
 * request's record (src/db/privacy-requests.ts) and a server-side cursor hands them over a batch at a
 * time; the next batch is read only once the client has taken the previous one, so the API's
 * memory stays flat however many requests match.
 */
import { Buffer } from 'node:buffer';
import type { Sql } from '../db/client.js';
import { CSV_COLUMNS, csvRecordBatches, type PrivacyRequestFilters } from '../db/privacy-requests.js';

/** Records per round trip to Postgres (and per chunk written to the client). */
export const CSV_BATCH_SIZE = 1000;

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;
const CRLF = Buffer.from('\r\n');

export function privacyRequestsCsv(sql: Sql, filters: PrivacyRequestFilters, batchSize = CSV_BATCH_SIZE): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let batches: AsyncIterator<Buffer[]> | undefined;
  let canceled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(CSV_HEADER));
      },
      async pull(controller) {
        batches ??= csvRecordBatches(sql, filters, batchSize)[Symbol.asyncIterator]();
        const next = await batches.next();
        // Canceled while this batch was on its way: the cursor waits for word, so close it now.
        if (canceled) await batches.return?.();
        else if (next.done) controller.close();
        else controller.enqueue(Buffer.concat(next.value.flatMap((record) => [record, CRLF])));
      },
      async cancel() {
        // The client went away: close the cursor and give its connection back. A batch still
        // on its way closes it when it arrives (pull above).
        canceled = true;
        await batches?.return?.();
      },
    },
    { highWaterMark: 1 },
  );
}
