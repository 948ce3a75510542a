/**
 * The engine's cache of parsed statements, keyed by the exact SQL text (a batch, or sp_executesql's
 * @statement): a text sent again — a parameterised statement with other parameter values, a repeated query —
 * is not tokenized and parsed again. It holds parse trees only: names are bound to tables and columns, and
 * access paths chosen, at every execution, so a cached entry cannot carry stale schema. Still, every DDL
 * statement empties the cache (see {@link ParsedStatementCache.invalidate}), so that no parse outlives a schema
 * change even if binding is ever cached with it.
 *
 * Bounded: at most {@link MAX_ENTRIES} texts, least recently used evicted first, and texts longer than
 * {@link MAX_TEXT_LENGTH} characters are parsed without caching (a literal bulk INSERT is unique and large).
 * Nor is a batch that inserts rows of literal values (`INSERT … VALUES (1, 'a'), (2, 'b')`, no variable in
 * them): its text is unique too, so its tree — hundreds of nodes for a 20-row INSERT — would only wait in the
 * cache until evicted, long enough for the collector to promote it to the old generation, where it is garbage
 * that brings the next full collection nearer (see docs/performance.md, "The simulator under sustained load").
 * Parse trees are never mutated by execution, so sessions share them. Failed parses are not cached.
 */
import type { ParsedStatement } from './ast.js';
import { parseBatch } from './parser.js';

const MAX_ENTRIES = 512;
const MAX_TEXT_LENGTH = 16_384;

export class ParsedStatementCache {
  private readonly entries = new Map<string, ParsedStatement[]>();
  hits = 0;
  misses = 0;
  invalidations = 0;

  /** The statements of `sql`, from the cache or parsed now (a syntax error is thrown, not cached). */
  parse(sql: string): ParsedStatement[] {
    if (sql.length > MAX_TEXT_LENGTH) return parseBatch(sql);
    const hit = this.entries.get(sql);
    if (hit) {
      this.hits++;
      this.entries.delete(sql); // most recently used last
      this.entries.set(sql, hit);
      return hit;
    }
    this.misses++;
    const parsed = parseBatch(sql);
    if (parsed.some(insertsLiteralRows)) return parsed;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(sql, parsed);
    return parsed;
  }

  /** Forgets every cached text: called after each DDL statement (any database). */
  invalidate(): void {
    if (this.entries.size) this.invalidations++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** An INSERT of more than one row of VALUES that name no variable (a parameterised one is sent again). */
function insertsLiteralRows({ stmt }: ParsedStatement): boolean {
  if (stmt.kind !== 'insert' || !stmt.values || stmt.values.length < 2) return false;
  return !stmt.values.some((row) => row.some(mentionsVariable));
}

/** Whether a variable appears anywhere in a parse tree's node (CASE arms, subqueries and calls included). */
function mentionsVariable(node: unknown): boolean {
  if (typeof node !== 'object' || node === null || Buffer.isBuffer(node)) return false;
  if ((node as { kind?: unknown }).kind === 'variable') return true;
  for (const v of Array.isArray(node) ? (node as unknown[]) : Object.values(node)) if (mentionsVariable(v)) return true;
  return false;
}
