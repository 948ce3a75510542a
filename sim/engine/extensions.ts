/**
 * Part 2 extensions of the engine (CDC, Change Tracking, security), installed by `createEngine`. Each lives in
 * its own folder and reaches the engine only through the admin API (procedures, functions, table functions,
 * commit and DDL listeners), so the engine core stays unaware of them.
 */
import type { SimEngine } from './index.js';
import { installCdc } from './cdc/index.js';
import { installChangeTracking } from './change-tracking/index.js';
import { installSecurity } from './security/index.js';
import { installReplica } from './replica/index.js';

export function installExtensions(engine: SimEngine): void {
  installCdc(engine);
  installChangeTracking(engine);
  installSecurity(engine);
  installReplica(engine);
}
