import { parseArgs } from 'node:util';
import { UsageError } from '../command.js';

type Flags = Parameters<typeof parseArgs>[0] extends infer T ? (T extends { options?: infer O } ? O : never) : never;

/** parseArgs with usage errors the dispatcher understands; positional arguments only when `positionals` says so. */
export function parseFlags<O extends NonNullable<Flags>>(
  args: readonly string[],
  options: O,
  { positionals = false }: { positionals?: boolean } = {},
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
