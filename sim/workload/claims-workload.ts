/**
 * The claims workload: a seeded, rate-limited OLTP mix against the claims tables, over the `mssql` driver, so
 * it drives the simulator or a real SQL Server alike. It produces what makes extraction hard: late
 * re-pricing updates of rows up to 30 days old, rare deletes, long transactions that commit late (holding
 * lower identity and rowversion values than later commits), updated_at stamps in the past (clock skew), column
 * additions followed by a new capture instance, and a type widening.
 *
 * Library use (tests): `const w = new ClaimsWorkload(pool, { seed: 7 }); await w.setup(); await w.run({
 * operations: 500 }); await w.drain();` then read the source tables for the truth, or `w.log` for what was
 * done. CLI: `npm run sim:workload -- --help`.
 */
import sql from 'mssql';
import { prng } from '../seed.js';
import { CLAIMS_TABLES, CLAIM_LINES_ADDED_COLUMNS, CLAIM_LINES_WIDENING } from './claims-schema.js';

/** Relative weights of the operations. */
export interface WorkloadMix {
  insertClaim: number;
  updateClaim: number;
  repriceLine: number;
  deleteClaim: number;
  upsertProvider: number;
  payment: number;
  note: number;
  eligibility: number;
  longTransaction: number;
}

export const DEFAULT_MIX: WorkloadMix = {
  insertClaim: 30,
  updateClaim: 12,
  repriceLine: 12,
  deleteClaim: 0.01,
  upsertProvider: 6,
  payment: 15,
  note: 8,
  eligibility: 15,
  longTransaction: 2,
};

export interface ClaimsWorkloadOptions {
  seed: number;
  /** Operations per second (default 50); 0 = as fast as possible. */
  rate?: number;
  mix?: Partial<WorkloadMix>;
  /** How long a long transaction stays open before it commits (default 3000 ms). */
  longTransactionMs?: number;
  /** Probability that a ProviderNotes write stamps UpdatedAt in the past (default 0.02). */
  skewProbability?: number;
  /** How far in the past a skewed stamp lies (default 10 minutes). */
  skewMs?: number;
  /** Operation numbers at which ClaimLines gains a column (+ a new capture instance). Default [200, 600]. */
  addColumnAt?: number[];
  /** Operation number of the type widening (default 400). */
  widenAt?: number;
  /**
   * The extractor's database user, granted what its strategies need beyond db_datareader (VIEW CHANGE TRACKING
   * on dbo.Providers), when it exists. Default `tidemark_extractor`; null grants nothing.
   */
  extractorUser?: string | null;
  /** Enable CDC / Change Tracking in setup (defaults true; needs sysadmin / db_owner). */
  enableCdc?: boolean;
  enableChangeTracking?: boolean;
  /**
   * Claims per statement (default 1) for claim inserts, claim updates and re-pricings, as a claims processor
   * lands claims in batches: above 1, an insert writes this many claims in one multi-row INSERT (their ids come
   * back by OUTPUT) and all their lines in a second one, in one transaction; a claim update is one UPDATE over
   * this many claims (`WHERE ClaimId IN (…)`); a re-pricing re-prices every line of this many claims in one
   * UPDATE (a fee-schedule change) and logs the lines it changed (`repriceClaims`, detail "N lines"). At 1 the
   * operations are the single-claim ones (one line re-priced). At most {@link MAX_CLAIMS_PER_STATEMENT}.
   */
  claimsPerStatement?: number;
}

/** SQL Server takes at most 1,000 rows in one VALUES list: 200 claims of up to 5 lines. */
export const MAX_CLAIMS_PER_STATEMENT = 200;

/** One thing the workload did, for tests and for the operator. Keys only, never row values. */
export interface WorkloadEvent {
  n: number;
  at: string;
  op: string;
  table: string;
  keys?: (string | number)[];
  detail?: string;
}

interface ClaimRef {
  claimId: number;
  lines: number;
  createdDaysAgo: number;
}

const PROCS = ['99213', '99214', '80053', '85025', '93000', '71046', '36415', 'J1885'];
const DIAGS = ['E11.9', 'I10', 'J06.9', 'M54.5', 'Z00.00', 'R51.9', 'K21.9'];
const STATES = ['TX', 'CA', 'NY', 'FL', 'IL', 'WA', 'GA'];
const SPECIALTIES = ['Cardiology', 'Family Medicine', 'Radiology', 'Oncology', 'Pediatrics'];
const NAMES = ['Avery Stone', 'Jordan Lee', 'Riley Chen', 'Casey Diaz', 'Morgan Patel', 'Taylor Brooks'];

const lit = (s: string): string => `N'${s.replace(/'/g, "''")}'`;
const money = (cents: number): string => (cents / 100).toFixed(2);

export class ClaimsWorkload {
  readonly log: WorkloadEvent[] = [];
  /** Problems the setup tolerated (e.g. a server without Change Tracking). */
  readonly warnings: string[] = [];
  private readonly rnd: () => number;
  private readonly opts: Required<Omit<ClaimsWorkloadOptions, 'mix'>> & { mix: WorkloadMix };
  private n = 0;
  private claims: ClaimRef[] = [];
  /** The claims created more than a day ago, in the order of {@link claims} (re-pricing picks among them). */
  private oldClaims: ClaimRef[] = [];
  private providers: number[] = [];
  private payments: number[] = [];
  private notes: number[] = [];
  private captureInstances: string[] = [];
  private addedColumns = 0;
  private widened = false;
  private inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly pool: sql.ConnectionPool,
    options: ClaimsWorkloadOptions,
  ) {
    this.rnd = prng(options.seed);
    this.opts = {
      seed: options.seed,
      rate: options.rate ?? 50,
      longTransactionMs: options.longTransactionMs ?? 3000,
      skewProbability: options.skewProbability ?? 0.02,
      skewMs: options.skewMs ?? 10 * 60_000,
      addColumnAt: options.addColumnAt ?? [200, 600],
      widenAt: options.widenAt ?? 400,
      enableCdc: options.enableCdc ?? true,
      enableChangeTracking: options.enableChangeTracking ?? true,
      extractorUser: options.extractorUser === undefined ? 'tidemark_extractor' : options.extractorUser,
      mix: { ...DEFAULT_MIX, ...options.mix },
      claimsPerStatement: options.claimsPerStatement ?? 1,
    };
    const n = this.opts.claimsPerStatement;
    if (!Number.isInteger(n) || n < 1 || n > MAX_CLAIMS_PER_STATEMENT)
      throw new Error(
        `claimsPerStatement must be a whole number from 1 to ${MAX_CLAIMS_PER_STATEMENT} (got ${String(n)}): SQL Server takes at most 1,000 rows (200 claims of up to 5 lines) in one INSERT … VALUES`,
      );
  }

  /** The capture instances of dbo.ClaimLines the workload created, oldest first. */
  get claimLinesCaptureInstances(): string[] {
    return this.captureInstances.slice();
  }

  // ------------------------------------------------------------------------------------------
  // Setup

  /** Creates the tables (those missing), enables CDC, Change Tracking and snapshot isolation, seeds providers. */
  async setup(): Promise<void> {
    const exists = async (name: string): Promise<boolean> => {
      const r = await this.pool.request().query(`SELECT OBJECT_ID(N'dbo.${name}') AS id`);
      return (r.recordset[0] as { id: number | null }).id !== null;
    };
    for (const t of CLAIMS_TABLES) {
      if (await exists(t.name)) continue;
      await this.pool.request().batch(t.ddl);
      for (const ix of t.indexes ?? []) await this.pool.request().batch(ix);
      this.event('createTable', t.name);
    }
    await this.tolerate('ALLOW_SNAPSHOT_ISOLATION', () =>
      this.pool
        .request()
        .batch(
          "DECLARE @db sysname = DB_NAME(); EXEC(N'ALTER DATABASE [' + @db + N'] SET ALLOW_SNAPSHOT_ISOLATION ON')",
        ),
    );
    if (this.opts.enableCdc) {
      await this.pool
        .request()
        .batch(
          `IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = DB_NAME() AND is_cdc_enabled = 1) EXEC sys.sp_cdc_enable_db`,
        );
      for (const [table, ci] of [
        ['Claims', 'dbo_Claims'],
        ['ClaimLines', 'dbo_ClaimLines'],
      ] as const) {
        const r = await this.pool
          .request()
          .query(`SELECT capture_instance FROM cdc.change_tables WHERE source_object_id = OBJECT_ID(N'dbo.${table}')`);
        const have = (r.recordset as { capture_instance: string }[]).map((x) => x.capture_instance);
        if (table === 'ClaimLines') this.captureInstances = have.sort();
        if (have.length) continue;
        await this.pool
          .request()
          .batch(
            `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${table}', @role_name = NULL, @capture_instance = N'${ci}', @supports_net_changes = 1`,
          );
        if (table === 'ClaimLines') this.captureInstances = [ci];
        this.event('enableCdc', table, [ci]);
      }
    }
    if (this.opts.enableChangeTracking) {
      await this.tolerate('Change Tracking', async () => {
        await this.pool
          .request()
          .batch(
            `IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID()) BEGIN DECLARE @db sysname = DB_NAME(); EXEC(N'ALTER DATABASE [' + @db + N'] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)') END`,
          );
        await this.pool
          .request()
          .batch(
            `IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'dbo.Providers')) ALTER TABLE dbo.Providers ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)`,
          );
        this.event('enableChangeTracking', 'Providers');
      });
    }
    const user = this.opts.extractorUser;
    if (user) {
      await this.tolerate(`grants to ${user}`, async () => {
        const u = user.replace(/]/g, ']]');
        await this.pool
          .request()
          .batch(
            `IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'${u.replace(/'/g, "''")}') BEGIN GRANT VIEW CHANGE TRACKING ON dbo.Providers TO [${u}]; GRANT VIEW DATABASE STATE TO [${u}]; END`,
          );
      });
    }
    const r = await this.pool.request().query('SELECT ProviderId FROM dbo.Providers');
    this.providers = (r.recordset as { ProviderId: number }[]).map((x) => x.ProviderId);
    for (let i = this.providers.length; i < 20; i++) await this.upsertProvider();
  }

  private async tolerate(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.warnings.push(`${what}: ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Running

  /** Runs `operations` operations (or until `durationMs` passes), rate-limited. Long transactions keep running. */
  async run(limit: { operations?: number; durationMs?: number; signal?: AbortSignal }): Promise<void> {
    const start = Date.now();
    const interval = this.opts.rate > 0 ? 1000 / this.opts.rate : 0;
    let done = 0;
    for (;;) {
      if (limit.signal?.aborted) break;
      if (limit.operations !== undefined && done >= limit.operations) break;
      if (limit.durationMs !== undefined && Date.now() - start >= limit.durationMs) break;
      if (limit.operations === undefined && limit.durationMs === undefined) break;
      await this.step();
      done++;
      if (interval > 0) {
        const due = start + done * interval;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Waits for every open long transaction to commit. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** One operation, chosen by the seeded mix; schema events fire at their operation numbers. */
  async step(): Promise<void> {
    this.seq++;
    if (this.opts.addColumnAt.includes(this.seq)) return this.addColumn();
    if (this.seq === this.opts.widenAt) return this.widen();
    const mix = this.opts.mix;
    const entries = Object.entries(mix) as [keyof WorkloadMix, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let pick = this.rnd() * total;
    let op: keyof WorkloadMix = 'insertClaim';
    for (const [k, w] of entries) {
      if (pick < w) {
        op = k;
        break;
      }
      pick -= w;
    }
    if (this.claims.length === 0) op = 'insertClaim';
    const batch = this.opts.claimsPerStatement;
    switch (op) {
      case 'insertClaim':
        return batch > 1 ? this.insertClaims(batch) : this.insertClaim();
      case 'updateClaim':
        return batch > 1 ? this.updateClaims(batch) : this.updateClaim();
      case 'repriceLine':
        return batch > 1 ? this.repriceClaims(batch) : this.repriceLine();
      case 'deleteClaim':
        return this.deleteClaim();
      case 'upsertProvider':
        return this.upsertProvider();
      case 'payment':
        return this.payment();
      case 'note':
        return this.note();
      case 'eligibility':
        return this.eligibility();
      case 'longTransaction':
        return this.longTransaction();
    }
  }

  // ------------------------------------------------------------------------------------------
  // Operations

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  private pickOf<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  private guid(): string {
    const h = Array.from({ length: 32 }, () => Math.floor(this.rnd() * 16).toString(16)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  private event(op: string, table: string, keys?: (string | number)[], detail?: string): void {
    const e: WorkloadEvent = { n: ++this.n, at: new Date().toISOString(), op, table };
    if (keys) e.keys = keys;
    if (detail) e.detail = detail;
    this.log.push(e);
  }

  private static readonly CLAIM_COLUMNS =
    'ClaimNumber, MemberId, PatientName, PatientDateOfBirth, ProviderId, ServiceDate, SubmittedAt, ClaimStatus, TotalBilled, TotalPaid, CreatedAt, UpdatedAt';
  private static readonly LINE_COLUMNS =
    'ClaimId, LineNumber, ServiceDate, ProcedureCode, Modifier1, Modifier2, DiagnosisCode1, DiagnosisCode2, RevenueCode, PlaceOfService, Units, BilledAmount, AllowedAmount, PaidAmount, CopayAmount, CoinsuranceAmount, DeductibleAmount, RenderingNpi, LineStatus, IsAdjusted, AdjustmentReason, PricingVersion, LineGuid, ReceivedAt, RemittanceTrace, CreatedAt, UpdatedAt';

  /** A claim's billed amount per line, and the parts of its row drawn before its VALUES tuple. */
  private claimDraw(lines: number) {
    const provider = this.providers.length ? this.pickOf(this.providers) : 1;
    const billedPerLine = Array.from({ length: lines }, () => this.int(2_000, 90_000));
    const total = billedPerLine.reduce((s, x) => s + x, 0);
    const dob = `${this.int(1940, 2015)}-${String(this.int(1, 12)).padStart(2, '0')}-${String(this.int(1, 28)).padStart(2, '0')}`;
    return { provider, billedPerLine, total, dob };
  }

  /** The VALUES tuple of a dbo.Claims row (columns {@link CLAIM_COLUMNS}). */
  private claimTuple(claimNumber: string, daysAgo: number, d: ReturnType<ClaimsWorkload['claimDraw']>): string {
    return `('${claimNumber}', 'M${this.int(100000, 999999)}', ${lit(this.pickOf(NAMES))}, '${d.dob}', ${d.provider},
         CAST(DATEADD(day, -${daysAgo + this.int(0, 5)}, SYSUTCDATETIME()) AS date), SYSDATETIMEOFFSET(), 'RECEIVED', ${money(d.total)}, 0,
         DATEADD(day, -${daysAgo}, SYSUTCDATETIME()), SYSUTCDATETIME())`;
  }

  /** The VALUES tuple of a dbo.ClaimLines row (columns {@link LINE_COLUMNS}); `claimId` is SQL (a literal or @c). */
  private lineTuple(claimId: string, lineNumber: number, daysAgo: number, billed: number): string {
    const allowed = Math.round(billed * (0.5 + this.rnd() * 0.4));
    const paid = Math.round(allowed * 0.8);
    return `(${claimId}, ${lineNumber}, CAST(DATEADD(day, -${daysAgo}, SYSUTCDATETIME()) AS date), '${this.pickOf(PROCS)}', ${this.rnd() < 0.3 ? "'25'" : 'NULL'}, NULL,
           '${this.pickOf(DIAGS)}', ${this.rnd() < 0.5 ? `'${this.pickOf(DIAGS)}'` : 'NULL'}, '0${this.int(100, 999)}', '${this.pickOf(['11', '21', '22', '23'])}',
           ${this.int(1, 4)}.00, ${money(billed)}, ${money(allowed)}, ${money(paid)}, ${money(this.int(0, 4000))}, ${money(this.int(0, 2000))}, ${money(this.int(0, 5000))},
           '${this.int(1e9, 2e9 - 1)}', 1, 0, NULL, 1, '${this.guid()}', SYSDATETIMEOFFSET(), ${this.rnd() < 0.3 ? `0x${this.int(1e8, 9e8).toString(16)}` : 'NULL'},
           DATEADD(day, -${daysAgo}, SYSUTCDATETIME()), SYSUTCDATETIME())`;
  }

  private claimSql(daysAgo: number, lines: number): string {
    const d = this.claimDraw(lines);
    const stmts = [
      `DECLARE @c bigint;`,
      `INSERT INTO dbo.Claims (${ClaimsWorkload.CLAIM_COLUMNS})
       VALUES ${this.claimTuple(`CLM${this.int(1e8, 9e8)}`, daysAgo, d)};`,
      `SET @c = CAST(SCOPE_IDENTITY() AS bigint);`,
    ];
    d.billedPerLine.forEach((billed, i) => {
      stmts.push(
        `INSERT INTO dbo.ClaimLines (${ClaimsWorkload.LINE_COLUMNS})
         VALUES ${this.lineTuple('@c', i + 1, daysAgo, billed)};`,
      );
    });
    stmts.push('SELECT @c AS ClaimId;');
    return stmts.join('\n');
  }

  private remember(c: ClaimRef): void {
    this.claims.push(c);
    if (c.createdDaysAgo > 0) this.oldClaims.push(c);
  }

  private async insertClaim(): Promise<void> {
    const daysAgo = this.rnd() < 0.7 ? 0 : this.int(1, 30);
    const lines = this.int(1, 5);
    const r = await this.pool
      .request()
      .batch(`SET XACT_ABORT ON; BEGIN TRAN;\n${this.claimSql(daysAgo, lines)}\nCOMMIT;`);
    const claimId = Number((r.recordset[0] as { ClaimId: string | number }).ClaimId);
    this.remember({ claimId, lines, createdDaysAgo: daysAgo });
    this.event('insertClaim', 'Claims', [claimId], `${lines} lines, created ${daysAgo} days ago`);
  }

  /**
   * `n` claims in one transaction of two statements: one multi-row INSERT of the claims, whose ids come back by
   * OUTPUT (matched by claim number, unique within the batch: SQL Server does not promise OUTPUT's row order),
   * then one multi-row INSERT of all their lines. Logged as one `insertClaim` event per claim, as one at a time.
   */
  private async insertClaims(n: number): Promise<void> {
    const numbers = new Set<string>();
    const claims = Array.from({ length: n }, () => {
      const daysAgo = this.rnd() < 0.7 ? 0 : this.int(1, 30);
      const lines = this.int(1, 5);
      const d = this.claimDraw(lines);
      let number: string;
      do number = `CLM${this.int(1e8, 9e8)}`;
      while (numbers.has(number));
      numbers.add(number);
      return { number, daysAgo, lines, d, tuple: this.claimTuple(number, daysAgo, d) };
    });
    const tx = new sql.Transaction(this.pool);
    await tx.begin();
    let ids: Map<string, number>;
    try {
      const r = await new sql.Request(tx).batch(
        `SET XACT_ABORT ON;\nINSERT INTO dbo.Claims (${ClaimsWorkload.CLAIM_COLUMNS}) OUTPUT inserted.ClaimId, inserted.ClaimNumber\nVALUES ${claims.map((c) => c.tuple).join(',\n')};`,
      );
      ids = new Map(
        (r.recordset as { ClaimId: string | number; ClaimNumber: string }[]).map((x) => [
          x.ClaimNumber,
          Number(x.ClaimId),
        ]),
      );
      const tuples: string[] = [];
      for (const c of claims) {
        const id = ids.get(c.number);
        if (id === undefined) throw new Error(`the claims INSERT's OUTPUT lacks a claim of the batch`);
        c.d.billedPerLine.forEach((billed, i) => tuples.push(this.lineTuple(String(id), i + 1, c.daysAgo, billed)));
      }
      await new sql.Request(tx).batch(
        `INSERT INTO dbo.ClaimLines (${ClaimsWorkload.LINE_COLUMNS})\nVALUES ${tuples.join(',\n')};`,
      );
      await tx.commit();
    } catch (e) {
      await tx.rollback().catch(() => undefined);
      throw e;
    }
    for (const c of claims) {
      const claimId = ids.get(c.number) as number;
      this.remember({ claimId, lines: c.lines, createdDaysAgo: c.daysAgo });
      this.event('insertClaim', 'Claims', [claimId], `${c.lines} lines, created ${c.daysAgo} days ago`);
    }
  }

  /** Up to `n` distinct claims of `from`, drawn with the workload's seeded generator. */
  private distinctClaims(from: ClaimRef[], n: number): ClaimRef[] {
    const out = new Set<ClaimRef>();
    for (let i = 0; i < n; i++) out.add(this.pickOf(from));
    return [...out];
  }

  /** `n` claims' status changed by one UPDATE over their keys; logged as one `updateClaims` event ("N claims"). */
  private async updateClaims(n: number): Promise<void> {
    const cs = this.distinctClaims(this.claims, n);
    const status = this.pickOf(['PENDED', 'ADJUDICATED', 'PAID', 'DENIED']);
    const r = await this.pool
      .request()
      .batch(
        `UPDATE dbo.Claims SET ClaimStatus = '${status}', TotalPaid = TotalBilled * 0.6, UpdatedAt = SYSUTCDATETIME() WHERE ClaimId IN (${cs.map((c) => c.claimId).join(', ')})`,
      );
    const rows = r.rowsAffected.reduce((a, b) => a + b, 0);
    this.event(
      'updateClaims',
      'Claims',
      cs.map((c) => c.claimId),
      `${rows} claims ${status}`,
    );
  }

  /**
   * Every line of `n` claims up to 30 days old re-priced by one UPDATE over their keys (a fee-schedule change
   * re-prices claims in bulk); logged as one `repriceClaims` event whose detail counts the lines changed.
   */
  private async repriceClaims(n: number): Promise<void> {
    const cs = this.distinctClaims(this.oldClaims.length ? this.oldClaims : this.claims, n);
    const factor = (0.85 + this.rnd() * 0.3).toFixed(4);
    const r = await this.pool.request().batch(
      `UPDATE dbo.ClaimLines SET AllowedAmount = AllowedAmount * ${factor}, PaidAmount = PaidAmount * ${factor}, IsAdjusted = 1,
         AdjustmentReason = N'reprice ${factor}', PricingVersion = PricingVersion + 1, UpdatedAt = SYSUTCDATETIME()
       WHERE ClaimId IN (${cs.map((c) => c.claimId).join(', ')})`,
    );
    const rows = r.rowsAffected.reduce((a, b) => a + b, 0);
    this.event(
      'repriceClaims',
      'ClaimLines',
      cs.map((c) => c.claimId),
      `${rows} lines`,
    );
  }

  private async updateClaim(): Promise<void> {
    const c = this.pickOf(this.claims);
    const status = this.pickOf(['PENDED', 'ADJUDICATED', 'PAID', 'DENIED']);
    await this.pool
      .request()
      .batch(
        `UPDATE dbo.Claims SET ClaimStatus = '${status}', TotalPaid = TotalBilled * 0.6, UpdatedAt = SYSUTCDATETIME() WHERE ClaimId = ${c.claimId}`,
      );
    this.event('updateClaim', 'Claims', [c.claimId], status);
  }

  /** Re-pricing of a line of a claim up to 30 days old (the late update extractors must not miss). */
  private async repriceLine(): Promise<void> {
    const c = this.pickOf(this.oldClaims.length ? this.oldClaims : this.claims);
    const line = this.int(1, c.lines);
    const factor = (0.85 + this.rnd() * 0.3).toFixed(4);
    await this.pool.request().batch(
      `UPDATE dbo.ClaimLines SET AllowedAmount = AllowedAmount * ${factor}, PaidAmount = PaidAmount * ${factor}, IsAdjusted = 1,
         AdjustmentReason = N'reprice ${factor}', PricingVersion = PricingVersion + 1, UpdatedAt = SYSUTCDATETIME()
       WHERE ClaimId = ${c.claimId} AND LineNumber = ${line}`,
    );
    this.event('repriceLine', 'ClaimLines', [c.claimId, line], `created ${c.createdDaysAgo} days ago`);
  }

  private async deleteClaim(): Promise<void> {
    const i = Math.floor(this.rnd() * this.claims.length);
    const c = this.claims[i];
    if (!c) return;
    await this.pool
      .request()
      .batch(
        `SET XACT_ABORT ON; BEGIN TRAN; DELETE FROM dbo.ClaimLines WHERE ClaimId = ${c.claimId}; DELETE FROM dbo.Claims WHERE ClaimId = ${c.claimId}; COMMIT;`,
      );
    this.claims.splice(i, 1);
    const j = this.oldClaims.indexOf(c);
    if (j >= 0) this.oldClaims.splice(j, 1);
    this.event('deleteClaim', 'Claims', [c.claimId]);
  }

  private async upsertProvider(): Promise<void> {
    if (this.providers.length < 20 || this.rnd() < 0.2) {
      const id = (this.providers.length ? Math.max(...this.providers) : 1000) + 1;
      await this.pool.request().batch(
        `INSERT INTO dbo.Providers (ProviderId, Npi, ProviderName, Specialty, StateCode, IsActive, UpdatedAt)
         VALUES (${id}, '${this.int(1e9, 2e9 - 1)}', ${lit(`Dr. ${this.pickOf(NAMES)}`)}, ${lit(this.pickOf(SPECIALTIES))}, '${this.pickOf(STATES)}', 1, SYSUTCDATETIME())`,
      );
      this.providers.push(id);
      this.event('insertProvider', 'Providers', [id]);
      return;
    }
    const id = this.pickOf(this.providers);
    const set =
      this.rnd() < 0.5 ? `Specialty = ${lit(this.pickOf(SPECIALTIES))}` : `IsActive = ${this.rnd() < 0.9 ? 1 : 0}`;
    await this.pool
      .request()
      .batch(`UPDATE dbo.Providers SET ${set}, UpdatedAt = SYSUTCDATETIME() WHERE ProviderId = ${id}`);
    this.event('updateProvider', 'Providers', [id], set.split(' ')[0]);
  }

  private async payment(): Promise<void> {
    if (this.payments.length && this.rnd() < 0.3) {
      const id = this.pickOf(this.payments);
      await this.pool.request().batch(`UPDATE dbo.ClaimPayments SET Amount = Amount + 1.25 WHERE PaymentId = ${id}`);
      this.event('updatePayment', 'ClaimPayments', [id]);
      return;
    }
    const c = this.pickOf(this.claims);
    const r = await this.pool.request().batch(
      `INSERT INTO dbo.ClaimPayments (ClaimId, PaidDate, Amount, PaymentMethod) VALUES (${c.claimId}, CAST(SYSUTCDATETIME() AS date), ${money(this.int(1000, 50000))}, '${this.pickOf(['EFT', 'CHECK', 'VCARD'])}');
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS id;`,
    );
    const id = Number((r.recordset[0] as { id: string }).id);
    this.payments.push(id);
    this.event('insertPayment', 'ClaimPayments', [id]);
  }

  /** ProviderNotes: UpdatedAt is stamped by the writer; sometimes from a skewed clock (in the past). */
  private async note(): Promise<void> {
    const skewed = this.rnd() < this.opts.skewProbability;
    const stamp = skewed ? `DATEADD(millisecond, -${this.opts.skewMs}, SYSUTCDATETIME())` : 'SYSUTCDATETIME()';
    if (this.notes.length && this.rnd() < 0.4) {
      const id = this.pickOf(this.notes);
      await this.pool
        .request()
        .batch(
          `UPDATE dbo.ProviderNotes SET NoteText = NoteText + N' (edited)', UpdatedAt = ${stamp} WHERE NoteId = ${id}`,
        );
      this.event('updateNote', 'ProviderNotes', [id], skewed ? 'UpdatedAt in the past' : undefined);
      return;
    }
    const r = await this.pool.request().batch(
      `INSERT INTO dbo.ProviderNotes (ProviderId, NoteText, UpdatedAt) VALUES (${this.pickOf(this.providers)}, N'Credentialing note ${this.int(1, 1e6)}', ${stamp});
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS id;`,
    );
    const id = Number((r.recordset[0] as { id: string }).id);
    this.notes.push(id);
    this.event('insertNote', 'ProviderNotes', [id], skewed ? 'UpdatedAt in the past' : undefined);
  }

  private async eligibility(): Promise<void> {
    const r = await this.pool.request().batch(
      `INSERT INTO dbo.EligibilityChecks (MemberId, PayerId, CheckedAt, Result) VALUES ('M${this.int(100000, 999999)}', ${this.int(1, 40)}, SYSUTCDATETIME(), '${this.rnd() < 0.9 ? 'ELIGIBLE' : 'INELIGIBLE'}');
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS id;`,
    );
    this.event('insertEligibility', 'EligibilityChecks', [Number((r.recordset[0] as { id: string }).id)]);
  }

  /**
   * A transaction that takes an identity value, a rowversion and an updated_at stamp now, and commits
   * `longTransactionMs` later, after other sessions have committed higher values.
   */
  private async longTransaction(): Promise<void> {
    const tx = new sql.Transaction(this.pool);
    await tx.begin();
    const c = this.pickOf(this.claims);
    const r = await new sql.Request(tx).batch(
      `INSERT INTO dbo.EligibilityChecks (MemberId, PayerId, CheckedAt, Result) VALUES ('M${this.int(100000, 999999)}', 1, SYSUTCDATETIME(), 'LATE');
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS e;
       INSERT INTO dbo.ClaimPayments (ClaimId, PaidDate, Amount, PaymentMethod) VALUES (${c.claimId}, CAST(SYSUTCDATETIME() AS date), 10.00, 'LATE');
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS p;
       INSERT INTO dbo.ProviderNotes (ProviderId, NoteText, UpdatedAt) VALUES (${this.pickOf(this.providers)}, N'late note', SYSUTCDATETIME());
       SELECT CAST(SCOPE_IDENTITY() AS bigint) AS n;
       UPDATE dbo.ClaimLines SET LineStatus = 2, UpdatedAt = SYSUTCDATETIME() WHERE ClaimId = ${c.claimId};`,
    );
    const sets = r.recordsets as unknown as Record<string, string>[][];
    const keys = [Number(sets[0]?.[0]?.e), Number(sets[1]?.[0]?.p), Number(sets[2]?.[0]?.n)];
    this.payments.push(keys[1] as number);
    this.notes.push(keys[2] as number);
    this.event('beginLongTransaction', 'EligibilityChecks,ClaimPayments,ProviderNotes,ClaimLines', keys);
    const p = new Promise<void>((resolve) => setTimeout(resolve, this.opts.longTransactionMs))
      .then(() => tx.commit())
      .then(
        () => this.event('commitLongTransaction', 'EligibilityChecks,ClaimPayments,ProviderNotes,ClaimLines', keys),
        // A fault (connection reset, failover) ended the session first: the server rolled the transaction back.
        // Recorded, not thrown: nobody awaits this promise until drain(), so a rejection would be unhandled.
        (err: unknown) =>
          this.event(
            'failLongTransaction',
            'EligibilityChecks,ClaimPayments,ProviderNotes,ClaimLines',
            keys,
            (err as { code?: string }).code ?? 'error',
          ),
      )
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** ALTER TABLE ADD on ClaimLines, then a new capture instance with the new shape (dropping the oldest of two). */
  private async addColumn(): Promise<void> {
    const col = CLAIM_LINES_ADDED_COLUMNS[this.addedColumns++];
    if (!col) return;
    await this.pool.request().batch(`ALTER TABLE dbo.ClaimLines ADD ${col.name} ${col.type}`);
    this.event('addColumn', 'ClaimLines', [col.name]);
    if (!this.opts.enableCdc) return;
    if (this.captureInstances.length >= 2) {
      const oldest = this.captureInstances.shift() as string;
      await this.pool
        .request()
        .batch(
          `EXEC sys.sp_cdc_disable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @capture_instance = N'${oldest}'`,
        );
      this.event('disableCaptureInstance', 'ClaimLines', [oldest]);
    }
    const ci = `dbo_ClaimLines_v${this.addedColumns + 1}`;
    await this.pool
      .request()
      .batch(
        `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL, @capture_instance = N'${ci}', @supports_net_changes = 1`,
      );
    this.captureInstances.push(ci);
    this.event('enableCaptureInstance', 'ClaimLines', [ci]);
  }

  private async widen(): Promise<void> {
    if (this.widened) return;
    this.widened = true;
    await this.pool
      .request()
      .batch(`ALTER TABLE dbo.ClaimLines ALTER COLUMN ${CLAIM_LINES_WIDENING.column} ${CLAIM_LINES_WIDENING.to}`);
    this.event('widenColumn', 'ClaimLines', [CLAIM_LINES_WIDENING.column], `${CLAIM_LINES_WIDENING.from} → int`);
  }
}
