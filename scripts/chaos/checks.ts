/**
 * The chaos run's checks, through Tidemark's own reading code (src/verify, src/lake) and nothing else:
 *
 * - lake == source: `verifyTable` (the lake's latest state against the source at one position: no row missing,
 *   extra or different on any column) and no duplicate (key, position) in the change log;
 * - files: every file every manifest references exists with the MD5 the manifest records (listing), and its
 *   bytes hash to it (the reader downloads and verifies each one inside `verifyTable`);
 * - chain: manifests 1..n with no gap, each naming its predecessor, sequence = name;
 * - watermark: never ahead of the manifests (its sequence ≤ the chain's head, and its manifest exists) — sampled
 *   during the run as well as at the end;
 * - stopped: no table's workflow stopped (a fault in this run's list never has to stop one).
 *
 * Only counts and paths leave this module, never row values.
 */
import type { Client } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities/dependencies.js';
import { tableContext } from '../../src/capture/table-context.js';
import type { TableRef } from '../../src/domain/table.js';
import type { Manifest } from '../../src/lake/manifest.js';
import type { LakeTable } from '../../src/lake/lake-table.js';
import { readWatermark } from '../../src/lake/watermark.js';
import { verifyTable, type VerifyTableOutput } from '../../src/verify/verify-table.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';

export const CHECK_NAMES = [
  'lake == source',
  'no duplicates',
  'files + MD5',
  'manifest chain',
  'watermark',
  'not stopped',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckFinding {
  check: CheckName;
  table: string;
  ok: boolean;
  /** What was found: counts, sequences, paths. Never row values. */
  detail: string;
}

export interface LakeIntegrity {
  manifests: number;
  chainProblems: string[];
  fileProblems: string[];
  watermarkProblems: string[];
}

/** Chain, files (listing + MD5) and watermark of one table, straight from the blob store. */
export async function lakeIntegrity(lake: LakeTable): Promise<LakeIntegrity> {
  const { store, layout } = lake;
  const out: LakeIntegrity = { manifests: 0, chainProblems: [], fileProblems: [], watermarkProblems: [] };
  const seqs: number[] = [];
  for await (const item of store.list(layout.manifestsPrefix)) {
    const s = layout.sequenceOfManifest(item.path);
    if (s !== undefined) seqs.push(s);
  }
  seqs.sort((a, b) => a - b);
  out.manifests = seqs.length;
  const listed = new Map<string, string | undefined>();
  for await (const item of store.list(`${layout.root}data/`)) listed.set(item.path, item.md5);
  let expected = 1;
  for (const s of seqs) {
    if (s !== expected) out.chainProblems.push(`manifest ${expected} missing before ${s}`);
    expected = s + 1;
    const got = await store.get(layout.manifestPath(s));
    if (!got) {
      out.chainProblems.push(`manifest ${s} listed but not readable`);
      continue;
    }
    const m = JSON.parse(got.body.toString('utf8')) as Manifest;
    if (m.sequence !== s) out.chainProblems.push(`manifest ${s} says sequence ${m.sequence}`);
    const previous = s > 1 ? layout.manifestPath(s - 1) : null;
    if (m.previousManifest !== previous)
      out.chainProblems.push(`manifest ${s} names ${m.previousManifest} as previous, not ${previous}`);
    for (const f of m.files) {
      const path = layout.resolve(f.path);
      if (!listed.has(path)) out.fileProblems.push(`manifest ${s}: ${f.path} is missing`);
      else if (listed.get(path) !== f.md5)
        out.fileProblems.push(`manifest ${s}: ${f.path} has MD5 ${listed.get(path)}, the manifest says ${f.md5}`);
    }
  }
  const head = seqs.length && out.chainProblems.length === 0 ? seqs[seqs.length - 1]! : contiguousHead(seqs);
  const wm = await readWatermark(lake);
  if (wm) {
    if (wm.doc.sequence > head)
      out.watermarkProblems.push(`watermark at window ${wm.doc.sequence}, manifests only up to ${head}`);
    if (wm.doc.sequence > 0 && wm.doc.manifest !== layout.manifestPath(wm.doc.sequence))
      out.watermarkProblems.push(`watermark names ${wm.doc.manifest} for window ${wm.doc.sequence}`);
  }
  return out;
}

/** A job as the status query reports it (only what the report shows). */
interface JobSeen {
  id: string;
  state: string;
  reason?: string;
}

/** A job's id, state and (Tidemark's own, value-free) reason, for the report. */
function describeJobs(jobs: readonly JobSeen[]): string {
  return jobs.map((j) => `${j.id} ${j.state}${j.reason ? `: ${j.reason.slice(0, 160)}` : ''}`).join('; ');
}

function contiguousHead(seqs: number[]): number {
  let n = 0;
  for (const s of seqs) {
    if (s !== n + 1) break;
    n = s;
  }
  return n;
}

/** Every check for every table, after quiescence. `verified` is the last verification of each table (or absent). */
export async function finalChecks(
  deps: ActivityDeps,
  client: Client,
  tables: readonly TableRef[],
  verified: Map<string, VerifyTableOutput | Error>,
  watermarkSamples: Map<string, string[]>,
  /** Tables a fault took unread changes from (they heal by re-seeding; reported with the status). */
  expectedReseeds: ReadonlySet<string> = new Set(),
  /** Stops seen while the run went on (quiescence's wake resumes a stopped table, so they are kept apart). */
  stopsSeen: ReadonlyMap<string, string[]> = new Map(),
  /** Stops a fault causes by design (a dropped capture instance): accepted when the table runs again, reported. */
  expectedStops: ReadonlyMap<string, RegExp> = new Map(),
): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  for (const t of tables) {
    let v = verified.get(t.id);
    if (!v) {
      try {
        v = await verifyTable(deps, t);
      } catch (err) {
        v = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (v instanceof Error) {
      findings.push({ check: 'lake == source', table: t.id, ok: false, detail: `verify failed: ${v.message}` });
      findings.push({ check: 'no duplicates', table: t.id, ok: false, detail: 'not verifiable' });
    } else {
      findings.push({
        check: 'lake == source',
        table: t.id,
        ok: v.missingInLake === 0 && v.extraInLake === 0 && v.different === 0 && v.sourceChecksum === v.lakeChecksum,
        detail: `source ${v.sourceRows}, lake ${v.lakeRows}, missing ${v.missingInLake}, extra ${v.extraInLake}, different ${v.different}`,
      });
      findings.push({
        check: 'no duplicates',
        table: t.id,
        ok: v.duplicateEvents === 0,
        detail: `${v.duplicateEvents} duplicate (key, position)`,
      });
    }
    const lake = (await tableContext(deps, t)).lake;
    const integrity = await lakeIntegrity(lake);
    findings.push({
      check: 'files + MD5',
      table: t.id,
      ok: integrity.fileProblems.length === 0 && !(v instanceof Error && /MD5/.test(v.message)),
      detail: integrity.fileProblems.length
        ? integrity.fileProblems.slice(0, 3).join('; ')
        : `all files of ${integrity.manifests} manifests present, MD5 equal`,
    });
    findings.push({
      check: 'manifest chain',
      table: t.id,
      ok: integrity.chainProblems.length === 0,
      detail: integrity.chainProblems.length
        ? integrity.chainProblems.slice(0, 3).join('; ')
        : `1..${integrity.manifests} unbroken`,
    });
    const sampled = watermarkSamples.get(t.id) ?? [];
    const wmProblems = [...integrity.watermarkProblems, ...sampled];
    findings.push({
      check: 'watermark',
      table: t.id,
      ok: wmProblems.length === 0,
      detail: wmProblems.length ? wmProblems.slice(0, 3).join('; ') : 'never ahead of the manifests',
    });
    try {
      const s = await client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);
      // The first snapshot is the initial load; every later one a re-seed.
      const reseeds = s.jobs.filter((j) => j.kind === 'snapshot').slice(1);
      const healed = expectedReseeds.has(t.id)
        ? reseeds.length
          ? `, re-seeded ${reseeds.length}x after a gap (${describeJobs(reseeds)})`
          : ', no re-seed needed (no unread change was cleaned up)'
        : reseeds.length
          ? `, re-seeded ${reseeds.length}x (${describeJobs(reseeds)})`
          : '';
      const expected = expectedStops.get(t.id);
      const all = stopsSeen.get(t.id) ?? [];
      const byDesign = expected ? all.filter((r) => expected.test(r)) : [];
      const stops = all.filter((r) => !byDesign.includes(r));
      findings.push({
        check: 'not stopped',
        table: t.id,
        ok: s.mode === 'running' && stops.length === 0,
        detail:
          `${s.mode}, ${s.windowsCommitted} windows${healed}${s.stoppedReason ? `, stopped: ${s.stoppedReason}` : ''}` +
          (byDesign.length
            ? `; stopped by design, then resumed: ${byDesign.map((r) => r.replace(/\s+/g, ' ').slice(0, 160)).join('; ')}`
            : '') +
          (stops.length ? `; during the run ${stops.join('; ')}` : ''),
      });
    } catch (err) {
      findings.push({
        check: 'not stopped',
        table: t.id,
        ok: false,
        detail: `status query failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return findings;
}
