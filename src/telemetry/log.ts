// JSON lines to stdout (pino). Never log credentials, receipt handles or document text.
import { pino } from 'pino';
import { redactUrl } from '../errors.ts';

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? redactUrl(err) : err;
  const out = pino.stdSerializers.err(err) as Record<string, unknown>;
  for (const k of ['message', 'stack'] as const) if (typeof out[k] === 'string') out[k] = redactUrl(out[k] as string);
  return out;
}

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL || 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'filesearch-worker' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['receiptHandle', '*.receiptHandle', 'ReceiptHandle', '*.ReceiptHandle', 'text', '*.text', 'credentials', '*.credentials'], remove: true },
      // Errors go under `err`, as pino's err serializer writes them (type, message, stack, cause), with
      // any URL's user info redacted.
      serializers: { err: serializeError },
      hooks: {
        // A URL with a password may reach a log line through an error message or a string field.
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactUrl(args[i] as string);
          return method.apply(this, args);
        },
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
