// Resource bounds for office and web documents, in one place. A file past a bound is refused (or cut and
// marked truncated) with a reason, so one crafted file cannot take a worker thread's memory.

export type ZipBounds = {
  /** Entries in the central directory. Real OOXML/ODF files hold tens to a few thousand. */
  maxEntries: number;
  /** Sum of the uncompressed sizes the central directory declares. */
  maxDeclaredBytes: number;
  /** Uncompressed/compressed ratio above which an entry is a bomb: deflate tops out near 1032:1, on long
   *  runs of one byte. Legitimate EMF/BMP parts reach several hundred, so the bar sits near the top... */
  maxEntryRatio: number;
  /** ...and is checked only for entries declaring more than this many bytes. */
  ratioCheckMinBytes: number;
  /** Bytes the parser may actually inflate: declared sizes can lie, this counts real output. */
  maxInflatedBytes: number;
};

/** Archives (.zip) and mail attachments read as documents of their own (containers.ts). */
export type ContainerBounds = {
  /** Containers are opened at depths below this: 2 = a file, and a zip or mail inside it. */
  maxNesting: number;
  /** Entries read from one container; the rest are named only. */
  maxEntriesRead: number;
  /** Bytes one entry may declare (and inflate to). */
  maxEntryBytes: number;
};

export type DocumentBounds = {
  zip: ZipBounds;
  containers: ContainerBounds;
  /** Bytes of XML inflated from an OOXML/ODF file for the text officeparser leaves out (charts, notes, masters). */
  maxExtraXmlBytes: number;
  /** Bytes of a plain text / csv / markdown file read; also never more than 4 bytes per kept character. */
  maxTextBytes: number;
  /** Bytes of an HTML file read (markup is dropped, so more bytes than characters are needed). */
  maxHtmlBytes: number;
};

const MiB = 1024 * 1024;

export const DEFAULT_DOCUMENT_BOUNDS: DocumentBounds = {
  zip: {
    maxEntries: 10_000,
    maxDeclaredBytes: 1024 * MiB,
    maxEntryRatio: 1000,
    ratioCheckMinBytes: 16 * MiB,
    maxInflatedBytes: 256 * MiB,
  },
  containers: { maxNesting: 2, maxEntriesRead: 200, maxEntryBytes: 64 * MiB },
  maxExtraXmlBytes: 32 * MiB,
  maxTextBytes: 64 * MiB,
  maxHtmlBytes: 64 * MiB,
};
