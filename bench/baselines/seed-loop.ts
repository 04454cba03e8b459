// The seed's minimal worker loop, ported as it was: ReceiveMessage for 5 messages with a 10 s long
// poll, then for each message in turn download -> extract -> index one document -> DeleteMessage,
// and only then the next receive. No heartbeat, no batching, no overlap: the baseline the pipeline
// replaces. It uses the project's S3 download, extractor and index adapters, so the comparison
// measures the control plane (how calls are made), not different stage code.
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseMessageBody } from '../../src/adapters/s3-events.ts';
import { documentId, nameOf } from '../../src/ids.ts';
import { extractedDocument } from '../../src/stages/document.ts';
import { newMessageState, type Task } from '../../src/flow/work.ts';
import type { BlobStore, ExtractLimits, Extractor, JobSpec, SearchIndex } from '../../src/types.ts';

export type SeedLoopOptions = {
  sqs: SQSClient;
  queueUrl: string;
  blobs: BlobStore;
  extractor: Extractor;
  index: SearchIndex;
  tmpDir: string;
  maxBytes: number;
  limits: ExtractLimits;
  ocrLangs: string;
  /** Called after each DeleteMessage. */
  onDeleted(): void;
  shouldStop(): boolean;
};

export async function runSeedLoop(o: SeedLoopOptions): Promise<void> {
  while (!o.shouldStop()) {
    const out = await o.sqs.send(new ReceiveMessageCommand({ QueueUrl: o.queueUrl, MaxNumberOfMessages: 5, WaitTimeSeconds: 10 }));
    for (const m of out.Messages ?? []) {
      try {
        for (const job of parseMessageBody(m.Body ?? '')) await handle(o, job);
      } catch (err) {
        // The seed logged and moved on; the message was deleted all the same.
        process.stderr.write(`seed loop: ${String(err)}\n`);
      }
      await o.sqs.send(new DeleteMessageCommand({ QueueUrl: o.queueUrl, ReceiptHandle: m.ReceiptHandle }));
      o.onDeleted();
    }
  }
}

async function handle(o: SeedLoopOptions, job: JobSpec): Promise<void> {
  const { ref } = job;
  const id = documentId(ref.bucket, ref.key);
  if (job.action === 'remove') {
    await o.index.write([{ kind: 'remove', id }]);
    return;
  }
  const file = await o.blobs.download(ref, { dir: o.tmpDir, maxBytes: o.maxBytes });
  try {
    const r = await o.extractor.extract({
      path: file.path,
      name: nameOf(ref.key),
      ...(file.contentType ? { contentType: file.contentType } : {}),
      size: file.size,
      limits: o.limits,
      ocrLangs: o.ocrLangs,
      wantThumbnail: false,
    });
    // The same document the pipeline would write, built by the pipeline's own function.
    const task: Task = { msg: newMessageState({ id, receiveCount: 1, receivedAt: Date.now() }, 1), spec: job, id, file, reservedBytes: 0 };
    const doc = extractedDocument(task, r, undefined);
    await o.index.write([{ kind: 'upsert', doc }]);
  } finally {
    await file.dispose();
  }
}
