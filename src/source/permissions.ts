/**
 * SQL Server permission failures as {@link SourcePermissionError}s: the object, the permission, and the statement
 * a DBA runs to grant it. These are never transient (a GRANT fixes them, time does not), so the table stops with
 * the reason instead of retrying forever. The server's texts of these numbers name objects and permissions only,
 * never row values, so they can be parsed and quoted:
 *
 * - 229 `The %ls permission was denied on the object '%.*ls', database '%.*ls', schema '%.*ls'.`
 * - 230 `The %ls permission was denied on the column '%.*ls' of the object '%.*ls', database '%.*ls', schema '%.*ls'.`
 * - 262 `%ls permission denied in database '%.*ls'.`
 * - 297 `The user does not have permission to perform this action.`
 * - 300 `%ls permission was denied on object '%.*ls', database '%.*ls'.`
 * - 916 `The server principal "%.*ls" is not able to access the database "%.*ls" under the current security context.`
 */
import { SourcePermissionError } from './errors.js';
import { quoteIdent, quoteTable } from './sql-text.js';

export const PERMISSION_SQL_NUMBERS: ReadonlySet<number> = new Set([229, 230, 262, 297, 300, 916]);

/** Who the extractor is on the source: its database user (`USER_NAME()`) and login (`SUSER_NAME()`). */
export interface SourcePrincipal {
  readonly user: string | null;
  readonly login: string | null;
}

/** `[user]`, or a placeholder when the user could not be read. */
export function granteeOf(who: SourcePrincipal | undefined): string {
  return who?.user ? quoteIdent(who.user) : "[<the extractor's database user>]";
}

/**
 * What a DENY means for a GRANT: the statement alone does not help while a DENY of the same permission applies
 * (to the user or one of its roles), because DENY wins.
 */
export function denyNote(permission: string, on: string): string {
  return (
    `A DENY ${permission} on ${on} (to the user or to one of its roles) overrides any GRANT: remove it first with ` +
    `REVOKE ${permission} ON ${on} FROM <that principal>.`
  );
}

/** What the per-number readers below need to word an error. */
interface Denied {
  readonly number: number;
  /** "the extractor (database user [u], query 'q')" */
  readonly by: string;
  readonly grantee: string;
  readonly who: SourcePrincipal | undefined;
}

const codeOf = (permission: string) => `permission.${permission.toLowerCase().replace(/\s+/g, '_')}`;

function inDatabase(d: Denied, permission: string, database: string): SourcePermissionError {
  return new SourcePermissionError(
    database,
    d.number,
    codeOf(permission),
    `${d.by} lacks ${permission} in database ${quoteIdent(database)}.`,
    `USE ${quoteIdent(database)}; GRANT ${permission} TO ${d.grantee};`,
  );
}

/** One reader per error number: the server's text → the error, or undefined when the text is not recognised. */
const READERS: Record<number, (text: string, d: Denied) => SourcePermissionError | undefined> = {
  229: (text, d) => {
    const m = /^The (.+?) permission was denied on the object '(.*)', database '(.*)', schema '(.*)'\.?$/.exec(text);
    if (!m) return undefined;
    const [, permission = 'SELECT', object = '', , schema = ''] = m;
    const on = quoteTable(schema, object);
    return new SourcePermissionError(
      `${schema}.${object}`,
      d.number,
      codeOf(permission),
      `${d.by} may not ${permission} ${on}. ${denyNote(permission, on)}`,
      `GRANT ${permission} ON ${on} TO ${d.grantee};`,
    );
  },
  230: (text, d) => {
    const m =
      /^The (.+?) permission was denied on the column '(.*)' of the object '(.*)', database '(.*)', schema '(.*)'\.?$/.exec(
        text,
      );
    if (!m) return undefined;
    const [, permission = 'SELECT', column = '', object = '', , schema = ''] = m;
    const on = quoteTable(schema, object);
    return new SourcePermissionError(
      `${schema}.${object}`,
      d.number,
      codeOf(permission),
      `${d.by} may not ${permission} column ${quoteIdent(column)} of ${on}. ${denyNote(permission, `${on} (${quoteIdent(column)})`)}`,
      `GRANT ${permission} ON ${on} (${quoteIdent(column)}) TO ${d.grantee};`,
    );
  },
  300: (text, d) => {
    const m = /^(.+?) permission was denied on object '(.*)', database '(.*)'\.?$/.exec(text);
    if (!m) return undefined;
    const [, permission = '', object = '', database = ''] = m;
    if (object.toLowerCase() !== 'server') return inDatabase(d, permission, database);
    return new SourcePermissionError(
      'server',
      d.number,
      codeOf(permission),
      `${d.by} lacks the server permission ${permission}.`,
      `USE [master]; GRANT ${permission} TO ${d.who?.login ? quoteIdent(d.who.login) : "[<the extractor's login>]"};`,
    );
  },
  262: (text, d) => {
    const m = /^(.+?) permission denied in database '(.*)'\.?$/.exec(text);
    return m ? inDatabase(d, m[1] ?? '', m[2] ?? '') : undefined;
  },
  916: (text, d) => {
    const m = /^The server principal "(.*)" is not able to access the database "(.*)"/.exec(text);
    if (!m) return undefined;
    const [, login = '', database = ''] = m;
    return new SourcePermissionError(
      database,
      d.number,
      'permission.database_access',
      `the extractor's login ${quoteIdent(login)} has no user in database ${quoteIdent(database)}.`,
      `USE ${quoteIdent(database)}; CREATE USER ${quoteIdent(login)} FOR LOGIN ${quoteIdent(login)};`,
    );
  },
};

/**
 * The permission failure of a query, from its SQL Server error number and text (`operation` names the query).
 * Undefined when `number` is not a permission error.
 */
export function permissionErrorOf(
  operation: string,
  number: number | undefined,
  serverText: string | undefined,
  who: SourcePrincipal | undefined,
): SourcePermissionError | undefined {
  if (number === undefined || !PERMISSION_SQL_NUMBERS.has(number)) return undefined;
  const text = (serverText ?? '').trim();
  const grantee = granteeOf(who);
  const by = `the extractor (database user ${grantee}, query '${operation}')`;
  const known = READERS[number]?.(text, { number, by, grantee, who });
  if (known) return known;
  // 297, or a text this version does not recognise: still not transient; say what ran.
  return new SourcePermissionError(
    operation,
    number,
    'permission.denied',
    `${by} lacks a permission it needs${text ? ` (${text.replace(/\s+/g, ' ').slice(0, 300)})` : ''}. ` +
      'Grant it to the database user named here.',
    '',
  );
}
