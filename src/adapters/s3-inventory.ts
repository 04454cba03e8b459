// What a bucket holds, for the commands that compare it with the index (backfill, reconcile): every
// object under a prefix through ListObjectsV2, page by page, in S3's key order. Folder markers
// ("key/" with no bytes) are not documents and are left out.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { classifyDependencyError } from '../errors.ts';
import type { ObjectRef } from '../types.ts';
import { unquoteEtag } from './s3-blob-store.ts';

export type S3Lister = { send: S3Client['send'] };

/** Pages of objects (up to 1,000 each) under `prefix`. */
export async function* listObjects(s3: S3Lister, bucket: string, prefix: string, signal?: AbortSignal): AsyncGenerator<ObjectRef[]> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token, MaxKeys: 1000 }), { abortSignal: signal });
    } catch (err) {
      throw classifyDependencyError(err, `ListObjectsV2 s3://${bucket}/${prefix}`);
    }
    const refs: ObjectRef[] = [];
    for (const o of page.Contents ?? []) {
      if (!o.Key || (o.Key.endsWith('/') && !o.Size)) continue;
      refs.push({ bucket, key: o.Key, ...(o.ETag ? { etag: unquoteEtag(o.ETag) } : {}), ...(o.Size !== undefined ? { size: o.Size } : {}) });
    }
    if (refs.length) yield refs;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
