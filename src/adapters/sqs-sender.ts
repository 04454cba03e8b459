// Puts jobs on the queue the worker consumes, as plain {bucket, key[, etag, size][, force]} messages in
// SendMessageBatch calls of 10, at most `maxRate` messages a second. Used by backfill, reconcile and
// reprocess; the worker itself never sends (its IAM role needs no sqs:SendMessage).
import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { classifyDependencyError, RetryableError } from '../errors.ts';
import { backoffMs } from '../flow/backoff.ts';
import { createPacer } from '../flow/pacer.ts';
import type { ObjectRef } from '../types.ts';

export type SqsSenderClient = { send: SQSClient['send'] };

export type JobMessage = { ref: ObjectRef; action?: 'upsert' | 'remove'; /** Redo even if indexed and cached. */ force?: boolean };

export class JobSender {
  readonly #client: SqsSenderClient;
  readonly #queueUrl: string;
  readonly #pace: (n: number) => Promise<void>;
  readonly #pending: JobMessage[] = [];
  sent = 0;

  /** maxRate: messages per second (Infinity: as fast as SQS takes them). */
  constructor(client: SqsSenderClient, queueUrl: string, maxRate = Infinity) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#pace = createPacer(maxRate);
  }

  async add(job: JobMessage): Promise<void> {
    this.#pending.push(job);
    if (this.#pending.length >= 10) await this.flush();
  }

  async flush(): Promise<void> {
    while (this.#pending.length) {
      const batch = this.#pending.splice(0, 10);
      await this.#pace(batch.length);
      await this.#send(batch);
      this.sent += batch.length;
    }
  }

  async #send(batch: JobMessage[]): Promise<void> {
    let entries = batch.map((j, i) => ({ Id: String(i), MessageBody: JSON.stringify(body(j)) }));
    for (let attempt = 0; ; attempt++) {
      let failed: string[];
      try {
        const res = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }));
        failed = (res.Failed ?? []).map((f) => f.Id!).filter(Boolean);
      } catch (err) {
        const e = classifyDependencyError(err, 'SQS SendMessageBatch');
        if (!e.retryable || attempt >= 5) throw e;
        await sleep(backoffMs(attempt, { baseMs: 200, maxMs: 5_000, jitter: 0.5 }));
        continue;
      }
      if (failed.length === 0) return;
      if (attempt >= 5) throw new RetryableError(`SQS SendMessageBatch: ${failed.length} messages still refused after ${attempt + 1} tries`);
      entries = entries.filter((e) => failed.includes(e.Id));
      await sleep(backoffMs(attempt, { baseMs: 200, maxMs: 5_000, jitter: 0.5 }));
    }
  }
}

function body(j: JobMessage): Record<string, unknown> {
  const { bucket, key, etag, size } = j.ref;
  return { bucket, key, ...(etag ? { etag } : {}), ...(size !== undefined ? { size } : {}), ...(j.action === 'remove' ? { action: 'remove' } : {}), ...(j.force ? { force: true } : {}) };
}
