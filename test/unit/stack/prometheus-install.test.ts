/**
 * The pure parts of the promtool installer (scripts/stack/prometheus.ts): the replace directives copied into the
 * throwaway build module, and the release a Go module version stands for (stamped into `--version`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusReleaseOf, promtoolVersion, replaceDirectives } from '../../../scripts/stack/prometheus.js';

test('replace directives are read in single-line and block form, comments and excludes left out', () => {
  const goMod = [
    'module github.com/prometheus/prometheus',
    '',
    'exclude github.com/linode/linodego v1.0.0',
    '',
    '// Pin to avoid a breaking change.',
    'replace cloud.google.com/go => cloud.google.com/go v0.123.0 // keep',
    '',
    'replace (',
    '\tk8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0',
    '\t// a comment line',
    ')',
  ].join('\n');
  assert.deepEqual(replaceDirectives(goMod), [
    'cloud.google.com/go => cloud.google.com/go v0.123.0',
    'k8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0',
  ]);
  assert.deepEqual(replaceDirectives('module x\n\nrequire y v1.0.0\n'), []);
});

test('a Go module version names its Prometheus release', () => {
  assert.equal(prometheusReleaseOf('v0.315.1'), '3.15.1');
  assert.equal(prometheusReleaseOf('v0.300.0'), '3.0.0');
  assert.equal(prometheusReleaseOf('v0.54.1'), '2.54.1');
  assert.equal(prometheusReleaseOf('v1.99.0'), 'v1.99.0');
});

test('a promtool that runs but prints no version (a plain go build) still counts as working', (t) => {
  // A stand-in for the binary: what a promtool built without Prometheus' release tooling prints.
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-promtool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fake = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  assert.equal(
    promtoolVersion(fake('versionless', "echo 'promtool, version  (branch: , revision: unknown)'")),
    'unknown',
  );
  assert.equal(promtoolVersion(fake('debian', "echo 'promtool, version 2.42.0+ds (branch: debian/sid)'")), '2.42.0+ds');
  assert.equal(promtoolVersion(fake('broken', 'exit 1')), undefined);
});
