/**
 * promtool and the Prometheus server, installed by the project itself when missing, as the Temporal CLI is
 * (temporal.ts). Used by the alert-rule tests (`promtool check rules`, `promtool test rules`) and by whatever
 * starts a real Prometheus (the demo, its test). Nothing here depends on a hand-installed binary.
 *
 * Where they come from, in order:
 * 1. `.tidemark/prometheus/bin` — installed by an earlier run (idempotent: nothing is fetched again);
 * 2. `promtool` (and `prometheus`) on PATH;
 * 3. Debian's `prometheus` package — which ships both binaries — **downloaded with `apt-get download` and
 *    unpacked with `dpkg-deb -x` into `.tidemark/prometheus/deb`, not installed**. `apt-get install prometheus`
 *    would run the package's maintainer scripts: create a `prometheus` system user, enable the service and start
 *    it (`invoke-rc.d prometheus start`; only a `policy-rc.d` that happens to deny it, as in some container
 *    images, stops that), so a system Prometheus would keep running on :9090 after the tests, on a port the demo
 *    and other checkouts may want, and its Recommends pull in `prometheus-node-exporter` (another daemon, :9100).
 *    Unpacking runs no script, starts no service, changes nothing outside this checkout's git-ignored
 *    `.tidemark/`, and needs root only for `apt-get update` when the package lists are missing. The version is
 *    whatever the distribution ships (Debian 12: 2.42.0); it is printed and recorded.
 * 4. Elsewhere (no apt): built from the Go module `github.com/prometheus/prometheus` at
 *    {@link PROMETHEUS_GO_MODULE_VERSION} with the Go toolchain. `go install module/cmd/promtool@version` is
 *    refused for that module (its go.mod has `replace` directives, which `go install pkg@version` rejects), so the
 *    build runs inside a throwaway module that requires the pinned version and repeats its replace directives.
 *    This compiles a large dependency tree: minutes on two cores, once.
 *
 * The rules and their unit tests use only PromQL and promtool features that Prometheus 2.42 already has, so
 * every source above serves them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { StackStartError } from './process.js';

/** The Go module version built when neither PATH nor apt can provide promtool (Prometheus 3.15.1). */
export const PROMETHEUS_GO_MODULE_VERSION = 'v0.315.1';
const GO_MODULE = 'github.com/prometheus/prometheus';

export type PrometheusToolSource = 'installed' | 'path' | 'debian' | 'go';

export interface PrometheusTools {
  readonly promtool: string;
  /** The server binary; undefined when only promtool was asked for and built from Go. */
  readonly prometheus: string | undefined;
  /** `promtool --version`'s version, e.g. `2.42.0+ds`. */
  readonly version: string;
  readonly source: PrometheusToolSource;
}

export interface EnsurePrometheusOptions {
  /** Also provide the server (`prometheus`); the Go fallback builds it too (more minutes). Default false. */
  readonly withServer?: boolean;
  readonly log?: (line: string) => void;
}

function onPath(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

/** The version `promtool --version` reports, or undefined when the binary does not run. */
export function promtoolVersion(promtool: string): string | undefined {
  const r = spawnSync(promtool, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  // A build without Prometheus' release tooling may carry no version (`version  (branch: …`): it still works.
  return /version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** The Prometheus release of a module version: v0.315.1 → 3.15.1 (v3 and later), v0.54.1 → 2.54.1. */
export function prometheusReleaseOf(moduleVersion: string): string {
  const m = /^v0\.(\d+)\.(\d+)/.exec(moduleVersion);
  if (!m) return moduleVersion;
  const minor = Number(m[1]);
  return minor >= 300 ? `${Math.floor(minor / 100)}.${minor % 100}.${m[2]}` : `2.${minor}.${m[2]}`;
}

function tail(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message: string };
  const text = (e.stderr?.toString() || e.message).trim();
  return text.split('\n').slice(-6).join('\n');
}

/**
 * promtool (and, with `withServer`, prometheus), found or installed into `<stateDir>/prometheus/bin`. Prints one
 * line saying what it installs, from where, and the version. Throws a {@link StackStartError} naming what is
 * missing when no source works.
 */
export function ensurePrometheusTools(stateDir: string, options: EnsurePrometheusOptions = {}): PrometheusTools {
  const log = options.log ?? (() => {});
  const withServer = options.withServer ?? false;
  const home = join(stateDir, 'prometheus');
  const bin = join(home, 'bin');
  const local = { promtool: join(bin, 'promtool'), prometheus: join(bin, 'prometheus') };

  const ready = (promtool: string, prometheus: string | undefined, source: PrometheusToolSource) => {
    if (withServer && (!prometheus || !existsSync(prometheus))) return undefined;
    const version = promtoolVersion(promtool);
    return version ? { promtool, prometheus, version, source } : undefined;
  };

  const installed = existsSync(local.promtool)
    ? ready(local.promtool, existsSync(local.prometheus) ? local.prometheus : undefined, 'installed')
    : undefined;
  if (installed) return installed;

  const pathTool = onPath('promtool');
  const fromPath = pathTool ? ready(pathTool, onPath('prometheus'), 'path') : undefined;
  if (fromPath) return fromPath;

  mkdirSync(bin, { recursive: true });
  const problems: string[] = [];
  if (onPath('apt-get') && onPath('dpkg-deb')) {
    try {
      const tools = installFromDebian(home, bin, log);
      const result = ready(tools.promtool, tools.prometheus, 'debian');
      if (result) return result;
      problems.push('the unpacked Debian package has no working promtool');
    } catch (err) {
      problems.push(`Debian package: ${tail(err)}`);
    }
  } else {
    problems.push('no apt-get/dpkg-deb (not a Debian-like system)');
  }
  const go = onPath('go');
  if (go) {
    try {
      installFromGo(go, home, bin, withServer, log);
      const result = ready(local.promtool, existsSync(local.prometheus) ? local.prometheus : undefined, 'go');
      if (result) return result;
      problems.push(`the Go build of ${GO_MODULE}@${PROMETHEUS_GO_MODULE_VERSION} left no working promtool`);
    } catch (err) {
      problems.push(`Go build: ${tail(err)}`);
    }
  } else {
    problems.push('no Go toolchain on PATH');
  }
  throw new StackStartError(
    `promtool is not on PATH and could not be installed into ${bin}:\n- ${problems.join('\n- ')}\n` +
      'Install it yourself (Debian/Ubuntu: `apt-get install prometheus`; or a Prometheus release tarball) and put ' +
      '`promtool` and `prometheus` on PATH.',
  );
}

/** `apt-get download prometheus` + `dpkg-deb -x`: the binaries without the package's scripts or service. */
function installFromDebian(
  home: string,
  bin: string,
  log: (line: string) => void,
): { promtool: string; prometheus: string } {
  const download = join(home, 'download');
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  const fetchDeb = () =>
    execFileSync('apt-get', ['download', '-q', 'prometheus'], { cwd: download, stdio: 'pipe', timeout: 600_000 });
  try {
    fetchDeb();
  } catch (err) {
    // Fresh machines have no package lists; only root can fetch them.
    if (process.getuid?.() !== 0) throw err;
    log('apt-get download found no prometheus package; running apt-get update once …');
    execFileSync('apt-get', ['update', '-q'], { stdio: 'pipe', timeout: 600_000 });
    fetchDeb();
  }
  const deb = readdirSync(download).find((f) => /^prometheus_.*\.deb$/.test(f));
  if (!deb) throw new Error(`apt-get download left no prometheus_*.deb in ${download}`);
  log(
    `Installing promtool and prometheus from Debian's package ${deb} (unpacked into ${join(home, 'deb')}, no service) …`,
  );
  const staging = join(home, 'deb.partial');
  rmSync(staging, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-x', join(download, deb), staging], { stdio: 'pipe', timeout: 300_000 });
  const root = join(home, 'deb');
  rmSync(root, { recursive: true, force: true });
  renameSync(staging, root);
  rmSync(download, { recursive: true, force: true });
  const tools = { promtool: join(bin, 'promtool'), prometheus: join(bin, 'prometheus') };
  for (const name of ['promtool', 'prometheus'] as const) {
    rmSync(tools[name], { force: true });
    // Relative, so the link survives the checkout being moved.
    symlinkSync(join('..', 'deb', 'usr', 'bin', name), tools[name]);
  }
  writeFileSync(join(home, 'installed.json'), `${JSON.stringify({ source: 'debian', package: deb }, null, 2)}\n`);
  return tools;
}

/**
 * Builds promtool (and prometheus) from the pinned Go module inside a throwaway module that repeats the
 * module's replace directives (which `go install pkg@version` refuses).
 */
function installFromGo(go: string, home: string, bin: string, withServer: boolean, log: (line: string) => void): void {
  const version = PROMETHEUS_GO_MODULE_VERSION;
  log(
    `Building promtool${withServer ? ' and prometheus' : ''} from ${GO_MODULE}@${version} with ${go} into ${bin} (minutes, once) …`,
  );
  const work = join(home, 'go-build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' };
  const run = (args: string[]) =>
    execFileSync(go, args, { cwd: work, env, stdio: 'pipe', timeout: 3_600_000, maxBuffer: 64 << 20 });
  const info = JSON.parse(run(['mod', 'download', '-json', `${GO_MODULE}@${version}`]).toString()) as {
    GoMod?: string;
  };
  const replaces = info.GoMod ? replaceDirectives(readFileSync(info.GoMod, 'utf8')) : [];
  writeFileSync(
    join(work, 'go.mod'),
    ['module tidemark.local/prometheus-build', '', 'go 1.24', '', ...replaces.map((r) => `replace ${r}`), ''].join(
      '\n',
    ),
  );
  run(['get', `${GO_MODULE}/cmd/promtool@${version}`]);
  const commands = withServer ? ['promtool', 'prometheus'] : ['promtool'];
  // Prometheus' release tooling stamps the version; a plain build must say it itself, or `--version` is empty.
  const ldflags = `-X github.com/prometheus/common/version.Version=${prometheusReleaseOf(version)}`;
  for (const cmd of commands)
    run(['build', '-trimpath', '-ldflags', ldflags, '-o', join(bin, cmd), `${GO_MODULE}/cmd/${cmd}`]);
  writeFileSync(
    join(home, 'installed.json'),
    `${JSON.stringify({ source: 'go', module: `${GO_MODULE}@${version}` }, null, 2)}\n`,
  );
  rmSync(work, { recursive: true, force: true });
}

/** The `replace` directives of a go.mod (single-line and block form), each as `old => new`. */
export function replaceDirectives(goMod: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (inBlock) {
      if (line === ')') inBlock = false;
      else if (line.includes('=>')) out.push(line);
    } else if (/^replace\s*\($/.test(line)) {
      inBlock = true;
    } else if (line.startsWith('replace ') && line.includes('=>')) {
      out.push(line.slice('replace '.length).trim());
    }
  }
  return out;
}
