/**
 * `tidemark codec-server [--port 8081] [--host 127.0.0.1] [--cors-origins URL,URL] [--config FILE]`: serves
 * Temporal's Codec Server protocol with the configured payload keys, so the Temporal Web UI (Settings → Codec
 * Server) and `temporal workflow show --codec-endpoint URL` show Tidemark's encrypted payloads decoded. The keys
 * never leave this process. Off loopback it needs a bearer token in TIDEMARK_CODEC_TOKEN, which the Web UI must
 * send. Runs until interrupted.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';

const DEV_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];

export const command: CliCommand = {
  summary: 'decode encrypted Temporal payloads for the Web UI and the temporal CLI (Codec Server protocol)',
  usage: 'tidemark codec-server [--port 8081] [--host 127.0.0.1] [--cors-origins URL,URL] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      {
        flags: {
          port: { type: 'string', default: '8081' },
          host: { type: 'string', default: '127.0.0.1' },
          'cors-origins': { type: 'string' },
        },
        check: (values) => {
          if (!/^\d{1,5}$/.test(values.port ?? '')) throw new UsageError('--port must be a port number');
        },
      },
      async ({ config, values }) => {
        const { resolveSecret } = await import('../config/secrets.js');
        const { configuredPayloadKeys } = await import('../temporal/data-converter.js');
        const { AesGcmPayloadCodec } = await import('../temporal/payload-codec.js');
        const { startCodecServer } = await import('../temporal/codec-server.js');
        const keys = await configuredPayloadKeys(config.temporal, resolveSecret);
        if (!keys) {
          io.stderr.write(
            'temporal.payloadKeys is not set in the config: Temporal payloads are not encrypted, so there is ' +
              'nothing to decode. Set it (e.g. payloadKeys: ${TIDEMARK_PAYLOAD_KEYS}) on the workers and the CLI first.\n',
          );
          return EXIT.invalidInput;
        }
        const codec = new AesGcmPayloadCodec(keys);
        const origins = values['cors-origins']?.split(',').map((o) => o.trim()) ?? DEV_UI_ORIGINS;
        const token = io.env.TIDEMARK_CODEC_TOKEN;
        const server = await startCodecServer({
          codec,
          host: values.host,
          port: Number(values.port),
          corsOrigins: origins,
          ...(token ? { token } : {}),
        });
        io.stdout.write(
          `codec server: ${server.url} (sealing key '${codec.activeKeyId}', ${keys.length} key(s); CORS ${origins.join(', ')}` +
            `${token ? '; bearer token required' : '; loopback only, no token'})\n` +
            `  Web UI: Settings → Codec Server → ${server.url}    CLI: temporal workflow show --codec-endpoint ${server.url} …\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
        return EXIT.ok;
      },
    ),
};
