// JSON lines to stdout (pino). Never log credentials, receipt handles or document text.
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL || 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'filesearch-worker' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['receiptHandle', '*.receiptHandle', 'ReceiptHandle', '*.ReceiptHandle', 'text', '*.text', 'credentials', '*.credentials'], remove: true },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
