/** A configured table's identity: its id (`<database>.<schema>.<table>`) and reference, and the lookup by id. */
import { tableIdOf, type TableRef } from '../domain/table.js';
import type { TableConfig, TidemarkConfig } from './types.js';

/** `<database>.<schema>.<table>`: the table's identity in workflow IDs and the lake. */
export function tableId(config: TidemarkConfig, table: TableConfig): string {
  return tableIdOf(config.source.database, table.schema, table.table);
}

/** The table as the workflows and activities know it: its id and capture strategy. */
export function tableRef(config: TidemarkConfig, table: TableConfig): TableRef {
  return { id: tableId(config, table), strategy: table.capture.strategy };
}

/** The configured table with this id, or undefined. */
export function findTable(config: TidemarkConfig, id: string): TableConfig | undefined {
  return config.tables.find((t) => tableId(config, t) === id);
}
