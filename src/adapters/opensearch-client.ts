// The one place that builds an OpenSearch client, with the authentication INDEX_AUTH asks for:
//   sigv4  every request signed by the client's own AWS signer (@opensearch-project/opensearch/aws-v3),
//          credentials from the AWS SDK default chain (env, web identity, ECS task role, instance
//          profile), memoized and refreshed before they expire (the signer asks again when the
//          current ones are within one request timeout of expiry; the provider re-reads them).
//   basic  user:password from INDEX_URL's user info (sent by the client as an Authorization header).
//   none   no credentials (a local cluster, or a proxy that signs).
// Which of them applies is decided in config.ts (resolveIndexAuth).
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { IndexAuth } from '../config.ts';

/** AWS credentials as the SDK's providers return them; `expiration` drives the refresh. */
export type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export type OpenSearchClientOptions = {
  requestTimeoutMs: number;
  /** The client's own retries (default 0: the index adapter owns retries; the read side may want one). */
  maxRetries?: number;
  /** Where SigV4 credentials come from; default: the AWS SDK default chain. Tests pass fixed ones. */
  credentials?: AwsCredentialsProvider | AwsCredentials;
};

/** A client for `node` with the given auth; the client's own retries are off (the index adapter owns retries). */
export function createOpenSearchClient(node: string, auth: IndexAuth, o: OpenSearchClientOptions): Client {
  const base = { maxRetries: o.maxRetries ?? 0, requestTimeout: o.requestTimeoutMs };
  if (auth.kind === 'none') return new Client({ ...base, node });
  if (auth.kind === 'basic') return new Client({ ...base, node, auth: { username: auth.username, password: auth.password } });
  const provider = credentialProvider(o.credentials);
  return new Client({
    ...base,
    node,
    ...AwsSigv4Signer({ region: auth.region, service: auth.service, getCredentials: provider }),
  });
}

function credentialProvider(given: OpenSearchClientOptions['credentials']): AwsCredentialsProvider {
  if (typeof given === 'function') return given;
  if (given) return () => Promise.resolve(given);
  // Memoized by the SDK: one lookup, refreshed when the credentials near their expiry.
  return defaultProvider();
}
