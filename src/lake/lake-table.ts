/** Where a table lives in the lake: the stores and the layout every step of the commit protocol works on. */
import type { BlobStore } from './blob-store.js';
import type { TableLayout } from './layout.js';

/** Where a table lives and which stores to use (`stateStore` may be a non-WORM container). */
export interface LakeTable {
  readonly store: BlobStore;
  /** Store of `_state/` (the only mutable object); defaults to `store`. */
  readonly stateStore?: BlobStore;
  readonly layout: TableLayout;
}
