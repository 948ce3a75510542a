/** `tables[].capture`: the capture strategy and the parameters each one takes. */
import { DEFAULTS } from '../defaults.js';
import { durationOf } from '../duration.js';
import { type ObjectReader } from '../reader.js';
import { type CaptureConfig, type CaptureStrategy } from '../types.js';
import { checkSqlName, hasRequiredSection } from './shared-fields.js';

/** Capture strategies and the parameters each takes. */
export const CAPTURE_PARAMETERS: Readonly<Record<CaptureStrategy, readonly string[]>> = {
  cdc: ['captureInstance'],
  change_tracking: [],
  rowversion: ['column'],
  updated_at: ['column', 'lookback', 'safetyLag'],
  identity: ['column'],
};

const STRATEGIES = Object.keys(CAPTURE_PARAMETERS) as CaptureStrategy[];

/** Strategies that cannot see deletes (and, for identity, updates): they need the nightly window. */
export const NEEDS_NIGHTLY: readonly CaptureStrategy[] = ['rowversion', 'updated_at', 'identity'];

export function readCapture(table: ObjectReader): CaptureConfig {
  const fallback: CaptureConfig = { strategy: 'change_tracking' };
  const given = hasRequiredSection(
    table,
    'capture',
    `missing: how changes are captured (strategy one of ${STRATEGIES.join(', ')})`,
    'add `capture: { strategy: cdc }` (or the strategy that fits the table)',
  );
  if (!given) return fallback;
  const raw = table.raw('capture');
  // `capture: cdc` is a natural shorthand for strategies without parameters; accept it.
  const o = table.checker.object(
    table.at('capture'),
    typeof raw === 'string' ? { strategy: raw } : raw,
    'the capture section',
  );
  const strategy = o.variant('strategy', CAPTURE_PARAMETERS, 'capture strategy');
  if (strategy === undefined) return fallback;
  const column = (what: string, example: string): string =>
    o.requiredString('column', { what, example, check: checkSqlName });
  switch (strategy) {
    case 'cdc': {
      const captureInstance = o.optionalString('captureInstance', {
        what: 'the CDC capture instance',
        example: 'dbo_Claims',
        check: (s) =>
          s.length <= 100 && checkSqlName(s) === undefined
            ? undefined
            : {
                message: 'is not a capture instance name',
                fix: 'write the capture_instance as listed by `sys.sp_cdc_help_change_data_capture` (at most 100 characters)',
              },
      });
      return captureInstance === undefined ? { strategy } : { strategy, captureInstance };
    }
    case 'change_tracking':
      return { strategy };
    case 'rowversion':
      return { strategy, column: column('the rowversion column', 'RowVer') };
    case 'identity':
      return { strategy, column: column('the identity column', 'Id') };
    case 'updated_at':
      return {
        strategy,
        column: column('the last-updated datetime column', 'UpdatedAt'),
        lookback: o.duration('lookback', {
          what: 'the lookback (overlap re-read each window)',
          example: '15m',
          fallback: DEFAULTS.updatedAtLookback,
          max: durationOf(24 * 3_600_000),
        }),
        safetyLag: o.duration('safetyLag', {
          what: 'the safety lag behind the source clock',
          example: '2m',
          fallback: DEFAULTS.updatedAtSafetyLag,
          max: durationOf(3_600_000),
        }),
      };
  }
}
