// A real SQS + S3 for tests: fauxqs in-process on 127.0.0.1, a queue with a redrive policy to a DLQ,
// a bucket, SDK clients pointed at it, and helpers that build genuine S3 event notifications.
//
// fauxqs facts checked by test/sqs-source.test.ts (verified against fauxqs 2.4.1):
//   - RedrivePolicy/maxReceiveCount is honoured the AWS way: a message is moved to the DLQ by the
//     receive that would make its receive count exceed maxReceiveCount (so only when someone polls).
//   - ChangeMessageVisibility(Batch) works; visibility 0 makes the message receivable at once.
//   - DeleteMessageBatch never reports Failed entries (like AWS for stale handles): ack failures need
//     a stubbed client.
//   - No S3 versioning: VersionId on GetObject is ignored; If-Match on GetObject is honoured (412).
//   - Single PutObject bodies are capped near 11 MiB (fastify bodyLimit): putObject() switches to a
//     multipart Upload above 5 MiB.
//   - A long poll cancelled by the client keeps waiting on the server until WaitTimeSeconds; a message
//     sent meanwhile can be taken by that dead poll and stays invisible for the visibility timeout
//     (real SQS behaves the same way).
//   - Queue URLs are looked up by name, whatever the host: the fixture's queueUrl uses the endpoint's
//     host (http://127.0.0.1:PORT/000000000000/jobs) so nothing needs *.localhost DNS.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export type FixtureOptions = {
  /** Receives before a message goes to the DLQ (RedrivePolicy maxReceiveCount). Default 3. */
  maxReceiveCount?: number;
  /** The queue's default VisibilityTimeout, s. Default 30. */
  visibilityTimeout?: number;
};

export type S3EventAction = 'upsert' | 'remove';

export type S3EventExtras = {
  /** Overrides the S3 event name (default ObjectCreated:Put / ObjectRemoved:Delete). */
  eventName?: string;
  bucket?: string;
  /** Unquoted ETag; for upserts it is read with HeadObject when not given. */
  etag?: string;
  size?: number;
  versionId?: string;
  sequencer?: string;
  /** SQS DelaySeconds for the message. */
  delaySeconds?: number;
  /** Wrap the notification in an SNS envelope, as an S3 -> SNS -> SQS chain delivers it. */
  sns?: boolean;
};

export type QueueCounts = { visible: number; inFlight: number; delayed: number };
export type DlqMessage = { messageId: string; body: string; receiveCount: number };
export type PutResult = { etag: string; size: number };

export type SqsS3Fixture = {
  endpoint: string;
  region: string;
  sqs: SQSClient;
  s3: S3Client;
  queueUrl: string;
  dlqUrl: string;
  bucket: string;
  /** Environment for a worker process (or loadConfig) pointed at this fixture. */
  env: Record<string, string>;
  /** The fauxqs server itself, for inspectQueue() and friends. */
  server: FauxqsServer;
  putObject(key: string, body: string | Uint8Array | { path: string }, opts?: { contentType?: string }): Promise<PutResult>;
  deleteObject(key: string): Promise<void>;
  sendS3Event(action: S3EventAction, key: string, extras?: S3EventExtras): Promise<{ messageId: string; body: string; sequencer: string }>;
  sendRaw(body: string, opts?: { delaySeconds?: number }): Promise<string>;
  queueCounts(): Promise<QueueCounts>;
  dlqCount(): Promise<number>;
  /** Drains the DLQ: receives every message in it, deletes them and returns them. */
  receiveAllFromDlq(): Promise<DlqMessage[]>;
  stop(): Promise<void>;
};

const QUEUE = 'jobs';
const DLQ = 'jobs-dlq';
const BUCKET = 'filesearch-test';
const REGION = 'us-east-1';
const MULTIPART_THRESHOLD = 5 * 1024 * 1024;

export async function startSqsS3Fixture(opts: FixtureOptions = {}): Promise<SqsS3Fixture> {
  const maxReceiveCount = opts.maxReceiveCount ?? 3;
  const visibilityTimeout = opts.visibilityTimeout ?? 30;
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = server.address;
  const dlq = server.createQueue(DLQ);
  server.createQueue(QUEUE, {
    attributes: {
      VisibilityTimeout: String(visibilityTimeout),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: String(maxReceiveCount) }),
    },
  });
  server.createBucket(BUCKET);
  const queueUrl = `${endpoint}/000000000000/${QUEUE}`;
  const dlqUrl = `${endpoint}/000000000000/${DLQ}`;

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const sqs = new SQSClient({ endpoint, region: REGION, credentials, useQueueUrlAsEndpoint: false, maxAttempts: 1 });
  const s3 = new S3Client({ endpoint, region: REGION, credentials, forcePathStyle: true, maxAttempts: 1 });

  let lastSequencer = 0n;
  const nextSequencer = (): string => {
    // S3 sequencers are hex, longer means later when compared padded; keep them increasing.
    const now = BigInt(Date.now()) << 16n;
    lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
    return lastSequencer.toString(16).toUpperCase().padStart(18, '0');
  };

  const fixture: SqsS3Fixture = {
    endpoint,
    region: REGION,
    sqs,
    s3,
    queueUrl,
    dlqUrl,
    bucket: BUCKET,
    server,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      S3_FORCE_PATH_STYLE: 'true',
      QUEUE_URL: queueUrl,
    },

    async putObject(key, body, o = {}) {
      let size: number;
      let payload: string | Uint8Array | NodeJS.ReadableStream;
      if (typeof body === 'object' && 'path' in body) {
        size = (await stat(body.path)).size;
        payload = size > MULTIPART_THRESHOLD ? createReadStream(body.path) : await readFile(body.path);
      } else {
        size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
        payload = body;
      }
      if (size > MULTIPART_THRESHOLD) {
        const upload = new Upload({
          client: s3,
          params: { Bucket: BUCKET, Key: key, Body: payload as Uint8Array, ContentType: o.contentType },
          partSize: MULTIPART_THRESHOLD,
          queueSize: 2,
        });
        const out = await upload.done();
        return { etag: unquote(out.ETag ?? ''), size };
      }
      const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: payload as Uint8Array, ContentType: o.contentType }));
      return { etag: unquote(out.ETag ?? ''), size };
    },

    async deleteObject(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    },

    async sendS3Event(action, key, extras = {}) {
      const bucket = extras.bucket ?? BUCKET;
      let { etag, size } = extras;
      if (action === 'upsert' && (etag === undefined || size === undefined)) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        etag ??= unquote(head.ETag ?? '');
        size ??= head.ContentLength;
      }
      const sequencer = extras.sequencer ?? nextSequencer();
      const notification = s3EventNotification({
        eventName: extras.eventName ?? (action === 'upsert' ? 'ObjectCreated:Put' : 'ObjectRemoved:Delete'),
        bucket,
        key,
        region: REGION,
        etag: action === 'upsert' ? etag : undefined,
        size: action === 'upsert' ? size : undefined,
        versionId: extras.versionId,
        sequencer,
      });
      const body = extras.sns ? snsEnvelope(notification) : notification;
      const messageId = await fixture.sendRaw(body, { delaySeconds: extras.delaySeconds });
      return { messageId, body, sequencer };
    },

    async sendRaw(body, o = {}) {
      const out = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: o.delaySeconds }));
      return out.MessageId ?? '';
    },

    async queueCounts() {
      // From fauxqs's own view: GetQueueAttributes counts a message whose visibility lapsed as still
      // in flight until the next receive, which makes "did it come back?" assertions flaky.
      const q = server.inspectQueue(QUEUE);
      if (!q) throw new Error(`fixture queue ${QUEUE} is gone`);
      const now = Date.now();
      const lapsed = q.messages.inflight.filter((m) => m.visibilityDeadline <= now).length;
      const due = q.messages.delayed.filter((m) => (m.delayUntil ?? 0) <= now).length;
      return {
        visible: q.messages.ready.length + lapsed + due,
        inFlight: q.messages.inflight.length - lapsed,
        delayed: q.messages.delayed.length - due,
      };
    },

    async dlqCount() {
      const q = server.inspectQueue(DLQ);
      if (!q) throw new Error(`fixture queue ${DLQ} is gone`);
      return q.messages.ready.length + q.messages.inflight.length + q.messages.delayed.length;
    },

    async receiveAllFromDlq() {
      const all: DlqMessage[] = [];
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
        );
        const msgs = out.Messages ?? [];
        if (msgs.length === 0) return all;
        for (const m of msgs) {
          all.push({ messageId: m.MessageId ?? '', body: m.Body ?? '', receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0) });
        }
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      }
    },

    async stop() {
      sqs.destroy();
      s3.destroy();
      await server.stop();
    },
  };
  return fixture;
}

/** Encodes a key the way S3 notifications do: form-url-encoding ("+" for space), "/" left as is. */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

/** A genuine S3 event notification body (event structure version 2.1) for one object. */
export function s3EventNotification(o: {
  eventName: string;
  bucket: string;
  key: string;
  region?: string;
  etag?: string;
  size?: number;
  versionId?: string;
  sequencer: string;
}): string {
  const object: Record<string, unknown> = { key: encodeS3EventKey(o.key), sequencer: o.sequencer };
  if (o.size !== undefined) object.size = o.size;
  if (o.etag !== undefined) object.eTag = o.etag;
  if (o.versionId !== undefined) object.versionId = o.versionId;
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: o.region ?? REGION,
        eventTime: new Date().toISOString(),
        eventName: o.eventName,
        userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'filesearch',
          bucket: { name: o.bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${o.bucket}` },
          object,
        },
      },
    ],
  });
}

/** Wraps a message the way SNS delivers it to an SQS subscriber (raw delivery off). */
export function snsEnvelope(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: crypto.randomUUID(),
    TopicArn: `arn:aws:sns:${REGION}:000000000000:s3-events`,
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  });
}

function unquote(etag: string): string {
  return etag.replace(/^"+|"+$/g, '');
}
