// Thumbnails in S3 reach the browser as short-lived presigned GET URLs: the server never proxies the
// bytes and the bucket stays private.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3Thumbnails } from '../search/thumbnails.ts';

export async function s3ThumbnailLinks(o: { client: S3Client; bucket: string; prefix: string; expiresInSeconds: number }): Promise<S3Thumbnails> {
  const presign = (bucket: string, key: string, expiresIn: number) => getSignedUrl(o.client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
  // Signing is local (no request): one probe tells which origin the page must allow images from.
  const origin = new URL(await presign(o.bucket, `${o.prefix}probe.webp`, 60)).origin;
  return new S3Thumbnails({ bucket: o.bucket, prefix: o.prefix, presign, expiresInSeconds: o.expiresInSeconds, origin });
}
