/**
 * Tables as Tidemark names them: the id `<database>.<schema>.<table>` (workflow ids, lake folders) and the
 * capture strategy a table is read with. The bottom layer: imports nothing of ours.
 */

/** A table as configured: `<database>.<schema>.<name>`, plus its capture strategy. */
export interface TableRef {
  /** `<db>.<schema>.<table>`, the workflow ID suffix and the lake folder name. */
  id: string;
  strategy: CaptureStrategyName;
}

export type CaptureStrategyName = 'cdc' | 'change_tracking' | 'rowversion' | 'updated_at' | 'identity';

/** `<database>.<schema>.<table>`: one spelling of a table's id, for workflow ids, the lake and the CLI. */
export function tableIdOf(database: string, schema: string, table: string): string {
  return `${database}.${schema}.${table}`;
}
