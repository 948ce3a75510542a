/**
 * Field checks and readers that more than one section uses: SQL Server names, loopback hosts (the only place
 * unencrypted connections are allowed), file paths, column lists.
 */
import { isAbsolute, resolve } from 'node:path';
import { type ObjectReader, type StringCheck } from '../reader.js';

/** How file paths in the config are resolved and checked. */
export interface PathOptions {
  /** Directory relative paths are resolved against (the config file's); left as written when absent. */
  baseDir?: string;
  /** When given, each file path must exist according to it. */
  fileExists?: (path: string) => boolean;
}

/** Whether a host is this machine: the only place unencrypted or unverified connections are allowed. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export const checkSqlName: StringCheck = (name) =>
  name.length <= 128 && !/[[\]]/.test(name) && !hasControlCharacter(name) && name.trim() === name
    ? undefined
    : {
        message: 'is not a SQL Server name',
        fix: 'write the name as SQL Server shows it, without brackets, at most 128 characters',
      };

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** Whether a required sub-section is there; when not, reports it missing (unless its parent is missing too). */
export function hasRequiredSection(parent: ObjectReader, key: string, missing: string, fix: string): boolean {
  if (parent.has(key)) return true;
  if (parent.present) parent.checker.report(parent.at(key), missing, fix);
  return false;
}

/** A file path field: resolved against the config file's directory, and checked to exist when `paths` says how. */
export function filePath(o: ObjectReader, key: string, what: string, paths: PathOptions): string | undefined {
  const written = o.optionalString(key, {
    what,
    example: `/etc/tidemark/${key === 'keyFile' ? 'client.key' : 'ca.pem'}`,
  });
  if (written === undefined) return undefined;
  const full = paths.baseDir === undefined || isAbsolute(written) ? written : resolve(paths.baseDir, written);
  if (paths.fileExists && !paths.fileExists(full)) {
    o.checker.report(
      o.at(key),
      `${what} not found: ${full}`,
      `fix the path (relative paths are resolved against the config file's directory), or create the file`,
    );
  }
  return full;
}

/** A column list: one name or a list of names; undefined when absent. */
export function readColumns(o: ObjectReader, key: string, what: string): string[] | undefined {
  if (!o.has(key)) return undefined;
  const raw = o.raw(key);
  const items =
    typeof raw === 'string'
      ? [{ node: raw as unknown, path: o.at(key) }]
      : o.list(key, { what, example: 'ClaimId, LineNo' });
  const columns: string[] = [];
  for (const { node, path } of items) {
    const problem =
      typeof node === 'string' && node.trim() !== ''
        ? checkSqlName(node)
        : { message: 'is not a column name', fix: 'write the column name as text' };
    if (problem) {
      o.checker.report(path, `${o.checker.describe(path, node)} ${problem.message}`, problem.fix);
      continue;
    }
    const name = node as string;
    if (columns.some((c) => c.toLowerCase() === name.toLowerCase())) {
      o.checker.report(path, `column ${name} is listed twice`, 'list each column once');
      continue;
    }
    columns.push(name);
  }
  if (Array.isArray(raw) && raw.length === 0)
    o.checker.report(o.at(key), `${what}: the list is empty`, `list at least one column, or remove \`${key}\``);
  return columns;
}
