/** `tables[].limits.maxChunkRowsPerSecond`: optional, a whole number ≥ 1 when given (issue 14, snapshot fan-out). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, invalid, issueAt, valid, variant } from './fixtures.js';

test('maxChunkRowsPerSecond is absent unless given: chunk reads stay uncapped by default', () => {
  const [table] = valid(BASE).tables;
  assert.equal(table?.limits.maxChunkRowsPerSecond, undefined);
});

test('maxChunkRowsPerSecond caps each chunk activity when given', () => {
  const text = variant((d) => {
    d.tables[0]!.limits = { maxChunkRowsPerSecond: 2000 };
  });
  assert.equal(valid(text).tables[0]?.limits.maxChunkRowsPerSecond, 2000);
});

test('maxChunkRowsPerSecond 0 is refused at its path with a fix', () => {
  const text = variant((d) => {
    d.tables[0]!.limits = { maxChunkRowsPerSecond: 0 };
  });
  const issue = issueAt(invalid(text), 'tables[0].limits.maxChunkRowsPerSecond');
  assert.match(issue.message, /must be between 1 and 1000000/);
  assert.match(issue.fix, /maxChunkRowsPerSecond: 20000/);
});
