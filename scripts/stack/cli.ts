/**
 * `npm run stack:up | stack:down | stack:status` — the local stack (Azurite + Temporal dev server).
 * Options: --azurite-port N, --temporal-port N, --temporal-ui-port N, --state-dir DIR, --help (see cli-args.ts).
 * Exit codes: 0 done; 1 the stack could not start or a part is down (the message says what to do); 2 bad
 * arguments (usage printed); 3 `status`: the stack is not running.
 */
import { stackDown, stackStatus, stackUp, type StackOptions } from './stack.js';
import { StackStartError } from './process.js';
import { parseStackArgs, STACK_USAGE, type StackVerb } from './cli-args.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function run(verb: StackVerb, options: StackOptions): Promise<number> {
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
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseStackArgs(argv);
  if (args.kind === 'help') {
    process.stdout.write(STACK_USAGE);
    return 0;
  }
  if (args.kind === 'error') {
    process.stderr.write(`stack: ${args.message}\n\n${STACK_USAGE}`);
    return 2;
  }
  return run(args.verb, args.options);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof StackStartError ? err.message : String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
