/**
 * Tidemark configuration: the one place that turns a YAML file into typed, validated values.
 *
 * The file format is documented by `tidemark.example.yaml` at the repository root and by the TSDoc of
 * `types.ts`. Entry points: {@link loadConfig} for processes, {@link parseConfig} for tests and tools,
 * {@link maskSecrets} / {@link renderConfig} before anything is shown, {@link phiColumnNames} for the logger.
 */
import { type TidemarkConfig } from './types.js';

export * from './types.js';
export { ConfigError, CONFIG_ERROR_TYPE, formatIssues, type ConfigIssue } from './config-error.js';
export {
  parseConfig,
  loadConfig,
  readConfigFile,
  type ParseResult,
  type ParseOptions,
  type LoadOptions,
} from './load.js';
export { maskSecrets, maskConnectionString, renderConfig, MASK } from './mask.js';
export { parseDuration, formatDuration, durationOf } from './duration.js';
export { DEFAULTS } from './defaults.js';
export { CAPTURE_PARAMETERS, NEEDS_NIGHTLY } from './sections/capture.js';
export { isLoopback } from './sections/shared-fields.js';
export { temporalHost } from './sections/temporal.js';
export { type Env } from './interpolate.js';

/** Every PHI column named in any table (whatever its action), for the logger's redaction. */
export function phiColumnNames(config: TidemarkConfig): string[] {
  return [...new Set(config.tables.flatMap((t) => t.phi.flatMap((rule) => rule.columns)))];
}
