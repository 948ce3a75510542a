/**
 * The pure parts of the promtool installer (scripts/stack/prometheus.ts): the replace directives copied into the
 * throwaway build module, and the release a Go module version stands for (stamped into `--version`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prometheusReleaseOf, replaceDirectives } from '../../../scripts/stack/prometheus.js';

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
