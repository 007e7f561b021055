/** Helpers for access package tests: reading zips and CSV back, and the package as the API shows it. */
import { strFromU8, unzipSync } from 'fflate';
import type { Harness } from './harness.js';

export interface PackageView {
  privacy_request_id: string;
  status: string;
  created_at: string | null;
  available_at: string | null;
  expires_at: string | null;
  downloaded_at: string | null;
  deleted_at: string | null;
  failed_at: string | null;
  error: string | null;
  size_bytes: number | null;
  sha256: string | null;
  collections: Record<string, number> | null;
  download_url: string | null;
  download_count: number;
  downloads: { downloaded_at: string; ip_address: string | null; user_agent: string | null }[];
}

export async function packageOf(harness: Harness, id: string): Promise<{ status: number; body: PackageView }> {
  const response = await harness.fetch(`/api/v1/privacy-request/${id}/access-package`);
  return { status: response.status, body: (await response.json()) as PackageView };
}

/** The files of a zip, as text. */
export function unzipText(zip: Uint8Array): Record<string, string> {
  return Object.fromEntries(Object.entries(unzipSync(zip)).map(([name, bytes]) => [name, strFromU8(bytes)]));
}

/** RFC 4180 CSV (quoted fields with "" escapes, CRLF or LF line ends) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += char;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
