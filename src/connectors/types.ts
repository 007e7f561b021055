/** What every data store connector offers the executor. */
export type Row = Record<string, unknown>;

export interface CollectionQuery {
  /** Table (or endpoint) name: the collection's name. */
  collection: string;
  /** The columns to return: the collection's top-level fields. */
  fields: string[];
  /** A row is selected when any filter matches (field value among the values). */
  filters: { field: string; values: unknown[] }[];
  /** The request's identities by name: SaaS connectors fill templates and filters with them. */
  identities?: Record<string, unknown> | undefined;
  /**
   * The values of several filter fields that came from one upstream row, one entry per row
   * (only for upstream collections that feed more than one field): SaaS `grouped_inputs`.
   */
  groups?: Record<string, unknown>[] | undefined;
}

/** Rows to change, each addressed by its primary key values. */
export interface CollectionUpdate {
  collection: string;
  /** `row`: the record as access found it (a SaaS update fills its path and body from it). */
  rows: { key: Row; values: Row; row?: Row | undefined }[];
  identities?: Record<string, unknown> | undefined;
  /** Dotted paths of read-only fields: left out of a SaaS `<all_object_fields>` body. */
  readOnly?: string[] | undefined;
}

export interface CollectionDelete {
  collection: string;
  keys: Row[];
  /** The records as access found them (a SaaS delete fills its path from them). */
  rows?: Row[] | undefined;
  identities?: Record<string, unknown> | undefined;
}

export interface Connector {
  /** Rows of a collection selected by the filters; never queries without a filter. */
  retrieve(query: CollectionQuery): Promise<Row[]>;
  /** The same rows in batches as they arrive (a SaaS read, page by page); connectors that have it are streamed. */
  stream?(query: CollectionQuery): AsyncIterable<Row[]>;
  /** Writes masked values, row by row by primary key, in one transaction; returns the rows changed. */
  mask(update: CollectionUpdate): Promise<number>;
  /** Deletes whole rows by primary key, in one transaction; returns the rows deleted. */
  deleteRows(request: CollectionDelete): Promise<number>;
  /** Checks that the store answers with the configured credentials. */
  test(): Promise<void>;
  /** Ends the pool, letting running queries finish (for a few seconds at most). */
  close(): Promise<void>;
  /** Closes every socket now, and opens no more: for a caller whose deadline has passed. */
  destroy(): void;
}
