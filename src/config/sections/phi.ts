/** `tables[].phi`: which columns carry PHI and whether each is dropped, hashed or kept. */
import { keyColumnPhiProblem } from '../phi-key-rule.js';
import { type ConfigPath } from '../path.js';
import { type ObjectReader } from '../reader.js';
import { type PhiAction, type PhiRule } from '../types.js';
import { readColumns } from './shared-fields.js';

const PHI_ACTIONS: readonly PhiAction[] = ['drop', 'hash', 'keep'];

export function readPhi(table: ObjectReader, key: readonly string[]): PhiRule[] {
  const rules: PhiRule[] = [];
  const seen = new Map<string, string>();
  for (const { node, path } of table.list('phi', {
    what: 'the PHI column policy',
    example: '{ columns: [MemberSsn], action: hash }',
  })) {
    const o = table.checker.object(path, node, 'a PHI rule');
    o.allow(['columns', 'action']);
    if (!o.has('columns') && o.present)
      o.checker.report(
        o.at('columns'),
        'missing: the PHI columns this rule covers',
        'add `columns: [MemberSsn, PatientName]`',
      );
    const columns = readColumns(o, 'columns', 'the PHI columns') ?? [];
    const action = o.oneOf('action', PHI_ACTIONS, { what: 'PHI action', required: true });
    for (const column of columns) {
      const lowered = column.toLowerCase();
      const earlier = seen.get(lowered);
      if (earlier !== undefined) {
        o.checker.report(
          o.at('columns'),
          `column ${column} already has a PHI rule (${earlier})`,
          'give each column one action',
        );
      } else seen.set(lowered, formatRule(path));
      const keyProblem =
        action !== undefined && key.some((k) => k.toLowerCase() === lowered)
          ? keyColumnPhiProblem(column, action)
          : undefined;
      if (keyProblem) o.checker.report(o.at('action'), keyProblem.message, keyProblem.fix);
    }
    if (action !== undefined) rules.push({ columns, action });
  }
  return rules;
}

function formatRule(path: ConfigPath): string {
  return `phi[${String(path[path.length - 1])}]`;
}
