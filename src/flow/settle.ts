// Settle: a message whose tasks are all done ends exactly once — acked (queued for batch delete) or,
// if a task failed in a way a retry can help, released with a backoff from its receive count.
// Malformed messages are released too (never deleted), so the redrive policy moves them to the DLQ.
import type { Channel } from './channel.ts';
import { WorkerError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { DOC_STATUSES, type DocStatus, type JobSource, type Lease } from '../types.ts';
import { type MessageOutcome, type MessageStatus, messageOutcomeFields } from '../telemetry/log-fields.ts';
import { type MessageState, type Task, type TaskOutcome, retryDelaySeconds, worse } from './work.ts';

function isDocStatus(s: string): s is DocStatus {
  return (DOC_STATUSES as readonly string[]).includes(s);
}

/**
 * A task that failed wrote nothing for its object. Whatever the reason, deleting the message would
 * lose the object: it goes back to the queue, and the redrive policy moves it to the DLQ if it keeps
 * failing. (Stages store what they can — metadata with status failed — before they report a failure.)
 */
function keepable(error: WorkerError): WorkerError {
  if (error.kind !== 'permanent') return error;
  return new WorkerError('retryable', error.code, `${error.message} (nothing was written; kept for redrive)`, { cause: error });
}

export type SettlerOptions = { retryBaseSeconds: number; retryMaxSeconds: number };

export class Settler {
  #source: JobSource;
  #deletes: Channel<Lease>;
  #telemetry: Telemetry;
  #logger: Logger;
  #opts: SettlerOptions;
  /** Messages received and not yet settled: released at the shutdown deadline. */
  readonly open = new Set<MessageState>();

  constructor(source: JobSource, deletes: Channel<Lease>, telemetry: Telemetry, logger: Logger, opts: SettlerOptions) {
    this.#source = source;
    this.#deletes = deletes;
    this.#telemetry = telemetry;
    this.#logger = logger;
    this.#opts = opts;
  }

  track(msg: MessageState): void {
    this.open.add(msg);
  }

  /** A task of a message has ended. */
  async finish(task: Task, outcome: TaskOutcome, error?: WorkerError): Promise<void> {
    const msg = task.msg;
    if (task.file) {
      const file = task.file;
      task.file = undefined;
      await file.dispose().catch((err) => this.#logger.warn({ err }, 'could not remove temp file'));
    }
    if (error) msg.error = worse(msg.error, outcome === 'failed' ? keepable(error) : error);
    if (outcome === 'failed') msg.statuses.push('error');
    else if (task.doc) msg.statuses.push(task.doc.status);
    else msg.statuses.push(outcome === 'skipped' ? 'skipped' : outcome === 'ok' ? (task.spec.action === 'remove' ? 'removed' : 'ok') : 'error');
    msg.pending--;
    if (msg.pending <= 0) await this.#end(msg);
  }

  /** A message with nothing to do (s3:TestEvent, an unchanged local file): ack it now. */
  async empty(msg: MessageState): Promise<void> {
    await this.#end(msg);
  }

  /** A message whose body could not be parsed. */
  async malformed(msg: MessageState, error: WorkerError): Promise<void> {
    msg.error = error;
    await this.#end(msg);
  }

  async #end(msg: MessageState): Promise<void> {
    if (msg.settled) return;
    msg.settled = true;
    this.open.delete(msg);
    const err = msg.error;
    const outcome = (status: MessageStatus, retryInSeconds?: number): MessageOutcome => ({
      messageId: msg.lease.id,
      sources: msg.sources,
      status,
      stageMs: msg.ms,
      totalMs: Date.now() - msg.lease.receivedAt,
      receiveCount: msg.lease.receiveCount,
      documents: msg.statuses.filter(isDocStatus),
      ...(retryInSeconds !== undefined ? { retryInSeconds } : {}),
      ...(err ? { error: err.message } : {}),
    });
    try {
      if (err && err.kind !== 'permanent') {
        // Retryable: back off by receive count. Malformed: never deleted; the redrive policy moves it
        // to the DLQ after maxReceiveCount.
        const delay = retryDelaySeconds(msg.lease.receiveCount, this.#opts.retryBaseSeconds, this.#opts.retryMaxSeconds);
        const status = err.kind === 'malformed' ? 'malformed' : 'retry';
        this.#logger.warn(messageOutcomeFields(outcome(status, delay)), status === 'malformed' ? 'malformed message released for redrive' : 'message released for retry');
        this.#telemetry.messageReleased(status);
        await this.#source.release(msg.lease, delay);
      } else {
        this.#logger.info(messageOutcomeFields(outcome('deleted')), 'message done');
        await this.#deletes.push(msg.lease);
      }
    } catch (e) {
      this.#logger.warn({ messageId: msg.lease.id, err: e }, 'could not settle message; it will reappear after its visibility timeout');
    }
  }

  /** At the shutdown deadline: give every unsettled message back at once (visibility 0). */
  async releaseAll(): Promise<number> {
    const msgs = [...this.open];
    for (const msg of msgs) {
      msg.settled = true;
      this.open.delete(msg);
    }
    await Promise.all(
      msgs.map((msg) =>
        this.#source.release(msg.lease, 0).then(
          () => this.#telemetry.messageReleased('shutdown'),
          (e) => this.#logger.warn({ messageId: msg.lease.id, err: e }, 'release at shutdown failed'),
        ),
      ),
    );
    return msgs.length;
  }
}
