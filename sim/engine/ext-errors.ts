/**
 * Errors raised by the part 2 extensions (CDC, Change Tracking, security, replicas). Kept apart from
 * errors.ts so the extensions add no churn to the engine's table. Numbers, severities and states follow SQL
 * Server 2019 (brief §A–E, errors-events pages); texts are SQL Server's where documented.
 */
import { SqlError } from './api.js';
import { EngineError } from './errors.js';

interface Spec {
  severity: number;
  state: number;
  text: string;
  abortsBatch?: boolean;
}

const EXT_ERRORS: Record<number, Spec> = {
  208: { severity: 16, state: 1, text: "Invalid object name '%s'.", abortsBatch: true },
  229: { severity: 14, state: 5, text: "The %s permission was denied on the object '%s', database '%s', schema '%s'." },
  230: {
    severity: 14,
    state: 1,
    text: "The SELECT permission was denied on the column '%s' of the object '%s', database '%s', schema '%s'.",
  },
  262: { severity: 14, state: 1, text: "%s permission denied in database '%s'." },
  297: { severity: 16, state: 1, text: 'The user does not have permission to perform this action.' },
  313: {
    severity: 16,
    state: 3,
    text: 'An insufficient number of arguments were supplied for the procedure or function %s.',
  },
  // 976, 982, 983: AlwaysOn states (SQL Server 2019 "Database engine events and errors (0 to 999)").
  976: {
    severity: 14,
    state: 1,
    text: "The target database, '%s', is participating in an availability group and is currently not accessible for queries. Either data movement is suspended or the availability replica is not enabled for read access. To allow read-only access to this and other databases in the availability group, enable read access to one or more secondary availability replicas in the group. For more information, see the ALTER AVAILABILITY GROUP statement in SQL Server Books Online.",
  },
  982: {
    severity: 14,
    state: 1,
    text: "Unable to access the '%s' database because no online secondary replicas are enabled for read-only access. Check the availability group configuration to verify that at least one secondary replica is configured for read-only access. Wait for an enabled replica to come online, and retry your read-only operation.",
  },
  983: {
    severity: 14,
    state: 1,
    text: "Unable to access availability database '%s' because the database replica is not in the PRIMARY or SECONDARY role. Connections to an availability database is permitted only when the database replica is in the PRIMARY or SECONDARY role. Try the operation again later.",
  },
  978: {
    severity: 14,
    state: 1,
    text: "The target database ('%s') is in an availability group and is currently accessible for connections when the application intent is set to read only. For more information about application intent, see SQL Server Books Online.",
  },
  3906: {
    severity: 16,
    state: 1,
    text: 'Failed to update database "%s" because the database is read-only.',
  },
  3952: {
    severity: 16,
    state: 1,
    text: "Snapshot isolation transaction failed accessing database '%s' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.",
  },
  4996: {
    severity: 16,
    state: 1,
    text: "Change tracking is already enabled for table '%s'.",
  },
  4997: {
    severity: 16,
    state: 1,
    text: "Cannot enable change tracking on table '%s'. Change tracking requires a primary key on the table. Create a primary key on the table before enabling change tracking.",
  },
  4998: { severity: 16, state: 1, text: "Change tracking is not enabled on table '%s'." },
  4999: {
    severity: 16,
    state: 1,
    text: "Cannot enable change tracking on table '%s'. Change tracking does not support a primary key of type timestamp on a table.",
  },
  5088: {
    severity: 16,
    state: 1,
    text: "Change tracking is already enabled for database '%s'.",
  },
  15151: {
    severity: 16,
    state: 1,
    text: "Cannot %s the %s '%s', because it does not exist or you do not have permission.",
  },
  15023: { severity: 16, state: 1, text: "User, group, or role '%s' already exists in the current database." },
  15025: { severity: 16, state: 1, text: "The server principal '%s' already exists." },
  15007: { severity: 16, state: 1, text: "'%s' is not a valid login or you do not have permission." },
  // Number is an assumption: no source gives the message of ENABLE CHANGE_TRACKING on a database without it.
  22100: {
    severity: 16,
    state: 1,
    text: "Cannot enable change tracking on table '%s'. Change tracking must be enabled on database '%s' before it can be enabled on a table.",
  },
  22104: { severity: 16, state: 1, text: 'A table returned by the CHANGETABLE function must be aliased.' },
  22105: { severity: 16, state: 1, text: "Change tracking is not enabled on table '%s'." },
  22115: {
    severity: 16,
    state: 1,
    text: "Change tracking is enabled for one or more tables in database '%s'. Disable change tracking on each table before disabling it for the database. Use the sys.change_tracking_tables catalog view to obtain a list of tables for which change tracking is enabled.",
  },
  22117: {
    severity: 16,
    state: 1,
    text: 'For databases that are members of a secondary availability replica, change tracking is not supported. Run change tracking queries on the databases in the primary availability replica.',
  },
  22901: {
    severity: 16,
    state: 1,
    text: "The database '%s' is not enabled for Change Data Capture. Ensure that the correct database context is set and retry the operation. To report on the databases enabled for Change Data Capture, query the is_cdc_enabled column in the sys.databases catalog view.",
  },
  22902: {
    severity: 16,
    state: 1,
    text: 'Caller is not authorized to initiate the requested action. Sysadmin privileges are required.',
  },
  22904: {
    severity: 16,
    state: 1,
    text: 'Caller is not authorized to initiate the requested action. DBO privileges are required.',
  },
  22905: { severity: 10, state: 1, text: "Database '%s' is already enabled for Change Data Capture." },
  22906: {
    severity: 16,
    state: 1,
    text: "The database '%s' cannot be enabled for Change Data Capture because a database user named 'cdc' or a schema named 'cdc' already exists in the current database. These objects are required exclusively by Change Data Capture. Drop or rename the user or schema and retry the operation.",
  },
  22907: {
    severity: 16,
    state: 1,
    text: 'Parameter @role_name cannot be empty. Specify a value for @role_name that is not empty, or explicitly set the value to NULL if no gating role is to be used.',
  },
  22926: {
    severity: 16,
    state: 1,
    text: "Could not create a capture instance because the capture instance name '%s' already exists in the current database. Specify an explicit unique name for the parameter @capture_instance.",
  },
  22927: {
    severity: 16,
    state: 1,
    text: "The length of the capture instance name '%s' exceeds the maximum length of 100 characters. Specify a shorter name for the parameter @capture_instance.",
  },
  22931: {
    severity: 16,
    state: 1,
    text: "Source table '%s' does not exist in the current database. Ensure that the correct database context is set. Specify a valid schema and table name for the database.",
  },
  22939: {
    severity: 16,
    state: 1,
    text: 'The parameter @supports_net_changes is set to 1, but the source table does not have a primary key defined and no alternate unique index has been specified.',
  },
  22943: {
    severity: 16,
    state: 1,
    text: "The capture instance '%s' cannot be created because the index column '%s' is not in the captured column list. Specify a captured column list that includes all index columns.",
  },
  22945: {
    severity: 16,
    state: 1,
    text: "Could not create a capture instance because the column '%s' specified in the captured column list does not exist in source table '%s'.",
  },
  22962: {
    severity: 16,
    state: 1,
    text: "Two capture instances already exist for source table '%s'. A table can have at most two capture instances. If the current tracking options are not appropriate, disable change tracking for the obsolete instance by using sys.sp_cdc_disable_table and retry the operation.",
  },
  22989: {
    severity: 16,
    state: 1,
    text: "Could not enable Change Data Capture for database '%s'. Change data capture is not supported on system databases, or on a distribution database.",
  },
  22974: {
    severity: 16,
    state: 1,
    text: "Could not create a capture instance because the source table '%s' is in the 'cdc' schema. Change data capture does not support capturing tables in the cdc schema.",
  },
  22975: {
    severity: 16,
    state: 1,
    text: "The source table '%s' contains a column named with a reserved change data capture name ('%s'). Specify a captured column list that excludes this column.",
  },
  // State is an assumption (the errors page gives severity 16 and the text).
  22976: {
    severity: 16,
    state: 1,
    text: "Could not alter column '%s' of change table '%s' in response to a data type change in the corresponding column of the source table '%s'. The Change Data Capture meta data for source table '%s' no longer accurately reflects the source table. Refer to previous errors in the current session to identify the cause and correct any associated problems.",
  },
  22928: {
    severity: 16,
    state: 1,
    text: "Index name '%s' is not an index for table '%s'. Specify a valid index name for the table.",
  },
  22929: {
    severity: 16,
    state: 1,
    text: "Index '%s' is not a unique index. Specify a unique index to use as the row identifier.",
  },
  22958: {
    severity: 16,
    state: 1,
    text: "Could not disable Change Data Capture for capture instance '%s' because it does not exist for source table '%s'. Specify a valid capture instance name.",
  },
  22960: {
    severity: 16,
    state: 1,
    text: "The capture instance '%s' does not exist in the current database.",
  },
};

/** The EngineError for a part 2 error number, `%s` placeholders filled in order. */
export function extError(number: number, ...args: (string | number)[]): EngineError {
  const spec = EXT_ERRORS[number];
  if (!spec) throw new Error(`unknown extension error ${number}`);
  let i = 0;
  const text = spec.text.replace(/%s/g, () => String(args[i++] ?? ''));
  return new EngineError(new SqlError(number, spec.severity, spec.state, text), spec.abortsBatch ?? false, false);
}

/** An informational message (severity ≤ 10) as an ExecEvent payload. */
export function extInfo(number: number, ...args: (string | number)[]): SqlError {
  return extError(number, ...args).sqlError;
}
