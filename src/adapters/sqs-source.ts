// src/adapters/: the outside world behind the small interfaces of src/types.ts — the only code that
// imports an SDK: job sources (this one; a local directory), blob stores, search indexes, thumbnail sinks.
//
// SQS as a JobSource. Each received message becomes a lease; one heartbeat timer keeps every held
// lease invisible (batched ChangeMessageVisibilityBatch) until it is acked (deleted) or released.
// Receipt handles stay in a private map keyed by the lease object: they never leave this module and
// are never logged.
//
// Ack outcomes, per entry of DeleteMessageBatch:
//   - Successful                -> the lease ends.
//   - Failed with SenderFault   -> the lease ends too, and is NOT reported as failed. The request itself
//     was wrong for this handle (ReceiptHandleIsInvalid, an expired handle): sending it again cannot
//     succeed. The message becomes visible again and is processed again; indexing is idempotent.
//   - Failed without SenderFault (an internal error on AWS's side), or the whole call failing
//     (throttling, 5xx, network) -> reported in `failed`; the lease stays held and heartbeated, so the
//     caller may retry the ack.
// Acking or releasing a lease that has already ended is a no-op.
// Telemetry here covers the heartbeat only; receive/delete/release counts belong to the stages that
// call this source (src/stages/receive.ts, delete.ts, src/flow/settle.ts), so nothing is counted twice.
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type BatchResultErrorEntry,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyDependencyError, errorMessage, MalformedMessageError, type WorkerError } from '../errors.ts';
import { parseMessageBody } from './s3-events.ts';
import { silentLogger, type Logger } from '../telemetry/log.ts';
import { noTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import type { AckResult, Delivery, JobSource, Lease } from '../types.ts';

/** The one method used from SQSClient, so tests can hand in a stub. */
export type SqsSender = { send: SQSClient['send'] };

export type SqsJobSourceOptions = {
  client: SqsSender;
  queueUrl: string;
  /** Long-poll wait, 0..20 s. */
  waitTimeSeconds: number;
  /** Visibility set at receive and renewed by each heartbeat, s. */
  visibilityTimeoutSeconds: number;
  /** Period of the heartbeat, s; must be well under the visibility timeout. */
  heartbeatSeconds: number;
  telemetry?: Telemetry;
  logger?: Logger;
  now?: () => number;
};

const MAX_VISIBILITY_SECONDS = 43_200;
const SQS_BATCH = 10;
/** How long close() lets live polls pick up the leases it just released. */
const CLOSE_POLL_GRACE_MS = 2_000;
/** Entry codes that mean "this receipt handle is no longer ours": retrying cannot help. */
const LOST_HANDLE_CODES = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight', 'InvalidParameterValue']);

type Held = {
  lease: Lease;
  handle: string;
  /** An ack is in flight: a second ack/release of this lease is a no-op meanwhile. */
  ending: boolean;
};

export class SqsJobSource implements JobSource {
  readonly kind = 'sqs';
  readonly #client: SqsSender;
  readonly #queueUrl: string;
  readonly #waitTimeSeconds: number;
  readonly #visibilityTimeoutSeconds: number;
  readonly #heartbeatMs: number;
  readonly #telemetry: Telemetry;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #held = new Map<Lease, Held>();
  readonly #closing = new AbortController();
  /** Long polls in flight: close() lets them take back what it releases before cutting them. */
  readonly #polls = new Set<Promise<Delivery[]>>();
  #timer: NodeJS.Timeout | undefined;
  /** The heartbeat in progress, so release() can wait for it instead of racing it. */
  #beat: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(o: SqsJobSourceOptions) {
    if (!o.queueUrl) throw new TypeError('SqsJobSource: queueUrl is required');
    if (!(Number.isInteger(o.waitTimeSeconds) && o.waitTimeSeconds >= 0 && o.waitTimeSeconds <= 20)) {
      throw new RangeError(`SqsJobSource: waitTimeSeconds must be an integer 0..20, got ${o.waitTimeSeconds}`);
    }
    if (!(Number.isInteger(o.visibilityTimeoutSeconds) && o.visibilityTimeoutSeconds >= 1 && o.visibilityTimeoutSeconds <= MAX_VISIBILITY_SECONDS)) {
      throw new RangeError(`SqsJobSource: visibilityTimeoutSeconds must be an integer 1..${MAX_VISIBILITY_SECONDS}, got ${o.visibilityTimeoutSeconds}`);
    }
    if (!(o.heartbeatSeconds > 0 && o.heartbeatSeconds < o.visibilityTimeoutSeconds)) {
      throw new RangeError(`SqsJobSource: heartbeatSeconds must be > 0 and under visibilityTimeoutSeconds (${o.visibilityTimeoutSeconds}), got ${o.heartbeatSeconds}`);
    }
    this.#client = o.client;
    this.#queueUrl = o.queueUrl;
    this.#waitTimeSeconds = o.waitTimeSeconds;
    this.#visibilityTimeoutSeconds = o.visibilityTimeoutSeconds;
    this.#heartbeatMs = o.heartbeatSeconds * 1000;
    this.#telemetry = o.telemetry ?? noTelemetry;
    this.#log = o.logger ?? silentLogger;
    this.#now = o.now ?? Date.now;
  }

  async receive(max: number, signal: AbortSignal): Promise<Delivery[]> {
    if (this.#closed || signal.aborted || max < 1) return [];
    const run = this.#receive(Math.min(Math.floor(max), SQS_BATCH), AbortSignal.any([signal, this.#closing.signal]));
    this.#polls.add(run);
    try {
      return await run;
    } finally {
      this.#polls.delete(run);
    }
  }

  async #receive(max: number, abort: AbortSignal): Promise<Delivery[]> {
    let messages: Message[];
    try {
      const out = await this.#client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: this.#waitTimeSeconds,
          VisibilityTimeout: this.#visibilityTimeoutSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
        { abortSignal: abort },
      );
      messages = out.Messages ?? [];
    } catch (err) {
      if (abort.aborted) return []; // the idle long poll was cut short (shutdown)
      throw classifyDependencyError(err, 'SQS ReceiveMessage');
    }
    if (this.#closed) {
      // close() ran while this poll was in flight: give the messages straight back.
      await this.#changeVisibilityBatch(messages.flatMap((m) => (m.ReceiptHandle ? [m.ReceiptHandle] : [])), 0);
      return [];
    }
    return this.#lease(messages);
  }

  #lease(messages: Message[]): Delivery[] {
    if (messages.length === 0) return [];
    const receivedAt = this.#now();
    const deliveries: Delivery[] = [];
    for (const m of messages) {
      if (!m.MessageId || !m.ReceiptHandle) {
        this.#log.warn({ messageId: m.MessageId }, 'SQS message without MessageId or ReceiptHandle ignored');
        continue;
      }
      const receiveCount = Number(m.Attributes?.ApproximateReceiveCount);
      const lease: Lease = Object.freeze({
        id: m.MessageId,
        receiveCount: Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
        receivedAt,
      });
      this.#held.set(lease, { lease, handle: m.ReceiptHandle, ending: false });
      deliveries.push(this.#parse(lease, m.Body));
    }
    this.#scheduleHeartbeat();
    return deliveries;
  }

  #parse(lease: Lease, body: string | undefined): Delivery {
    try {
      if (body === undefined) throw new MalformedMessageError('message has no body');
      return { lease, jobs: parseMessageBody(body) };
    } catch (err) {
      const malformed: WorkerError = err instanceof MalformedMessageError ? err : new MalformedMessageError(`unparseable message: ${errorMessage(err)}`, { cause: err });
      this.#log.warn({ messageId: lease.id, receiveCount: lease.receiveCount, err: malformed }, 'malformed SQS message');
      return { lease, malformed };
    }
  }

  async ack(leases: Lease[]): Promise<AckResult> {
    const failed: Lease[] = [];
    const live = leases.flatMap((l) => {
      const h = this.#held.get(l);
      if (!h || h.ending) return []; // already ended (or ending): acking again is a no-op
      h.ending = true;
      return [h];
    });
    for (let i = 0; i < live.length; i += SQS_BATCH) {
      failed.push(...(await this.#deleteBatch(live.slice(i, i + SQS_BATCH))));
    }
    return { failed };
  }

  async #deleteBatch(batch: Held[]): Promise<Lease[]> {
    let out;
    try {
      out = await this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((h, i) => ({ Id: String(i), ReceiptHandle: h.handle })),
        }),
      );
    } catch (err) {
      for (const h of batch) h.ending = false;
      this.#log.warn({ count: batch.length, err: classifyDependencyError(err, 'SQS DeleteMessageBatch') }, 'delete batch failed; leases kept');
      return batch.map((h) => h.lease);
    }
    const failedById = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
    const succeeded = new Set((out.Successful ?? []).map((s) => s.Id));
    const failed: Lease[] = [];
    batch.forEach((h, i) => {
      const id = String(i);
      const f = failedById.get(id);
      if (succeeded.has(id) && !f) {
        this.#held.delete(h.lease);
      } else if (f?.SenderFault) {
        // Retrying this handle cannot work: end the lease; the message comes back and is redone.
        this.#held.delete(h.lease);
        this.#log.warn({ messageId: h.lease.id, code: f.Code, reason: f.Message }, 'SQS refused to delete message; it will be delivered again');
      } else {
        h.ending = false;
        failed.push(h.lease);
        this.#log.warn({ messageId: h.lease.id, code: f?.Code ?? 'missing-from-response' }, 'SQS delete failed; lease kept for retry');
      }
    });
    return failed;
  }

  async release(lease: Lease, delaySeconds: number): Promise<void> {
    const h = this.#held.get(lease);
    if (!h || h.ending) return;
    this.#held.delete(lease);
    const visibility = clampVisibility(delaySeconds);
    // A heartbeat already on the wire could land after this call and undo the delay: let it finish.
    await this.#beat;
    try {
      await this.#client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: h.handle, VisibilityTimeout: visibility }),
      );
    } catch (err) {
      const code = errorCode(err);
      // Either way the lease has ended: at worst the message returns when its current visibility lapses.
      if (LOST_HANDLE_CODES.has(code)) this.#log.debug({ messageId: lease.id, code }, 'release of a message no longer in flight');
      else this.#log.warn({ messageId: lease.id, code, err }, 'release failed; message returns when its visibility lapses');
    }
  }

  inFlight(): { count: number; oldestAgeSeconds: number } {
    let oldest = Infinity;
    for (const h of this.#held.values()) oldest = Math.min(oldest, h.lease.receivedAt);
    const count = this.#held.size;
    return { count, oldestAgeSeconds: count ? Math.max(0, (this.#now() - oldest) / 1000) : 0 };
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#beat;
    // Leases in the middle of an ack are left to it; every other lease goes back at once.
    const remaining = [...this.#held.values()].filter((h) => !h.ending);
    for (const h of remaining) this.#held.delete(h.lease);
    // Release BEFORE cutting our long polls. SQS (and fauxqs) keep serving a poll whose client has
    // gone: a message released after the abort can be taken by that dead poll and stay invisible for a
    // whole visibility timeout. Released first, it wakes our own live poll, whose receive() sees the
    // source closed and releases it again.
    await this.#changeVisibilityBatch(remaining.map((h) => h.handle), 0);
    if (remaining.length && this.#polls.size) {
      await Promise.race([Promise.allSettled([...this.#polls]), sleep(CLOSE_POLL_GRACE_MS, undefined, { ref: false })]);
    }
    this.#closing.abort();
    if (remaining.length) this.#log.info({ count: remaining.length }, 'released leases at shutdown');
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat: one timer for all leases; the next beat is scheduled only after this one is done.

  #scheduleHeartbeat(): void {
    if (this.#timer || this.#beat || this.#closed || this.#held.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#beat = this.#heartbeat().finally(() => {
        this.#beat = undefined;
        this.#scheduleHeartbeat();
      });
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  async #heartbeat(): Promise<void> {
    const entries = [...this.#held.values()];
    const batches: Held[][] = [];
    for (let i = 0; i < entries.length; i += SQS_BATCH) batches.push(entries.slice(i, i + SQS_BATCH));
    await Promise.all(batches.map((b) => this.#extendBatch(b)));
  }

  async #extendBatch(batch: Held[]): Promise<void> {
    let out;
    try {
      out = await this.#client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((h, i) => ({ Id: String(i), ReceiptHandle: h.handle, VisibilityTimeout: this.#visibilityTimeoutSeconds })),
        }),
        // A beat that cannot finish before the next is due is not worth waiting for.
        { abortSignal: AbortSignal.timeout(Math.max(this.#heartbeatMs, 1000)) },
      );
    } catch (err) {
      this.#telemetry.heartbeatFailed(batch.length);
      this.#log.warn({ count: batch.length, err }, 'heartbeat failed; will try again');
      return;
    }
    const failed = new Map<string, BatchResultErrorEntry>((out.Failed ?? []).map((f) => [f.Id ?? '', f]));
    let extended = 0;
    let failures = 0;
    batch.forEach((h, i) => {
      const f = failed.get(String(i));
      if (!f) {
        extended++;
        return;
      }
      if (this.#held.get(h.lease) !== h) return; // acked or released meanwhile: nothing lost
      failures++;
      if (LOST_HANDLE_CODES.has(f.Code ?? '') || f.SenderFault) {
        this.#held.delete(h.lease);
        this.#log.warn({ messageId: h.lease.id, code: f.Code }, 'lease lost: SQS no longer holds the message for us; it will be delivered again');
      } else {
        this.#log.warn({ messageId: h.lease.id, code: f.Code }, 'heartbeat entry failed; will try again');
      }
    });
    if (extended) this.#telemetry.heartbeatExtended(extended);
    if (failures) this.#telemetry.heartbeatFailed(failures);
  }

  /** ChangeMessageVisibilityBatch for raw handles, in groups of 10; failures are logged only. */
  async #changeVisibilityBatch(handles: string[], visibility: number): Promise<void> {
    for (let i = 0; i < handles.length; i += SQS_BATCH) {
      const group = handles.slice(i, i + SQS_BATCH);
      try {
        const out = await this.#client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: group.map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: visibility })),
          }),
        );
        if (out.Failed?.length) this.#log.warn({ count: out.Failed.length, codes: out.Failed.map((f) => f.Code) }, 'some messages could not be released');
      } catch (err) {
        this.#log.warn({ count: group.length, err }, 'release batch failed; messages return when their visibility lapses');
      }
    }
  }
}

function clampVisibility(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(seconds));
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; Code?: string };
  return e?.Code ?? e?.name ?? '';
}
