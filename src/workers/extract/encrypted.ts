// A password-protected document: not a failure of the file and not retryable. The extractor that meets
// one throws this; the caller turns it into status `encrypted`, keeping whatever metadata it could read.
import type { DocMetadata } from '../../types.ts';

export class EncryptedDocumentError extends Error {
  readonly metadata?: DocMetadata;
  readonly pages?: number;
  constructor(message: string, extra: { metadata?: DocMetadata; pages?: number } = {}) {
    super(message);
    this.name = 'EncryptedDocumentError';
    if (extra.metadata) this.metadata = extra.metadata;
    if (extra.pages) this.pages = extra.pages;
  }
}
