/**
 * Two experiments on `tedious`' token parser, for bench/driver-read-cpu.ts only (never installed by Tidemark; the
 * one-`Date` datetime2/date read that was the third is shipped: src/source/date-decode.ts):
 * how much of the driver's CPU per row is its asynchronous plumbing rather than reading values? Both keep
 * tedious' own value readers (`readValue`), so the values and tokens are the ones tedious makes; what changes is
 * how many promises and microtask hops a row costs.
 *
 * - `syncRows`: a ROW / NBCROW token whose bytes are all in the buffer is read synchronously (tedious' row
 *   parsers are `async` functions, called through another `async` method: two promises and their hops per row,
 *   even when nothing is awaited). A row that straddles a chunk, or has a PLP (max) column, takes tedious' own
 *   parser from the token's start.
 * - `syncDispatch`: on top of that, the token stream is not an async generator read by `Readable.from` (a
 *   `next()` promise and an `await` per token) but a loop that hands every token of the buffered chunk to the
 *   handler at once and awaits only the next chunk (or `resume` after a `pause`).
 *
 * Each `install…` returns the function that puts tedious back as it was, so variants alternate in one process.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

const fromHere = createRequire(import.meta.url);
const fromTedious = createRequire(fromHere.resolve('tedious'));

interface Metadata {
  type: { name: string };
  scale?: number;
}
interface StreamParser {
  buffer: Buffer;
  position: number;
  colMetadata: Metadata[];
  options: { useColumnNames: boolean };
  waitForChunk(): Promise<void>;
  readToken(type: number): unknown;
  readNbcRowToken: (this: StreamParser) => unknown;
  readRowToken: (this: StreamParser) => unknown;
}
type StreamParserClass = (new (iterable: unknown, debug: unknown, options: unknown) => StreamParser) & {
  prototype: StreamParser;
};
type Token = { handlerName: string };

const Parser = fromTedious('./token/stream-parser') as StreamParserClass;
const valueParser = fromTedious('./value-parser') as {
  readValue: (buf: Buffer, offset: number, metadata: Metadata, options: unknown) => { value: unknown; offset: number };
  isPLPStream: (metadata: Metadata) => boolean;
};
const helpers = fromTedious('./token/helpers') as {
  NotEnoughDataError: new (bytes: number) => Error;
};
const { NotEnoughDataError } = helpers;
const tokens = fromTedious('./token/token') as {
  NBCRowToken: new (columns: unknown) => Token;
  RowToken: new (columns: unknown) => Token;
};
const tokenStreamParser = fromTedious('./token/token-stream-parser') as { Parser: unknown };

/** Reads one row's values from `pos`, or undefined when a value is not all in the buffer (or is PLP). */
function readColumns(
  parser: StreamParser,
  pos: number,
  isNull: ((i: number) => boolean) | undefined,
): { columns: { value: unknown; metadata: Metadata }[]; end: number } | undefined {
  const meta = parser.colMetadata;
  const buf = parser.buffer;
  const columns: { value: unknown; metadata: Metadata }[] = [];
  for (let i = 0; i < meta.length; i++) {
    const metadata = meta[i]!;
    if (isNull?.(i)) {
      columns.push({ value: null, metadata });
      continue;
    }
    if (valueParser.isPLPStream(metadata)) return undefined;
    let r;
    try {
      r = valueParser.readValue(buf, pos, metadata, parser.options);
    } catch (err) {
      if (err instanceof NotEnoughDataError) return undefined;
      throw err;
    }
    pos = r.offset;
    columns.push({ value: r.value, metadata });
  }
  return { columns, end: pos };
}

export function installSyncRows(): () => void {
  const proto = Parser.prototype;
  const nbc = proto.readNbcRowToken;
  const row = proto.readRowToken;
  proto.readNbcRowToken = function (this: StreamParser) {
    if (this.options.useColumnNames) return nbc.call(this);
    const start = this.position;
    const bitmapBytes = Math.ceil(this.colMetadata.length / 8);
    if (this.buffer.length - start >= bitmapBytes) {
      const buf = this.buffer;
      const read = readColumns(this, start + bitmapBytes, (i) => ((buf[start + (i >> 3)]! >> (i & 7)) & 1) === 1);
      if (read) {
        this.position = read.end;
        return new tokens.NBCRowToken(read.columns);
      }
    }
    return nbc.call(this);
  };
  proto.readRowToken = function (this: StreamParser) {
    if (this.options.useColumnNames) return row.call(this);
    const read = readColumns(this, this.position, undefined);
    if (read) {
      this.position = read.end;
      return new tokens.RowToken(read.columns);
    }
    return row.call(this);
  };
  return () => {
    proto.readNbcRowToken = nbc;
    proto.readRowToken = row;
  };
}

/** The token stream parser with synchronous dispatch (same constructor and events as tedious' own). */
class SyncDispatchParser extends EventEmitter {
  private readonly parser: StreamParser;
  private paused = false;
  private wake: (() => void) | undefined;
  constructor(
    message: unknown,
    private readonly debug: { token(t: unknown): void },
    private readonly handler: Record<string, (t: unknown) => void>,
    options: unknown,
  ) {
    super();
    this.parser = new Parser(message, debug, options);
    process.nextTick(() => {
      this.run().then(
        () => this.emit('end'),
        (err: unknown) => process.nextTick(() => this.emit('error', err)),
      );
    });
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  private async run(): Promise<void> {
    const p = this.parser;
    for (;;) {
      try {
        await p.waitForChunk();
      } catch (err) {
        if (p.position === p.buffer.length) return;
        throw err;
      }
      while (p.buffer.length >= p.position + 1) {
        while (this.paused) await new Promise<void>((r) => (this.wake = r));
        const type = p.buffer.readUInt8(p.position);
        p.position += 1;
        let token = p.readToken(type) as Token | Promise<Token | undefined> | undefined;
        if (token instanceof Promise) token = await token;
        if (token !== undefined) {
          this.debug.token(token);
          this.handler[token.handlerName]!(token);
        }
      }
    }
  }
}

export function installSyncDispatch(): () => void {
  const restoreRows = installSyncRows();
  const original = tokenStreamParser.Parser;
  tokenStreamParser.Parser = SyncDispatchParser;
  return () => {
    tokenStreamParser.Parser = original;
    restoreRows();
  };
}
