/**
 * Validates OpenLineage events against the official JSON schemas vendored in test/fixtures/openlineage (see its
 * README): each event against `OpenLineage.json#/$defs/RunEvent`, and each facet against the facet schema its
 * `_schemaURL` names (a facet whose schema is not vendored is an error). The validator is Python `jsonschema`
 * (draft 2020-12, the spec's dialect) in the project's virtualenv, installed pinned when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTemporalBinaries } from '../../scripts/stack/temporal.js';

export const JSONSCHEMA_VERSION = '4.26.0';
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'openlineage');

const VALIDATE_PY = `
import json, sys, pathlib
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
root = pathlib.Path(sys.argv[1])
docs = [json.loads(p.read_text()) for p in [root / 'OpenLineage.json', *sorted((root / 'facets').glob('*.json'))]]
registry = Registry().with_resources([(d['$id'], Resource.from_contents(d)) for d in docs])
def check(schema_url, instance, where, errors):
    v = Draft202012Validator({'$ref': schema_url}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for e in v.iter_errors(instance):
        errors.append(f"{where}: {e.message} at {'/'.join(map(str, e.absolute_path))}")
def facets(obj, where, errors):
    for name, f in (obj or {}).items():
        url = f.get('_schemaURL', '')
        if url.split('#')[0] not in registry:
            errors.append(f"{where}.{name}: schema {url} is not vendored")
            continue
        check(url, f, f"{where}.{name}", errors)
out = []
for n, ev in enumerate(json.load(sys.stdin)):
    errors = []
    check(ev['schemaURL'], ev, f"event {n}", errors)
    facets(ev.get('run', {}).get('facets'), f"event {n} run", errors)
    facets(ev.get('job', {}).get('facets'), f"event {n} job", errors)
    for kind in ('inputs', 'outputs'):
        for d in ev.get(kind, []):
            facets(d.get('facets'), f"event {n} {kind} {d['name']}", errors)
            facets(d.get('inputFacets'), f"event {n} {kind} {d['name']} inputFacets", errors)
            facets(d.get('outputFacets'), f"event {n} {kind} {d['name']} outputFacets", errors)
    out.extend(errors)
print(json.dumps(out))
`;

function python(): string {
  const stateDir = join(process.cwd(), '.tidemark');
  ensureTemporalBinaries(stateDir); // creates the venv if needed
  const py = join(stateDir, 'venv', 'bin', 'python');
  if (!existsSync(py)) throw new Error(`no virtualenv python at ${py}`);
  try {
    execFileSync(py, ['-c', 'import jsonschema, referencing'], { stdio: 'pipe' });
  } catch {
    execFileSync(
      join(stateDir, 'venv', 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `jsonschema==${JSONSCHEMA_VERSION}`],
      { stdio: 'pipe' },
    );
  }
  return py;
}

/** The schema violations of `events` (empty: all valid). */
export function openLineageProblems(events: readonly unknown[]): string[] {
  const out = execFileSync(python(), ['-c', VALIDATE_PY, FIXTURES], {
    input: JSON.stringify(events),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as string[];
}
