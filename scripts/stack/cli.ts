/**
 * `npm run stack:up | stack:down | stack:status` — the local stack (Azurite + Temporal dev server).
 * Options: --azurite-port N, --temporal-port N, --temporal-ui-port N, --state-dir DIR.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_STACK_OPTIONS, stackDown, stackStatus, stackUp, type StackOptions } from './stack.js';
import { StackStartError } from './process.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'azurite-port': { type: 'string' },
    'temporal-port': { type: 'string' },
    'temporal-ui-port': { type: 'string' },
    'state-dir': { type: 'string' },
  },
});

const options: StackOptions = {
  ...DEFAULT_STACK_OPTIONS,
  ...(values['state-dir'] ? { stateDir: resolve(values['state-dir']) } : {}),
  ...(values['azurite-port'] ? { azuritePort: Number(values['azurite-port']) } : {}),
  ...(values['temporal-port'] ? { temporalPort: Number(values['temporal-port']) } : {}),
  ...(values['temporal-ui-port'] ? { temporalUiPort: Number(values['temporal-ui-port']) } : {}),
};

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(verb: string | undefined): Promise<number> {
  switch (verb) {
    case 'up': {
      const state = await stackUp(options, say);
      say(`Azurite (Blob):      ${state.services[0]?.endpoint}/devstoreaccount1`);
      say(`Temporal (gRPC):     ${state.temporalAddress}`);
      say(`Temporal Web UI:     ${state.temporalUi}`);
      say(`Logs:                ${options.stateDir}/logs`);
      say('Stop with: npm run stack:down');
      return 0;
    }
    case 'down': {
      const results = await stackDown(options.stateDir);
      if (results.length === 0) say('No stack is recorded as running.');
      for (const r of results) say(`${r.name}: ${r.result}`);
      return 0;
    }
    case 'status': {
      const services = await stackStatus(options.stateDir);
      if (services.length === 0) {
        say('The stack is not running (start it with: npm run stack:up).');
        return 3;
      }
      for (const s of services) {
        say(
          `${s.name.padEnd(9)} ${s.running ? 'running' : 'STOPPED'} pid ${s.pid}  ${s.endpoint}  ${s.listening ? 'listening' : 'NOT listening'}`,
        );
      }
      return services.every((s) => s.running && s.listening) ? 0 : 1;
    }
    default:
      say('usage: stack up | down | status  [--azurite-port N] [--temporal-port N] [--temporal-ui-port N]');
      return 2;
  }
}

main(positionals[0]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof StackStartError ? err.message : String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
