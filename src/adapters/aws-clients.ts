// Builds the SQS and S3 clients. The SDK reads AWS_REGION, AWS_ENDPOINT_URL(_SQS/_S3) and the
// credential chain itself; this module adds what the worker needs on top: timeouts, modest SDK retries
// (the pipeline retries by releasing messages with a backoff) and path-style S3 for emulators.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';

type Env = Record<string, string | undefined>;

export type AwsClientOptions = {
  /** SDK attempts per call (1 = no SDK retry). AWS_MAX_ATTEMPTS wins when set. */
  maxAttempts: number;
  /** TCP/TLS connect deadline, ms. */
  connectionTimeoutMs: number;
  /** Time to response headers for S3 calls, ms (the body is governed by the idle timeout). */
  s3RequestTimeoutMs: number;
  /** A download socket idle this long is abandoned, ms. */
  s3SocketIdleTimeoutMs: number;
  /** Slack added to the long-poll wait for SQS calls, ms. */
  sqsTimeoutSlackMs: number;
  /** Sockets per client; downloads and long polls share the pool. */
  maxSockets: number;
  /** Explicit settings, mainly for tests; in production the SDK reads them from the environment. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
};

export const AWS_CLIENT_DEFAULTS: AwsClientOptions = {
  maxAttempts: 3,
  connectionTimeoutMs: 5_000,
  s3RequestTimeoutMs: 30_000,
  s3SocketIdleTimeoutMs: 30_000,
  sqsTimeoutSlackMs: 10_000,
  maxSockets: 64,
};

export type AwsClients = { sqs: SQSClient; s3: S3Client; destroy(): void };

/** Both clients, for the SQS worker. */
export function createAwsClients(
  config: Pick<Config, 'queue' | 's3'>,
  options: Partial<AwsClientOptions> = {},
  env: Env = process.env,
): AwsClients {
  const sqs = createSqsClient(config, options, env);
  const s3 = createS3Client(config, options, env);
  return {
    sqs,
    s3,
    destroy() {
      sqs.destroy();
      s3.destroy();
    },
  };
}

export function createSqsClient(config: Pick<Config, 'queue'>, options: Partial<AwsClientOptions> = {}, env: Env = process.env): SQSClient {
  const o = { ...AWS_CLIENT_DEFAULTS, ...options };
  // A long poll holds the socket silent for up to waitTimeSeconds: the deadlines must outlast it.
  const timeout = config.queue.waitTimeSeconds * 1000 + o.sqsTimeoutSlackMs;
  return new SQSClient({
    ...commonSettings(o, env),
    // With an endpoint override (emulator, VPC endpoint) the queue URL's own host may not resolve;
    // send every call to the configured endpoint instead of the host inside QUEUE_URL.
    useQueueUrlAsEndpoint: !hasEndpointOverride(env, 'SQS', o.endpoint),
    requestHandler: handlerSettings(o, timeout, timeout),
  });
}

export function createS3Client(config: Pick<Config, 's3'>, options: Partial<AwsClientOptions> = {}, env: Env = process.env): S3Client {
  const o = { ...AWS_CLIENT_DEFAULTS, ...options };
  return new S3Client({
    ...commonSettings(o, env),
    forcePathStyle: config.s3.forcePathStyle,
    requestHandler: handlerSettings(o, o.s3RequestTimeoutMs, o.s3SocketIdleTimeoutMs),
  });
}

function commonSettings(o: AwsClientOptions, env: Env) {
  return {
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    // Leave AWS_MAX_ATTEMPTS to the SDK when the operator set it.
    ...(env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: o.maxAttempts }),
    retryMode: 'standard',
  };
}

/**
 * NodeHttpHandler settings, passed as plain options: the SDK builds its own handler from them, so
 * @smithy/node-http-handler (a transitive dependency) is never imported here.
 * requestTimeout runs until response headers; socketTimeout is the idle limit while a body streams.
 */
function handlerSettings(o: AwsClientOptions, requestTimeout: number, socketTimeout: number) {
  return {
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout,
    throwOnRequestTimeout: true,
    socketTimeout,
    httpAgent: { keepAlive: true, maxSockets: o.maxSockets },
    httpsAgent: { keepAlive: true, maxSockets: o.maxSockets },
  };
}

/** Is an endpoint configured for this service (explicitly or by the SDK's env variables)? */
function hasEndpointOverride(env: Env, service: 'SQS' | 'S3', explicit: string | undefined): boolean {
  if (explicit) return true;
  if (/^(1|true)$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return false;
  return Boolean(env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL);
}
