/**
 * delta-rs (the `deltalake` Python package) for tests: installed by the test itself into the project's
 * git-ignored virtualenv `.tidemark/venv`, as pyarrow is (test/support/pyarrow.ts), and run as an independent
 * Delta reader against Azurite (object_store's emulator support) or a local folder.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pythonWithPyarrow } from './pyarrow.js';

/** Pinned delta-rs Python release. */
export const DELTALAKE_VERSION = '1.6.6';

/** Path of a python that can `import deltalake` (installs it once; pip is retried once: the venv is shared). */
export function pythonWithDeltalake(): string {
  const python = pythonWithPyarrow();
  const probe = () =>
    execFileSync(python, ['-c', 'import deltalake; print(deltalake.__version__)'], { stdio: 'pipe' }).toString().trim();
  try {
    if (probe() === DELTALAKE_VERSION) return python;
  } catch {
    // not installed yet
  }
  const pip = join(process.cwd(), '.tidemark', 'venv', 'bin', 'pip');
  const install = () =>
    execFileSync(pip, ['install', '--quiet', '--disable-pip-version-check', `deltalake==${DELTALAKE_VERSION}`], {
      stdio: 'pipe',
    });
  try {
    install();
  } catch {
    install();
  }
  if (probe() !== DELTALAKE_VERSION) throw new Error(`deltalake ${DELTALAKE_VERSION} did not install`);
  return python;
}

/** Opens a table with delta-rs and prints what a reader sees, every value as exact text. */
const PY = `
import datetime, decimal, json, os, sys, time
from deltalake import DeltaTable
args = json.loads(sys.argv[1])
opts = args.get('storage_options') or None
t0 = time.perf_counter()
dt = DeltaTable(args['uri'], storage_options=opts, version=args.get('version'))
files = sorted(dt.file_uris())
open_ms = (time.perf_counter() - t0) * 1000
out = {'version': dt.version(), 'open_ms': open_ms, 'files': files}
p = dt.protocol()
out['protocol'] = {'minReaderVersion': p.min_reader_version, 'minWriterVersion': p.min_writer_version,
                   'readerFeatures': p.reader_features, 'writerFeatures': p.writer_features}
m = dt.metadata()
out['metadata'] = {'id': m.id, 'partitionColumns': m.partition_columns, 'configuration': m.configuration}
out['schema'] = json.loads(dt.schema().to_json())
EPOCH = datetime.datetime(1970, 1, 1)
def text(v):
    if v is None: return None
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None: v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return str((v - EPOCH) // datetime.timedelta(microseconds=1))
    if isinstance(v, datetime.date): return v.isoformat()
    if isinstance(v, (bytes, bytearray)): return v.hex()
    if isinstance(v, dict): return {k: text(x) for k, x in v.items()}
    return str(v)
if args.get('rows', True):
    rows = [{k: text(v) for k, v in r.items()} for r in dt.to_pyarrow_table().to_pylist()]
    rows.sort(key=lambda r: (r['_pos'], str(r.get('claim_id'))))
    out['rows'] = rows
if args.get('history'):
    out['history'] = [{'version': h.get('version'), 'operation': h.get('operation'), 'tidemark': h.get('tidemark')}
                      for h in dt.history()]
print(json.dumps(out))
sys.stdout.flush()
# delta-rs' runtime threads sometimes abort the interpreter's teardown ("terminate called without an active
# exception") after everything was printed: leave without a teardown so the exit status means what it says.
os._exit(0)
`;

/** What delta-rs sees of a table. */
export interface DeltaRsView {
  readonly version: number;
  readonly open_ms: number;
  readonly files: string[];
  readonly protocol: {
    minReaderVersion: number;
    minWriterVersion: number;
    readerFeatures: string[] | null;
    writerFeatures: string[] | null;
  };
  readonly metadata: { id: string; partitionColumns: string[]; configuration: Record<string, string> };
  readonly schema: { fields: { name: string; type: unknown; nullable: boolean }[] };
  /** Every row, values as exact text (timestamps: epoch microseconds; binary: hex), by `_pos`, `claim_id`. */
  readonly rows?: Record<string, unknown>[];
  readonly history?: { version: number; operation: string; tidemark?: Record<string, unknown> }[];
}

export interface ReadDeltaOptions {
  readonly version?: number;
  readonly rows?: boolean;
  readonly history?: boolean;
}

/** The Azurite endpoint and key of a connection string, as object_store's emulator settings. */
function azuriteEnv(connectionString: string): { env: NodeJS.ProcessEnv; options: Record<string, string> } {
  const part = (k: string) => new RegExp(`${k}=([^;]+)`).exec(connectionString)?.[1] ?? '';
  const endpoint = part('BlobEndpoint').replace(/\/[^/]*\/?$/, ''); // without the account path
  return {
    env: { AZURITE_BLOB_STORAGE_URL: endpoint },
    options: { use_emulator: 'true', account_name: part('AccountName'), account_key: part('AccountKey') },
  };
}

/** Reads a Delta table in an Azurite container with delta-rs. `root` is the table root inside the container. */
export function readDeltaFromAzurite(
  connectionString: string,
  container: string,
  root: string,
  options: ReadDeltaOptions = {},
): DeltaRsView {
  const { env, options: storage } = azuriteEnv(connectionString);
  const uri = `az://${container}/${root.replace(/\/$/, '')}`;
  return run({ uri, storage_options: storage, ...options }, env);
}

/** Reads a Delta table in a local folder with delta-rs. */
export function readDeltaFromFolder(folder: string, options: ReadDeltaOptions = {}): DeltaRsView {
  return run({ uri: folder, ...options }, {});
}

function run(args: Record<string, unknown>, env: NodeJS.ProcessEnv): DeltaRsView {
  const python = pythonWithDeltalake();
  const out = execFileSync(python, ['-c', PY, JSON.stringify(args)], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out) as DeltaRsView;
}
