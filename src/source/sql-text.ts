/** Small helpers for building T-SQL text from trusted metadata (identifiers are quoted, values are parameters). */

/** `[name]` with `]` doubled. */
export function quoteIdent(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/** `[schema].[table]` */
export function quoteTable(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** `N'text'` with quotes doubled (for object names in OBJECT_ID(...) and similar, never for row values). */
export function nstring(text: string): string {
  return `N'${text.replace(/'/g, "''")}'`;
}
