// E-mail saved as a file: .eml (RFC 5322/MIME, through mailparser) and Outlook .msg (OLE2, through
// @kenjiuno/msgreader). Gives the headers people search by (subject, from, to/cc, date) as metadata and
// as the first lines of the text, the body (plain text, or the HTML body as text), and the attachments
// as named bytes for the caller to read like any other file. Both libraries are loaded on the first
// mail a thread meets: every pool thread loads this module, few ever read a mail.
import type { AddressObject } from 'mailparser';
import type { DocMetadata } from '../../types.ts';
import { cleanField, compactMetadata, isoDate } from './metadata.ts';

export type Attachment = { name: string; bytes: Uint8Array };
export type Mail = { text: string; metadata?: DocMetadata; attachments: Attachment[] };

/** Most attachments read from one mail; the rest are named in the text only. */
export const MAX_ATTACHMENTS = 50;

export async function readEml(bytes: Uint8Array): Promise<Mail> {
  const { simpleParser } = await import('mailparser');
  const m = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    // Attachments stay bytes; mailparser's own HTML-to-text is used for an HTML-only body.
    skipImageLinks: true,
    skipTextLinks: true,
  });
  const from = addresses(m.from);
  const recipients = [...addresses(m.to), ...addresses(m.cc)];
  const body = m.text?.trim() ? m.text : (typeof m.html === 'string' ? htmlText(m.html) : '');
  const attachments = m.attachments
    .filter((a) => a.content && a.content.length > 0)
    .map((a, i) => ({ name: safeName(a.filename, i, a.contentType), bytes: a.content as Uint8Array }));
  return finishMail({ subject: m.subject, from, recipients, date: m.date }, body, attachments);
}

export async function readMsg(bytes: Uint8Array): Promise<Mail> {
  // A CommonJS module whose class is its `default` export.
  const MsgReader = (await import('@kenjiuno/msgreader')).default.default;
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const reader = new MsgReader(copy);
  const data = reader.getFileData();
  if (data.error) throw new Error(`damaged Outlook message (${data.error})`);
  const sender = data.senderSmtpAddress ?? data.senderEmail;
  const from = data.senderName || sender ? [formatAddress(data.senderName, sender)] : [];
  const recipients = (data.recipients ?? []).filter((r) => r.recipType !== 'bcc').map((r) => formatAddress(r.name, r.smtpAddress ?? r.email));
  const body = data.body?.trim() ? data.body : data.bodyHtml ? htmlText(data.bodyHtml) : '';
  const attachments: Attachment[] = [];
  for (const [i, a] of (data.attachments ?? []).entries()) {
    if (attachments.length >= MAX_ATTACHMENTS) break;
    try {
      const got = reader.getAttachment(a);
      if (got.content?.length) attachments.push({ name: safeName(got.fileName, i), bytes: got.content });
    } catch {
      // A damaged attachment costs only itself; its name still goes into the text below.
      attachments.push({ name: safeName(a.fileName ?? a.name, i), bytes: new Uint8Array() });
    }
  }
  const date = data.clientSubmitTime ?? data.messageDeliveryTime ?? data.creationTime;
  return finishMail({ subject: data.subject, from, recipients, date: date ? new Date(date) : undefined, application: 'Microsoft Outlook' }, body, attachments);
}

function finishMail(h: { subject?: string; from: string[]; recipients: string[]; date?: Date; application?: string }, body: string, attachments: Attachment[]): Mail {
  const metadata = compactMetadata({
    title: cleanField(h.subject),
    authors: h.from.length ? h.from : undefined,
    recipients: h.recipients.length ? [...new Set(h.recipients)] : undefined,
    created: isoDate(h.date),
    application: h.application,
  });
  // The headers open the text, so a plain word search finds a mail by its sender or subject.
  const head = [
    h.subject ? `Subject: ${h.subject}` : '',
    h.from.length ? `From: ${h.from.join(', ')}` : '',
    h.recipients.length ? `To: ${h.recipients.join(', ')}` : '',
  ].filter(Boolean);
  return { text: [...head, '', body.trim()].join('\n').trim(), ...(metadata ? { metadata } : {}), attachments: attachments.slice(0, MAX_ATTACHMENTS) };
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.flatMap((o) => o.value.map((v) => formatAddress(v.name, v.address)));
}

function formatAddress(name: string | undefined, address: string | undefined): string {
  const n = cleanField(name);
  const e = cleanField(address);
  if (n && e && n !== e) return `${n} <${e}>`;
  return n ?? e ?? '';
}

/** An attachment name safe to use as a file name, never empty. */
function safeName(name: string | undefined, index: number, contentType?: string): string {
  const base = (name ?? '').replace(/[\\/\u0000-\u001f]/g, '_').trim();
  if (base) return base;
  const ext = contentType === 'application/pdf' ? '.pdf' : contentType?.startsWith('text/') ? '.txt' : '';
  return `attachment-${index + 1}${ext}`;
}

/** A mail's HTML body as text: tags dropped, block ends as new lines, entities decoded. */
function htmlText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}
