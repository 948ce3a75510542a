/**
 * TDS 7.4 protocol constants. Section numbers refer to [MS-TDS] (Tabular Data Stream Protocol,
 * https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/).
 */

// ---------------------------------------------------------------------------------------------
// Packets (2.2.3.1 Packet Header)

/** Length of the packet header: Type, Status, Length (u16 BE), SPID (u16 BE), PacketID, Window. 2.2.3.1 */
export const PACKET_HEADER_LENGTH = 8;

/** Packet types (2.2.3.1.1). */
export const PACKET_TYPE = {
  SQL_BATCH: 0x01,
  RPC_REQUEST: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  BULK_LOAD: 0x07,
  FEDAUTH_TOKEN: 0x08,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  SSPI: 0x11,
  PRELOGIN: 0x12,
} as const;

/** Packet status bits (2.2.3.1.2). */
export const PACKET_STATUS = {
  NORMAL: 0x00,
  EOM: 0x01,
  IGNORE: 0x02,
  RESETCONNECTION: 0x08,
  RESETCONNECTIONSKIPTRAN: 0x10,
} as const;

/** Packet size bounds accepted in LOGIN7 / ENVCHANGE packet size (2.2.6.4 PacketSize, 2.2.7.9). */
export const MIN_PACKET_SIZE = 512;
export const MAX_PACKET_SIZE = 32767;
/** Packet size used before LOGIN7 negotiates one (2.2.6.4: "default 4096"). */
export const DEFAULT_PACKET_SIZE = 4096;

// ---------------------------------------------------------------------------------------------
// PRELOGIN (2.2.6.5)

/** PRELOGIN option tokens (2.2.6.5). */
export const PRELOGIN_OPTION = {
  VERSION: 0x00,
  ENCRYPTION: 0x01,
  INSTOPT: 0x02,
  THREADID: 0x03,
  MARS: 0x04,
  TRACEID: 0x05,
  FEDAUTHREQUIRED: 0x06,
  NONCEOPT: 0x07,
  TERMINATOR: 0xff,
} as const;

/** PRELOGIN ENCRYPTION option values (2.2.6.5). */
export const ENCRYPT = {
  OFF: 0x00,
  ON: 0x01,
  NOT_SUP: 0x02,
  REQ: 0x03,
} as const;

// ---------------------------------------------------------------------------------------------
// LOGIN7 (2.2.6.4)

/** Length of the LOGIN7 fixed part up to and including cbSSPILong (2.2.6.4). */
export const LOGIN7_FIXED_LENGTH = 94;
/** TDS 7.4 as carried in LOGIN7 (little-endian) and LOGINACK (big-endian) (2.2.6.4, 2.2.7.14). */
export const TDS_VERSION_7_4 = 0x74000004;
/** LOGIN7 TypeFlags: fReadOnlyIntent (2.2.6.4). */
export const TYPE_FLAGS_READ_ONLY_INTENT = 0x20;
/** LOGIN7 OptionFlags1: fDatabase = INIT_DB_FATAL (2.2.6.4). */
export const OPTION_FLAGS1_INIT_DB_FATAL = 0x40;
/** LOGIN7 OptionFlags3: fExtension (2.2.6.4). */
export const OPTION_FLAGS3_EXTENSION = 0x10;
/** FeatureExt ids (2.2.6.4 FeatureExt). */
export const FEATURE_EXT = {
  SESSIONRECOVERY: 0x01,
  FEDAUTH: 0x02,
  COLUMNENCRYPTION: 0x04,
  GLOBALTRANSACTIONS: 0x05,
  AZURESQLSUPPORT: 0x08,
  DATACLASSIFICATION: 0x09,
  UTF8_SUPPORT: 0x0a,
  AZURESQLDNSCACHING: 0x0b,
  TERMINATOR: 0xff,
} as const;

// ---------------------------------------------------------------------------------------------
// Requests

/** ALL_HEADERS header types (2.2.5.3). */
export const ALL_HEADERS_TYPE = {
  QUERY_NOTIFICATIONS: 0x0001,
  TRANSACTION_DESCRIPTOR: 0x0002,
  TRACE_ACTIVITY: 0x0003,
} as const;

/** RPC ProcIDs of special stored procedures (2.2.6.6 RPC Request, ProcID). */
export const PROC_ID: Readonly<Record<number, string>> = {
  1: 'sp_cursor',
  2: 'sp_cursoropen',
  3: 'sp_cursorprepare',
  4: 'sp_cursorexecute',
  5: 'sp_cursorprepexec',
  6: 'sp_cursorunprepare',
  7: 'sp_cursorfetch',
  8: 'sp_cursoroption',
  9: 'sp_cursorclose',
  10: 'sp_executesql',
  11: 'sp_prepare',
  12: 'sp_execute',
  13: 'sp_prepexec',
  14: 'sp_prepexecrpc',
  15: 'sp_unprepare',
};

/** RPC parameter StatusFlags (2.2.6.6). */
export const RPC_PARAM_STATUS = {
  BY_REF_VALUE: 0x01,
  DEFAULT_VALUE: 0x02,
  ENCRYPTED: 0x08,
} as const;

/** Transaction Manager request types (2.2.6.9). */
export const TM_REQUEST = {
  GET_DTC_ADDRESS: 0,
  PROPAGATE_XACT: 1,
  BEGIN_XACT: 5,
  PROMOTE_XACT: 6,
  COMMIT_XACT: 7,
  ROLLBACK_XACT: 8,
  SAVE_XACT: 9,
} as const;

/** TM_COMMIT_XACT / TM_ROLLBACK_XACT fBeginXact flag (2.2.6.9). */
export const TM_FLAG_BEGIN_XACT = 0x01;

// ---------------------------------------------------------------------------------------------
// Tokens (2.2.7)

/** Token types (2.2.4.2, 2.2.7.x). */
export const TOKEN = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ORDER: 0xa9,
  ERROR: 0xaa,
  INFO: 0xab,
  RETURNVALUE: 0xac,
  LOGINACK: 0xad,
  FEATUREEXTACK: 0xae,
  ROW: 0xd1,
  NBCROW: 0xd2,
  ENVCHANGE: 0xe3,
  SSPI: 0xed,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;

/** DONE / DONEPROC / DONEINPROC status bits (2.2.7.6). */
export const DONE_STATUS = {
  FINAL: 0x0000,
  MORE: 0x0001,
  ERROR: 0x0002,
  INXACT: 0x0004,
  COUNT: 0x0010,
  ATTN: 0x0020,
  SRVERROR: 0x0100,
} as const;

/** ENVCHANGE types (2.2.7.9). */
export const ENVCHANGE_TYPE = {
  DATABASE: 1,
  LANGUAGE: 2,
  CHARSET: 3,
  PACKET_SIZE: 4,
  SQL_COLLATION: 7,
  BEGIN_TRANSACTION: 8,
  COMMIT_TRANSACTION: 9,
  ROLLBACK_TRANSACTION: 10,
  RESET_CONNECTION: 18,
  ROUTING: 20,
} as const;

/** LOGINACK Interface: SQL_TSQL (2.2.7.14). */
export const LOGINACK_INTERFACE_SQL_TSQL = 1;

/** COLMETADATA Flags bits (2.2.7.4). */
export const COLUMN_FLAGS = {
  NULLABLE: 0x0001,
  CASE_SENSITIVE: 0x0002,
  UPDATEABLE_READ_ONLY: 0x0000,
  UPDATEABLE_READ_WRITE: 0x0004,
  UPDATEABLE_UNKNOWN: 0x0008,
  IDENTITY: 0x0010,
  COMPUTED: 0x0020,
} as const;

/** UserType SQL Server gives timestamp/rowversion columns (2.2.7.4 UserType; sys.types user_type_id 80). */
export const USER_TYPE_TIMESTAMP = 0x50;

// ---------------------------------------------------------------------------------------------
// Data types (2.2.5.4)

/** TYPE_INFO type ids (2.2.5.4.1 fixed-length, 2.2.5.4.2 variable-length). */
export const DATA_TYPE = {
  // 2.2.5.4.1 fixed-length
  NULL: 0x1f,
  INT1: 0x30,
  BIT: 0x32,
  INT2: 0x34,
  INT4: 0x38,
  DATETIM4: 0x3a,
  FLT4: 0x3b,
  MONEY: 0x3c,
  DATETIME: 0x3d,
  FLT8: 0x3e,
  MONEY4: 0x7a,
  INT8: 0x7f,
  // 2.2.5.4.2 variable-length
  GUID: 0x24,
  INTN: 0x26,
  DECIMAL: 0x37,
  NUMERIC: 0x3f,
  BITN: 0x68,
  DECIMALN: 0x6a,
  NUMERICN: 0x6c,
  FLTN: 0x6d,
  MONEYN: 0x6e,
  DATETIMN: 0x6f,
  DATEN: 0x28,
  TIMEN: 0x29,
  DATETIME2N: 0x2a,
  DATETIMEOFFSETN: 0x2b,
  CHAR: 0x2f,
  VARCHAR: 0x27,
  BINARY: 0x2d,
  VARBINARY: 0x25,
  BIGVARBINARY: 0xa5,
  BIGVARCHAR: 0xa7,
  BIGBINARY: 0xad,
  BIGCHAR: 0xaf,
  NVARCHAR: 0xe7,
  NCHAR: 0xef,
  XML: 0xf1,
  UDT: 0xf0,
  TEXT: 0x23,
  IMAGE: 0x22,
  NTEXT: 0x63,
  SSVARIANT: 0x62,
  TVP: 0xf3,
} as const;

/** USHORTLEN max length marking a (max) type sent as PLP (2.2.5.2.3). */
export const USHORT_MAX_LEN = 0xffff;
/** USHORTCHARBINLEN NULL marker for non-PLP variable-length values (2.2.5.2.3 / 2.2.4.2.1.3). */
export const CHARBIN_NULL = 0xffff;
/** PLP_NULL: ULONGLONG all ones (2.2.5.2.3). */
export const PLP_NULL = 0xffffffffffffffffn;
/** UNKNOWN_PLP_LEN (2.2.5.2.3). */
export const PLP_UNKNOWN_LEN = 0xfffffffffffffffen;

// ---------------------------------------------------------------------------------------------
// Server identity

/** SQL Server 2019 RTM version reported in PRELOGIN VERSION and LOGINACK ProgVersion: 15.0.2000. */
export const SERVER_VERSION = { major: 15, minor: 0, build: 2000, subbuild: 0 } as const;
/** LOGINACK ProgName SQL Server sends. */
export const SERVER_PROG_NAME = 'Microsoft SQL Server';
