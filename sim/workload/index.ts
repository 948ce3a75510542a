/** The claims workload generator (library API). */
export {
  ClaimsWorkload,
  DEFAULT_MIX,
  MAX_CLAIMS_PER_STATEMENT,
  type ClaimsWorkloadOptions,
  type WorkloadEvent,
  type WorkloadMix,
} from './claims-workload.js';
export { CLAIMS_TABLES, CLAIM_LINES_ADDED_COLUMNS, CLAIM_LINES_WIDENING } from './claims-schema.js';
