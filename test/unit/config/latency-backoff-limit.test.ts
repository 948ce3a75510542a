/** `tables[].limits.latencyBackoff`: off by default; a percent, or a map with the probe (issue 14, OLTP impact). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, invalid, issueAt, valid, variant } from './fixtures.js';

const withBackoff = (latencyBackoff: unknown) =>
  variant((d) => {
    d.tables[0]!.limits = { latencyBackoff };
  });

test('latencyBackoff is off unless given', () => {
  assert.equal(valid(BASE).tables[0]?.limits.latencyBackoff, undefined);
  assert.equal(valid(withBackoff('off')).tables[0]?.limits.latencyBackoff, undefined);
});

test('a percent turns it on with the default probe (SELECT 1 every 250ms)', () => {
  const lb = valid(withBackoff(5)).tables[0]?.limits.latencyBackoff;
  assert.equal(lb?.maxIncreasePercent, 5);
  assert.equal(lb?.probe, 'SELECT 1');
  assert.equal(lb?.probeInterval.ms, 250);
});

test('the map form names its probe and interval', () => {
  const lb = valid(
    withBackoff({
      maxIncreasePercent: 10,
      probe: 'SELECT TOP (1) ClaimId FROM dbo.Claims WHERE ClaimId = 1',
      probeInterval: '1s',
    }),
  ).tables[0]?.limits.latencyBackoff;
  assert.equal(lb?.maxIncreasePercent, 10);
  assert.match(lb?.probe ?? '', /^SELECT TOP/);
  assert.equal(lb?.probeInterval.ms, 1000);
});

test('a percent of 0 or a word is refused at its path with a fix', () => {
  const zero = issueAt(invalid(withBackoff(0)), 'tables[0].limits.latencyBackoff');
  assert.match(zero.message, /between 1 and 1000/);
  assert.match(zero.fix, /latencyBackoff: 5/);
  const word = issueAt(invalid(withBackoff('on')), 'tables[0].limits.latencyBackoff');
  assert.match(word.message, /off, a percent or a map/);
  assert.match(word.fix, /latencyBackoff: off/);
});

test('the map needs maxIncreasePercent, and a probe that is one plain SELECT', () => {
  const missing = issueAt(
    invalid(withBackoff({ probe: 'SELECT 1' })),
    'tables[0].limits.latencyBackoff.maxIncreasePercent',
  );
  assert.match(missing.message + missing.fix, /maxIncreasePercent/);
  for (const probe of ['DELETE FROM dbo.Claims', 'SELECT 1; DROP TABLE x', 'SELECT * FROM dbo.Claims WITH (NOLOCK)']) {
    const issue = issueAt(
      invalid(withBackoff({ maxIncreasePercent: 5, probe })),
      'tables[0].limits.latencyBackoff.probe',
    );
    assert.match(issue.message, /SELECT|hint/, probe);
  }
  const fast = issueAt(
    invalid(withBackoff({ maxIncreasePercent: 5, probeInterval: '10ms' })),
    'tables[0].limits.latencyBackoff.probeInterval',
  );
  assert.match(fast.message, /at least 100ms/);
});

test('the floor of the back-off is 100 rows/s unless minRowsPerSecond says otherwise', () => {
  assert.equal(valid(withBackoff(5)).tables[0]?.limits.latencyBackoff?.minRowsPerSecond, 100);
  const lb = valid(withBackoff({ maxIncreasePercent: 5, minRowsPerSecond: 500 })).tables[0]?.limits.latencyBackoff;
  assert.equal(lb?.minRowsPerSecond, 500);
  // The default floor under a smaller cap is no mistake: the law lowers it to the cap.
  const small = variant((d) => {
    d.tables[0]!.limits = { maxRowsPerSecond: 50, latencyBackoff: 5 };
  });
  assert.equal(valid(small).tables[0]?.limits.latencyBackoff?.minRowsPerSecond, 100);
});

test('a floor above the table cap, or below 1, is refused at its path with what to do', () => {
  const above = issueAt(
    invalid(
      variant((d) => {
        d.tables[0]!.limits = {
          maxRowsPerSecond: 2000,
          latencyBackoff: { maxIncreasePercent: 5, minRowsPerSecond: 5000 },
        };
      }),
    ),
    'tables[0].limits.latencyBackoff.minRowsPerSecond',
  );
  assert.match(above.message, /above maxRowsPerSecond \(2000\).*never slow/);
  assert.match(above.fix, /lower minRowsPerSecond to at most 2000.*or raise maxRowsPerSecond/);
  // Above the default cap (5,000 rows/s) too, when maxRowsPerSecond is not written.
  issueAt(
    invalid(withBackoff({ maxIncreasePercent: 5, minRowsPerSecond: 6000 })),
    'tables[0].limits.latencyBackoff.minRowsPerSecond',
  );
  const zero = issueAt(
    invalid(withBackoff({ maxIncreasePercent: 5, minRowsPerSecond: 0 })),
    'tables[0].limits.latencyBackoff.minRowsPerSecond',
  );
  assert.match(zero.message, /at least 1|between 1/);
});
