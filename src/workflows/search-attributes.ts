/** Search attributes the Web UI filters Tidemark runs by (registered by the stack; see scripts/stack/temporal.ts). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TABLE_KEY = defineSearchAttributeKey('TidemarkTable', SearchAttributeType.KEYWORD);
export const STRATEGY_KEY = defineSearchAttributeKey('TidemarkStrategy', SearchAttributeType.KEYWORD);
export const STATE_KEY = defineSearchAttributeKey('TidemarkState', SearchAttributeType.KEYWORD);
