/**
 * SQL Server error numbers, classes, states and message texts the engine raises (SQL Server 2019, from the
 * "Database engine events and errors" pages). One table, so a test can cite the number and the text together.
 *
 * `EngineError` carries the SqlError plus how SQL Server reacts to it: whether the rest of the batch still runs
 * (statement-terminating vs batch-aborting errors with XACT_ABORT OFF) and whether the transaction is doomed.
 */
import { SqlError } from './api.js';

interface ErrorSpec {
  severity: number;
  state: number;
  text: string;
  /** Batch-aborting (compile errors, conversion errors, 8134 with ARITHABORT ON): the rest of the batch is skipped. */
  abortsBatch?: boolean;
  /** The transaction is rolled back (1205, 3960). */
  rollsBack?: boolean;
}

const ERRORS: Record<number, ErrorSpec> = {
  102: { severity: 15, state: 1, text: "Incorrect syntax near '%s'.", abortsBatch: true },
  105: { severity: 15, state: 1, text: "Unclosed quotation mark after the character string '%s'.", abortsBatch: true },
  104: {
    severity: 16,
    state: 1,
    text: 'ORDER BY items must appear in the select list if the statement contains a UNION, INTERSECT or EXCEPT operator.',
    abortsBatch: true,
  },
  108: {
    severity: 15,
    state: 1,
    text: 'The ORDER BY position number %s is out of range of the number of items in the select list.',
    abortsBatch: true,
  },
  109: {
    severity: 15,
    state: 1,
    text: 'There are more columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.',
    abortsBatch: true,
  },
  110: {
    severity: 15,
    state: 1,
    text: 'There are fewer columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.',
    abortsBatch: true,
  },
  113: { severity: 15, state: 1, text: "Missing end comment mark '*/'.", abortsBatch: true },
  116: {
    severity: 16,
    state: 1,
    text: 'Only one expression can be specified in the select list when the subquery is not introduced with EXISTS.',
    abortsBatch: true,
  },
  131: {
    severity: 15,
    state: 3,
    text: "The size (%s) given to the type '%s' exceeds the maximum allowed for any data type (%s).",
    abortsBatch: true,
  },
  134: {
    severity: 15,
    state: 1,
    text: "The variable name '%s' has already been declared. Variable names must be unique within a query batch or stored procedure.",
    abortsBatch: true,
  },
  137: { severity: 15, state: 2, text: 'Must declare the scalar variable "%s".', abortsBatch: true },
  141: {
    severity: 15,
    state: 1,
    text: 'A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.',
    abortsBatch: true,
  },
  145: {
    severity: 15,
    state: 1,
    text: 'ORDER BY items must appear in the select list if SELECT DISTINCT is specified.',
    abortsBatch: true,
  },
  147: {
    severity: 15,
    state: 1,
    text: 'An aggregate may not appear in the WHERE clause unless it is in a subquery contained in a HAVING clause or a select list, and the column being aggregated is an outer reference.',
    abortsBatch: true,
  },
  155: { severity: 15, state: 1, text: "'%s' is not a recognized %s option.", abortsBatch: true },
  156: { severity: 15, state: 1, text: "Incorrect syntax near the keyword '%s'.", abortsBatch: true },
  174: { severity: 15, state: 1, text: 'The %s function requires %s argument(s).', abortsBatch: true },
  195: { severity: 15, state: 10, text: "'%s' is not a recognized built-in function name.", abortsBatch: true },
  201: {
    severity: 16,
    state: 4,
    text: "Procedure or function '%s' expects parameter '%s', which was not supplied.",
  },
  205: {
    severity: 16,
    state: 1,
    text: 'All queries combined using a UNION, INTERSECT or EXCEPT operator must have an equal number of expressions in their target lists.',
    abortsBatch: true,
  },
  206: { severity: 16, state: 2, text: 'Operand type clash: %s is incompatible with %s', abortsBatch: true },
  207: { severity: 16, state: 1, text: "Invalid column name '%s'.", abortsBatch: true },
  208: { severity: 16, state: 1, text: "Invalid object name '%s'.", abortsBatch: true },
  209: { severity: 16, state: 1, text: "Ambiguous column name '%s'.", abortsBatch: true },
  213: {
    severity: 16,
    state: 1,
    text: 'Column name or number of supplied values does not match table definition.',
    abortsBatch: true,
  },
  220: { severity: 16, state: 2, text: 'Arithmetic overflow error for data type %s, value = %s.', abortsBatch: true },
  229: { severity: 14, state: 5, text: "The %s permission was denied on the object '%s', database '%s', schema '%s'." },
  241: {
    severity: 16,
    state: 1,
    text: 'Conversion failed when converting date and/or time from character string.',
    abortsBatch: true,
  },
  242: {
    severity: 16,
    state: 3,
    text: 'The conversion of a varchar data type to a datetime data type resulted in an out-of-range value.',
    abortsBatch: true,
  },
  248: {
    severity: 16,
    state: 1,
    text: "The conversion of the %s value '%s' overflowed an %s column.",
    abortsBatch: true,
  },
  245: {
    severity: 16,
    state: 1,
    text: "Conversion failed when converting the %s value '%s' to data type %s.",
    abortsBatch: true,
  },
  263: { severity: 16, state: 1, text: 'Must specify table to select from.', abortsBatch: true },
  264: {
    severity: 16,
    state: 1,
    text: "The column name '%s' is specified more than once in the SET clause or column list of an INSERT. A column cannot be assigned more than one value in the same clause. Modify the clause to make sure that a column is updated only once. If this statement updates or inserts columns into a view, column aliasing can conceal the duplication in your code.",
    abortsBatch: true,
  },
  272: { severity: 16, state: 1, text: 'Cannot update a timestamp column.', abortsBatch: true },
  273: {
    severity: 16,
    state: 1,
    text: 'Cannot insert an explicit value into a timestamp column. Use INSERT with a column list to exclude the timestamp column, or insert a DEFAULT into the timestamp column.',
    abortsBatch: true,
  },
  321: { severity: 15, state: 1, text: '"%s" is not a recognized table hints option.', abortsBatch: true },
  402: {
    severity: 16,
    state: 1,
    text: 'The data types %s and %s are incompatible in the %s operator.',
    abortsBatch: true,
  },
  512: {
    severity: 16,
    state: 1,
    text: 'Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.',
  },
  517: { severity: 16, state: 1, text: "Adding a value to a '%s' column caused an overflow.", abortsBatch: true },
  535: {
    severity: 16,
    state: 0,
    text: 'The %s function resulted in an overflow. The number of dateparts separating two date/time instances is too large. Try to use datediff with a less precise datepart.',
    abortsBatch: true,
  },
  537: {
    severity: 16,
    state: 3,
    text: 'Invalid length parameter passed to the LEFT or SUBSTRING function.',
    abortsBatch: true,
  },
  289: {
    severity: 16,
    state: 1,
    text: 'Cannot construct data type date, some of the arguments have values which are not valid.',
    abortsBatch: true,
  },
  515: {
    severity: 16,
    state: 2,
    text: "Cannot insert the value NULL into column '%s', table '%s'; column does not allow nulls. %s fails.",
  },
  529: {
    severity: 16,
    state: 2,
    text: 'Explicit conversion from data type %s to %s is not allowed.',
    abortsBatch: true,
  },
  544: {
    severity: 16,
    state: 1,
    text: "Cannot insert explicit value for identity column in table '%s' when IDENTITY_INSERT is set to OFF.",
  },
  650: {
    severity: 16,
    state: 1,
    text: 'You can only specify the READPAST lock in the READ COMMITTED or REPEATABLE READ isolation levels.',
    abortsBatch: true,
  },
  911: {
    severity: 16,
    state: 1,
    text: "Database '%s' does not exist. Make sure that the name is entered correctly.",
    abortsBatch: true,
  },
  916: {
    severity: 14,
    state: 1,
    text: 'The server principal "%s" is not able to access the database "%s" under the current security context.',
    abortsBatch: true,
  },
  1007: {
    severity: 15,
    state: 1,
    text: "The number '%s' is out of the range for numeric representation (maximum precision 38).",
    abortsBatch: true,
  },
  1038: {
    severity: 15,
    state: 5,
    text: 'An object or column name is missing or empty. For SELECT INTO statements, verify each column has a name. For other statements, look for empty alias names. Aliases defined as "" or [] are not allowed. Change the alias to a valid name.',
    abortsBatch: true,
  },
  1060: {
    severity: 15,
    state: 1,
    text: 'The number of rows provided for a TOP or FETCH clauses row count parameter must be an integer.',
  },
  1205: {
    severity: 13,
    state: 51,
    text: 'Transaction (Process ID %s) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
    abortsBatch: true,
    rollsBack: true,
  },
  1222: { severity: 16, state: 45, text: 'Lock request time out period exceeded.' },
  1505: {
    severity: 16,
    state: 1,
    text: "The CREATE UNIQUE INDEX statement terminated because a duplicate key was found for the object name '%s' and the index name '%s'. The duplicate key value is (%s).",
  },
  1750: { severity: 16, state: 0, text: 'Could not create constraint or index. See previous errors.' },
  1911: { severity: 16, state: 1, text: "Column name '%s' does not exist in the target table or view." },
  1913: {
    severity: 16,
    state: 1,
    text: "The operation failed because an index or statistics with name '%s' already exists on table '%s'.",
  },
  2601: {
    severity: 14,
    state: 1,
    text: "Cannot insert duplicate key row in object '%s' with unique index '%s'. The duplicate key value is (%s).",
  },
  2627: {
    severity: 14,
    state: 1,
    text: "Violation of PRIMARY KEY constraint '%s'. Cannot insert duplicate key in object '%s'. The duplicate key value is (%s).",
  },
  2628: {
    severity: 16,
    state: 1,
    text: "String or binary data would be truncated in table '%s', column '%s'. Truncated value: '%s'.",
  },
  2705: {
    severity: 16,
    state: 4,
    text: "Column names in each table must be unique. Column name '%s' in table '%s' is specified more than once.",
  },
  2715: {
    severity: 16,
    state: 6,
    text: 'Column, parameter, or variable #1: Cannot find data type %s.',
    abortsBatch: true,
  },
  2714: { severity: 16, state: 6, text: "There is already an object named '%s' in the database." },
  2812: { severity: 16, state: 62, text: "Could not find stored procedure '%s'." },
  3701: {
    severity: 11,
    state: 5,
    text: "Cannot drop the %s '%s', because it does not exist or you do not have permission.",
  },
  3902: { severity: 16, state: 1, text: 'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.' },
  3903: { severity: 16, state: 1, text: 'The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.' },
  3930: {
    severity: 16,
    state: 1,
    text: 'The current transaction cannot be committed and cannot support operations that write to the log file. Roll back the transaction.',
  },
  3998: {
    severity: 16,
    state: 1,
    text: 'Uncommittable transaction is detected at the end of the batch. The transaction is rolled back.',
  },
  3952: {
    severity: 16,
    state: 1,
    text: "Snapshot isolation transaction failed accessing database '%s' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.",
    abortsBatch: true,
  },
  3960: {
    severity: 16,
    state: 2,
    text: "Snapshot isolation transaction aborted due to update conflict. You cannot use snapshot isolation to access table '%s' directly or indirectly in database '%s' to update, delete, or insert the row that has been modified or deleted by another transaction. Retry the transaction or change the isolation level for the update/delete statement.",
    abortsBatch: true,
    rollsBack: true,
  },
  4060: { severity: 11, state: 1, text: 'Cannot open database "%s" requested by the login. The login failed.' },
  4104: { severity: 16, state: 1, text: 'The multi-part identifier "%s" could not be bound.', abortsBatch: true },
  4108: {
    severity: 15,
    state: 1,
    text: 'Windowed functions can only appear in the SELECT or ORDER BY clauses.',
    abortsBatch: true,
  },
  4112: {
    severity: 15,
    state: 1,
    text: "The function '%s' must have an OVER clause with ORDER BY.",
    abortsBatch: true,
  },
  4121: {
    severity: 16,
    state: 1,
    text: 'Cannot find either column "%s" or the user-defined function or aggregate "%s", or the name is ambiguous.',
    abortsBatch: true,
  },
  4145: {
    severity: 15,
    state: 1,
    text: "An expression of non-boolean type specified in a context where a condition is expected, near '%s'.",
    abortsBatch: true,
  },
  4902: {
    severity: 16,
    state: 1,
    text: 'Cannot find the object "%s" because it does not exist or you do not have permissions.',
  },
  4924: {
    severity: 16,
    state: 1,
    text: "ALTER TABLE ALTER COLUMN failed because column '%s' does not exist in table '%s'.",
  },
  4926: {
    severity: 16,
    state: 1,
    text: "ALTER TABLE ALTER COLUMN DROP failed because column '%s' does not exist in table '%s'.",
  },
  5074: { severity: 16, state: 1, text: "The %s '%s' is dependent on column '%s'." },
  8158: {
    severity: 16,
    state: 1,
    text: "'%s' has more columns than were specified in the column list.",
    abortsBatch: true,
  },
  8154: { severity: 16, state: 1, text: "The table '%s' is ambiguous.", abortsBatch: true },
  8155: { severity: 16, state: 2, text: "No column name was specified for column %s of '%s'.", abortsBatch: true },
  8101: {
    severity: 16,
    state: 1,
    text: "An explicit value for the identity column in table '%s' can only be specified when a column list is used and IDENTITY_INSERT is ON.",
  },
  8102: { severity: 16, state: 1, text: "Cannot update identity column '%s'.", abortsBatch: true },
  8111: {
    severity: 16,
    state: 1,
    text: "Cannot define PRIMARY KEY constraint on nullable column in table '%s'.",
  },
  8114: { severity: 16, state: 5, text: 'Error converting data type %s to %s.', abortsBatch: true },
  8115: { severity: 16, state: 2, text: 'Arithmetic overflow error converting %s to data type %s.', abortsBatch: true },
  8116: {
    severity: 16,
    state: 1,
    text: 'Argument data type %s is invalid for argument %s of %s function.',
    abortsBatch: true,
  },
  8117: { severity: 16, state: 1, text: 'Operand data type %s is invalid for %s operator.', abortsBatch: true },
  8120: {
    severity: 16,
    state: 1,
    text: "Column '%s' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.",
    abortsBatch: true,
  },
  8134: { severity: 16, state: 1, text: 'Divide by zero error encountered.', abortsBatch: true },
  8144: { severity: 16, state: 2, text: 'Procedure or function %s has too many arguments specified.' },
  8169: {
    severity: 16,
    state: 2,
    text: 'Conversion failed when converting from a character string to uniqueidentifier.',
    abortsBatch: true,
  },
  8178: {
    severity: 16,
    state: 1,
    text: "The parameterized query '%s' expects the parameter '%s', which was not supplied.",
  },
  10704: {
    severity: 15,
    state: 1,
    text: 'To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW statement inside a CATCH block, or add error parameters to the THROW statement.',
    abortsBatch: true,
  },
  10742: { severity: 16, state: 1, text: 'The offset specified in a OFFSET clause may not be negative.' },
  10744: {
    severity: 16,
    state: 1,
    text: 'The number of rows provided for a FETCH clause must be greater then zero.',
  },
  1779: { severity: 16, state: 0, text: "Table '%s' already has a primary key defined on it." },
  1902: {
    severity: 16,
    state: 3,
    text: "Cannot create more than one clustered index on table '%s'. Drop the existing clustered index '%s' before creating another.",
  },
  2738: {
    severity: 16,
    state: 2,
    text: 'A table can only have one timestamp column. Because table already has one, the column cannot be added.',
  },
  2744: {
    severity: 16,
    state: 2,
    text: "Multiple identity columns specified for table '%s'. Only one identity column per table is allowed.",
  },
  2749: {
    severity: 16,
    state: 2,
    text: "Identity column '%s' must be of data type int, bigint, smallint, tinyint, or decimal or numeric with a scale of 0, unique identifier, and constrained to be nonnullable.",
  },
  2760: {
    severity: 16,
    state: 1,
    text: 'The specified schema name "%s" either does not exist or you do not have permission to use it.',
  },
  3723: {
    severity: 16,
    state: 4,
    text: "An explicit DROP INDEX is not allowed on index '%s'. It is being used for %s constraint enforcement.",
  },
  3728: { severity: 16, state: 1, text: "'%s' is not a constraint." },
  4701: {
    severity: 16,
    state: 1,
    text: 'Cannot find the object "%s" because it does not exist or you do not have permissions.',
  },
  4901: {
    severity: 16,
    state: 1,
    text: "ALTER TABLE only allows columns to be added that can contain nulls, or have a DEFAULT definition specified, or the column being added is an identity or timestamp column, or alternatively if none of the previous conditions are satisfied the table must be empty to allow addition of this column. Column '%s' cannot be added to non-empty table '%s' because it does not satisfy these conditions.",
  },
  4923: {
    severity: 16,
    state: 1,
    text: "ALTER TABLE DROP COLUMN failed because '%s' is the only data column in table '%s'. A table must have at least one data column.",
  },
  8110: { severity: 16, state: 0, text: "Cannot add multiple PRIMARY KEY constraints to table '%s'." },
  117: {
    severity: 15,
    state: 1,
    text: "The object name '%s' contains more than the maximum number of prefixes. The maximum is 3.",
    abortsBatch: true,
  },
  214: { severity: 16, state: 2, text: "Procedure expects parameter '%s' of type 'ntext/nchar/nvarchar'." },
  239: {
    severity: 16,
    state: 1,
    text: "Duplicate common table expression name '%s' was specified.",
    abortsBatch: true,
  },
  262: { severity: 14, state: 1, text: "%s permission denied in database '%s'." },
  628: { severity: 16, state: 0, text: 'Cannot issue SAVE TRANSACTION when there is no active transaction.' },
  6401: { severity: 16, state: 1, text: 'Cannot roll back %s. No transaction or savepoint of that name was found.' },
  1801: { severity: 16, state: 3, text: "Database '%s' already exists. Choose a different database name." },
  3702: { severity: 16, state: 4, text: 'Cannot drop database "%s" because it is currently in use.' },
  5011: {
    severity: 14,
    state: 5,
    text: "User does not have permission to alter database '%s', the database does not exist, or the database is not in a state that allows access checks.",
  },
  8106: {
    severity: 16,
    state: 1,
    text: "Table '%s' does not have the identity property. Cannot perform SET operation.",
  },
  8107: {
    severity: 16,
    state: 1,
    text: "IDENTITY_INSERT is already ON for table '%s'. Cannot perform SET operation for table.",
  },
  35100: {
    severity: 16,
    state: 10,
    text: 'Error number in THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647.',
    abortsBatch: true,
  },
  18456: { severity: 14, state: 1, text: "Login failed for user '%s'." },
  40517: {
    severity: 16,
    state: 1,
    text: "Keyword or statement option '%s' is not supported in this version of SQL Server.",
    abortsBatch: true,
  },
};

/** A SqlError raised inside the engine, with SQL Server's reaction to it. */
export class EngineError extends Error {
  constructor(
    readonly sqlError: SqlError,
    readonly abortsBatch: boolean,
    readonly rollsBack: boolean,
  ) {
    super(sqlError.message);
    this.name = 'EngineError';
  }
}

/** Builds the EngineError for `number`, substituting `args` for the `%s` placeholders in order. */
export function sqlError(number: number, ...args: (string | number)[]): EngineError {
  const spec = ERRORS[number];
  if (!spec) throw new Error(`unknown SQL error number ${number}`);
  let i = 0;
  const text = spec.text.replace(/%s/g, () => String(args[i++] ?? ''));
  return new EngineError(
    new SqlError(number, spec.severity, spec.state, text),
    spec.abortsBatch ?? false,
    spec.rollsBack ?? false,
  );
}

/** "Incorrect syntax near …", choosing 156 for keywords as SQL Server does. */
export function syntaxError(near: string, isKeyword: boolean): EngineError {
  return isKeyword ? sqlError(156, near.toUpperCase()) : sqlError(102, near);
}

/** Something T-SQL has but the simulator does not implement: fail loudly rather than answer wrongly. */
export function unsupported(feature: string): EngineError {
  return sqlError(40517, feature);
}
