/**
 * Checkov for the Bicep template test: installed by the test itself into the project's git-ignored virtualenv
 * `.tidemark/venv` (the one scripts/stack/temporal.ts creates), pinned, so no test depends on a hand install.
 * The Bicep CLI cannot be installed on the project's machines (it is distributed through NuGet and GitHub
 * releases only; the npm and PyPI packages that wrap it download it at run time), so the template is parsed by
 * Checkov's own Bicep parser (pycep, installed with Checkov) and policy-checked by Checkov's Bicep framework.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalBinaries } from '../../scripts/stack/temporal.js';

/** Pinned Checkov version (it pins its Bicep parser, pycep-parser, itself). */
export const CHECKOV_VERSION = '3.3.30';

export interface CheckovTools {
  /** The `checkov` entry point in the virtualenv. */
  readonly checkov: string;
  /** The virtualenv's python, which can `import pycep`. */
  readonly python: string;
}

function installedVersion(checkov: string): string | undefined {
  if (!existsSync(checkov)) return undefined;
  const r = spawnSync(checkov, ['--version'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

let ensured: CheckovTools | undefined;

/**
 * Checkov {@link CHECKOV_VERSION} in `.tidemark/venv`, installed with pip when missing or another version.
 * Checked once per process (`checkov --version` alone takes seconds).
 */
export function ensureCheckov(): CheckovTools {
  ensured ??= installCheckov();
  return ensured;
}

function installCheckov(): CheckovTools {
  const stateDir = join(process.cwd(), '.tidemark');
  ensureTemporalBinaries(stateDir); // creates the venv if needed
  const bin = join(stateDir, 'venv', 'bin');
  const tools = { checkov: join(bin, 'checkov'), python: join(bin, 'python') };
  if (installedVersion(tools.checkov) === CHECKOV_VERSION) return tools;
  const install = () =>
    execFileSync(
      join(bin, 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `checkov==${CHECKOV_VERSION}`],
      { stdio: 'pipe', timeout: 600_000 },
    );
  try {
    install();
  } catch {
    // The venv is shared by every checkout of this machine: another pip may have been installing at the same
    // moment. One retry tells that apart from a real failure (which then throws with pip's message).
    install();
  }
  const got = installedVersion(tools.checkov);
  if (got !== CHECKOV_VERSION)
    throw new Error(`pip installed checkov, but \`checkov --version\` says ${got ?? 'nothing'}`);
  return tools;
}

/** One check result as Checkov's JSON report gives it (the fields the test reads). */
export interface CheckovRecord {
  readonly check_id: string;
  readonly check_name: string;
  readonly check_result: { readonly result: string; readonly suppress_comment?: string };
  readonly file_path: string;
  readonly file_line_range: readonly [number, number];
  readonly resource: string;
}

export interface CheckovReport {
  readonly passed: readonly CheckovRecord[];
  readonly failed: readonly CheckovRecord[];
  readonly skipped: readonly CheckovRecord[];
  readonly parsingErrors: readonly string[];
  readonly resourceCount: number;
  readonly version: string;
}

interface CheckovJson {
  readonly results?: {
    readonly passed_checks?: CheckovRecord[];
    readonly failed_checks?: CheckovRecord[];
    readonly skipped_checks?: CheckovRecord[];
    readonly parsing_errors?: string[];
  };
  readonly summary: {
    readonly resource_count?: number;
    readonly checkov_version?: string;
    readonly parsing_errors?: number;
  };
}

/**
 * Runs Checkov's Bicep framework over every `.bicep` file under `dir` and returns its report. Offline: no API key,
 * `--skip-download` (no policy metadata from the vendor's platform).
 */
export function runCheckovBicep(tools: CheckovTools, dir: string): CheckovReport {
  const r = spawnSync(
    tools.checkov,
    ['--directory', dir, '--framework', 'bicep', '--output', 'json', '--skip-download'],
    {
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 64 << 20,
    },
  );
  // Exit 1 means "some check failed" and still prints the report; anything unparsable is a real failure.
  let parsed: CheckovJson;
  try {
    parsed = JSON.parse(r.stdout) as CheckovJson;
  } catch {
    throw new Error(`checkov exited ${r.status ?? r.signal} without a JSON report:\n${r.stderr.slice(-3000)}`);
  }
  const res = parsed.results ?? {};
  return {
    passed: res.passed_checks ?? [],
    failed: res.failed_checks ?? [],
    skipped: res.skipped_checks ?? [],
    parsingErrors: res.parsing_errors ?? [],
    resourceCount: parsed.summary.resource_count ?? 0,
    version: parsed.summary.checkov_version ?? '',
  };
}

/** pycep's JSON for one Bicep file (parameters, variables, resources, modules, outputs). */
export interface BicepJson {
  readonly parameters: Record<
    string,
    {
      readonly type: string;
      readonly default?: unknown;
      readonly decorators: readonly { readonly type: string; readonly argument: unknown }[];
    }
  >;
  readonly variables: Record<string, { readonly value: unknown }>;
  readonly resources: Record<string, { readonly type: string; readonly config: Record<string, unknown> }>;
  readonly modules: Record<string, { readonly path: string; readonly config: Record<string, unknown> }>;
  readonly outputs: Record<string, { readonly type: string; readonly value: unknown }>;
}

const PARSE_PY = `
import json, sys
from pycep import BicepParser
texts = json.load(sys.stdin)
out = {}
for name, text in texts.items():
    try:
        out[name] = BicepParser().parse(text=text)
    except Exception as e:
        out[name] = {'error': type(e).__name__ + ': ' + str(e)[:2000]}
print(json.dumps(out, default=str))
`;

/**
 * Parses Bicep sources with pycep (the parser Checkov's Bicep framework uses), several in one python process.
 * Throws when one does not parse: a template the scanner cannot read must fail the test, not pass it empty.
 */
export function parseBicep(tools: CheckovTools, texts: Record<string, string>): Record<string, BicepJson> {
  const out = execFileSync(tools.python, ['-c', PARSE_PY], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  const parsed = JSON.parse(out) as Record<string, BicepJson | { error: string }>;
  const result: Record<string, BicepJson> = {};
  for (const [name, doc] of Object.entries(parsed)) {
    if ('error' in doc) throw new Error(`${name} does not parse as Bicep: ${doc.error}`);
    result[name] = doc;
  }
  return result;
}

/** A Bicep CLI, when one is installed (on PATH, or where `az bicep install` puts it); undefined otherwise. */
export function findBicepCli(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v bicep'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const azInstalled = join(homedir(), '.azure', 'bin', 'bicep');
  return existsSync(azInstalled) ? azInstalled : undefined;
}
