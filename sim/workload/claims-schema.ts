/**
 * The claims workload's tables, one per capture strategy, named as in `tidemark.example.yaml`:
 * dbo.Claims and dbo.ClaimLines (CDC), dbo.Providers (Change Tracking), dbo.ClaimPayments (rowversion),
 * dbo.ProviderNotes (updated_at), dbo.EligibilityChecks (identity only).
 */

/** DDL per table, in creation order. */
export const CLAIMS_TABLES: { name: string; ddl: string; indexes?: string[] }[] = [
  {
    name: 'Claims',
    ddl: `CREATE TABLE dbo.Claims (
  ClaimId bigint IDENTITY(1,1) NOT NULL CONSTRAINT PK_Claims PRIMARY KEY,
  ClaimNumber varchar(20) NOT NULL,
  MemberId varchar(20) NOT NULL,
  PatientName nvarchar(100) NOT NULL,
  PatientDateOfBirth date NOT NULL,
  ProviderId int NOT NULL,
  ServiceDate date NOT NULL,
  SubmittedAt datetimeoffset(7) NOT NULL,
  ClaimStatus varchar(12) NOT NULL,
  TotalBilled decimal(19,4) NOT NULL,
  TotalPaid decimal(19,4) NOT NULL,
  CreatedAt datetime2(7) NOT NULL,
  UpdatedAt datetime2(7) NOT NULL
)`,
  },
  {
    name: 'ClaimLines',
    ddl: `CREATE TABLE dbo.ClaimLines (
  ClaimId bigint NOT NULL,
  LineNumber int NOT NULL,
  ServiceDate date NOT NULL,
  ProcedureCode varchar(10) NOT NULL,
  Modifier1 char(2) NULL,
  Modifier2 char(2) NULL,
  DiagnosisCode1 varchar(10) NOT NULL,
  DiagnosisCode2 varchar(10) NULL,
  RevenueCode char(4) NOT NULL,
  PlaceOfService char(2) NOT NULL,
  Units decimal(9,2) NOT NULL,
  BilledAmount decimal(19,4) NOT NULL,
  AllowedAmount decimal(19,4) NOT NULL,
  PaidAmount decimal(19,4) NOT NULL,
  CopayAmount decimal(19,4) NOT NULL,
  CoinsuranceAmount decimal(19,4) NOT NULL,
  DeductibleAmount decimal(19,4) NOT NULL,
  RenderingNpi varchar(10) NOT NULL,
  LineStatus tinyint NOT NULL,
  IsAdjusted bit NOT NULL,
  AdjustmentReason nvarchar(200) NULL,
  PricingVersion smallint NOT NULL,
  LineGuid uniqueidentifier NOT NULL,
  ReceivedAt datetimeoffset(7) NOT NULL,
  RemittanceTrace varbinary(64) NULL,
  CreatedAt datetime2(7) NOT NULL,
  UpdatedAt datetime2(7) NOT NULL,
  CONSTRAINT PK_ClaimLines PRIMARY KEY (ClaimId, LineNumber)
)`,
  },
  {
    name: 'Providers',
    ddl: `CREATE TABLE dbo.Providers (
  ProviderId int NOT NULL CONSTRAINT PK_Providers PRIMARY KEY,
  Npi varchar(10) NOT NULL,
  ProviderName nvarchar(200) NOT NULL,
  Specialty nvarchar(100) NOT NULL,
  StateCode char(2) NOT NULL,
  IsActive bit NOT NULL,
  UpdatedAt datetime2(7) NOT NULL
)`,
  },
  {
    name: 'ClaimPayments',
    ddl: `CREATE TABLE dbo.ClaimPayments (
  PaymentId bigint IDENTITY(1,1) NOT NULL CONSTRAINT PK_ClaimPayments PRIMARY KEY,
  ClaimId bigint NOT NULL,
  PaidDate date NOT NULL,
  Amount decimal(19,4) NOT NULL,
  PaymentMethod varchar(10) NOT NULL,
  RowVer rowversion NOT NULL
)`,
    indexes: ['CREATE INDEX IX_ClaimPayments_RowVer ON dbo.ClaimPayments (RowVer)'],
  },
  {
    name: 'ProviderNotes',
    ddl: `CREATE TABLE dbo.ProviderNotes (
  NoteId bigint IDENTITY(1,1) NOT NULL CONSTRAINT PK_ProviderNotes PRIMARY KEY,
  ProviderId int NOT NULL,
  NoteText nvarchar(1000) NOT NULL,
  UpdatedAt datetime2(7) NOT NULL
)`,
    indexes: ['CREATE INDEX IX_ProviderNotes_UpdatedAt ON dbo.ProviderNotes (UpdatedAt)'],
  },
  {
    name: 'EligibilityChecks',
    ddl: `CREATE TABLE dbo.EligibilityChecks (
  EligibilityCheckId bigint IDENTITY(1,1) NOT NULL CONSTRAINT PK_EligibilityChecks PRIMARY KEY,
  MemberId varchar(20) NOT NULL,
  PayerId int NOT NULL,
  CheckedAt datetime2(7) NOT NULL,
  Result varchar(10) NOT NULL
)`,
  },
];

/** Columns ClaimLines gains over the run (each followed by a new capture instance, as a DBA would). */
export const CLAIM_LINES_ADDED_COLUMNS = [
  { name: 'NetworkTier', type: 'nvarchar(20) NULL' },
  { name: 'PriorAuthNumber', type: 'varchar(20) NULL' },
];

/** The type widening the workload applies (ClaimLines.PricingVersion smallint → int). */
export const CLAIM_LINES_WIDENING = { column: 'PricingVersion', from: 'smallint', to: 'int NOT NULL' };
