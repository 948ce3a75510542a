/** The worker's lineage emitter from the config's `lineage` section (docs/lineage.md); undefined without one. */
import type { TidemarkConfig } from '../config/types.js';
import { resolveSecret } from '../config/secrets.js';
import { LineageEmitter, type LineageEmitterOptions } from '../lineage/emitter.js';
import type { Logger } from '../util/logger.js';
import type { ActivityDeps } from './dependencies.js';

export async function lineageEmitterOf(
  config: TidemarkConfig,
  deps: ActivityDeps,
  logger: Logger,
  onFailure?: LineageEmitterOptions['onFailure'],
): Promise<LineageEmitter | undefined> {
  const l = config.lineage;
  if (!l || (!l.endpoint && !l.lake)) return undefined;
  return new LineageEmitter({
    ...(l.endpoint ? { endpoint: l.endpoint } : {}),
    ...(l.apiKey ? { apiKey: await resolveSecret(l.apiKey) } : {}),
    ...(l.lake ? { lake: deps.store } : {}),
    logger: logger.child({ component: 'lineage' }),
    ...(onFailure ? { onFailure } : {}),
  });
}
