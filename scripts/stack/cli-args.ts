/**
 * Arguments of `npm run stack:up | stack:down | stack:status`, parsed without throwing: `--help` (any verb) asks
 * for the usage; an unknown option or a bad port is a message for the operator, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_STACK_OPTIONS, type StackOptions } from './stack.js';

export const STACK_USAGE = [
  'Usage: npm run stack:up | stack:down | stack:status [-- OPTIONS]',
  '',
  '  stack:up      start Azurite (Blob) and the Temporal dev server (with its Web UI), detached;',
  "                registers Tidemark's search attributes; state and logs in .tidemark/",
  '  stack:down    stop what stack:up started',
  '  stack:status  show what runs and where (exit 3 when the stack is not running)',
  '',
  'Options:',
  `  --azurite-port N       Azurite's blob port (default ${DEFAULT_STACK_OPTIONS.azuritePort}; env TIDEMARK_AZURITE_PORT)`,
  `  --temporal-port N      Temporal's gRPC port (default ${DEFAULT_STACK_OPTIONS.temporalPort}; env TIDEMARK_TEMPORAL_PORT)`,
  `  --temporal-ui-port N   the Web UI's port (default ${DEFAULT_STACK_OPTIONS.temporalUiPort}; env TIDEMARK_TEMPORAL_UI_PORT)`,
  '  --state-dir DIR        where state, data and logs live (default .tidemark)',
  '  -h, --help             this text',
  '',
].join('\n');

export type StackVerb = 'up' | 'down' | 'status';

export type StackArgs =
  { kind: 'run'; verb: StackVerb; options: StackOptions } | { kind: 'help' } | { kind: 'error'; message: string };

const VERBS: readonly string[] = ['up', 'down', 'status'];

function port(flag: string, text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : `--${flag} must be a port number (1-65535), not "${text}"`;
}

/** Parses `<verb> [options]` (the npm scripts pass the verb first). */
export function parseStackArgs(argv: readonly string[]): StackArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'azurite-port': { type: 'string' },
        'temporal-port': { type: 'string' },
        'temporal-ui-port': { type: 'string' },
        'state-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // Node's text goes on about positionals after `--`, which is no help here: keep its first sentence.
    return { kind: 'error', message: (err as Error).message.split('. To specify')[0] ?? String(err) };
  }
  const { positionals, values } = parsed;
  if (values.help || positionals.includes('help')) return { kind: 'help' };
  const [verb, ...extra] = positionals;
  if (verb === undefined || !VERBS.includes(verb))
    return { kind: 'error', message: verb === undefined ? 'no command given' : `unknown command "${verb}"` };
  if (extra.length > 0) return { kind: 'error', message: `unexpected argument "${extra[0]}"` };
  const ports = {
    azuritePort: port('azurite-port', values['azurite-port']),
    temporalPort: port('temporal-port', values['temporal-port']),
    temporalUiPort: port('temporal-ui-port', values['temporal-ui-port']),
  };
  const bad = Object.values(ports).find((p): p is string => typeof p === 'string');
  if (bad) return { kind: 'error', message: bad };
  const options: StackOptions = { ...DEFAULT_STACK_OPTIONS };
  if (values['state-dir']) options.stateDir = resolve(values['state-dir']);
  if (typeof ports.azuritePort === 'number') options.azuritePort = ports.azuritePort;
  if (typeof ports.temporalPort === 'number') options.temporalPort = ports.temporalPort;
  if (typeof ports.temporalUiPort === 'number') options.temporalUiPort = ports.temporalUiPort;
  return { kind: 'run', verb: verb as StackVerb, options };
}
