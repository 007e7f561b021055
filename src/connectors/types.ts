/** What every data store connector offers the executor. */
export type Row = Record<string, unknown>;

export interface CollectionQuery {
  /** Table (or endpoint) name: the collection's name. */
  collection: string;
  /** The columns to return: the collection's top-level fields. */
  fields: string[];
  /** A row is selected when any filter matches (field value among the values). */
  filters: { field: string; values: unknown[] }[];
}

export interface Connector {
  /** Rows of a collection selected by the filters; never queries without a filter. */
  retrieve(query: CollectionQuery): Promise<Row[]>;
  /** Checks that the store answers with the configured credentials. */
  test(): Promise<void>;
  close(): Promise<void>;
}
