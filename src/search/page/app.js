// The search page. Its whole state is the URL (?q=…&status=…&type=…&folder=…&from=…&to=…&sort=…
// &cursor=…&doc=…): the form navigates, this script reads the URL, asks /api and draws. Text from
// documents is only ever inserted as text; snippets keep nothing but their <mark> elements.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const STATUS_LABELS = { ok: 'OK', partial: 'Partial', failed: 'Failed', unsupported: 'Unsupported', too_large: 'Too large' };
const TYPE_LABELS = {
  'application/pdf': 'PDF', 'text/plain': 'Text', 'text/markdown': 'Markdown', 'text/html': 'HTML', 'text/csv': 'CSV',
  'application/rtf': 'RTF', 'application/msword': 'Word (.doc)', 'image/tiff': 'TIFF image', 'image/png': 'PNG image', 'image/jpeg': 'JPEG image',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PowerPoint',
};
const LANGUAGE_LABELS = { ja: '日本語 (Japanese)', en: 'English', zh: '中文 (Chinese)', ko: '한국어 (Korean)', de: 'Deutsch', fr: 'Français', es: 'Español' };
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

function typeLabel(t) {
  return TYPE_LABELS[t] || t;
}

function humanSize(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function formatDate(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : dateFormat.format(t);
}

/** The snippet as nodes: text stays text, <mark> stays <mark>, anything else is reduced to its text. */
function snippetNodes(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html').body;
  const out = document.createDocumentFragment();
  for (const n of parsed.childNodes) {
    if (n.nodeType === Node.ELEMENT_NODE && n.nodeName === 'MARK') out.append(el('mark', {}, n.textContent));
    else out.append(document.createTextNode(n.textContent || ''));
  }
  return out;
}

/** This page's URL with some parameters changed (null removes one). */
function urlWith(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') p.delete(k);
    else p.set(k, v);
  }
  const s = p.toString();
  return s ? `/?${s}` : '/';
}

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) {
    $('auth').hidden = false;
    $('token').focus();
    throw new Error('An access token is needed.');
  }
  let body;
  try { body = await res.json(); } catch { body = {}; }
  if (!res.ok) throw new Error(body.error || `The server answered ${res.status}.`);
  return body;
}

function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = false;
}

function fillForm() {
  $('q').value = params.get('q') || '';
  $('folder').value = params.get('folder') || '';
  $('from').value = params.get('from') || '';
  $('to').value = params.get('to') || '';
  $('sort').value = params.get('sort') === 'date' ? 'date' : 'relevance';
}

function selected(name) {
  return params.getAll(name).flatMap((v) => v.split(',')).filter(Boolean);
}

function renderFacet(fieldsetId, name, counts, labels) {
  const box = $(fieldsetId).querySelector('.options');
  box.replaceChildren();
  const chosen = selected(name);
  const values = [...new Set([...Object.keys(counts), ...chosen])].sort((a, b) => (counts[b] || 0) - (counts[a] || 0) || a.localeCompare(b));
  if (values.length === 0) box.append(el('p', { class: 'muted' }, '—'));
  for (const v of values) {
    const input = el('input', { type: 'checkbox', name, value: v, form: 'search', checked: chosen.includes(v) });
    input.addEventListener('change', () => submitSearch());
    box.append(el('label', { class: 'option' }, input, ` ${labels(v)} `, el('span', { class: 'count' }, String(counts[v] || 0))));
  }
}

function thumbnail(hit) {
  if (!hit.thumbnail) {
    const ext = /\.([A-Za-z0-9]{1,5})$/.exec(hit.name);
    return el('div', { class: 'thumb placeholder', 'aria-hidden': 'true' }, ext ? ext[1].toUpperCase() : typeLabel(hit.contentType).slice(0, 4));
  }
  return el('img', { class: 'thumb', src: `/thumbnails/${encodeURIComponent(hit.id)}`, alt: '', loading: 'lazy', width: 96, height: 96 });
}

function badge(status, error) {
  if (status === 'ok') return null;
  return el('span', { class: `badge badge-${status}`, title: error || '' }, STATUS_LABELS[status] || status);
}

function renderHits(page) {
  const q = params.get('q') || '';
  const n = page.total;
  $('summary').textContent = n === 0
    ? (q ? `No documents match “${q}”.` : 'No documents match these filters.')
    : `${n.toLocaleString()} document${n === 1 ? '' : 's'}${q ? ` match${n === 1 ? 'es' : ''} “${q}”` : ''}${params.get('cursor') ? ' (continued)' : ''}.`;
  const list = $('hits');
  list.replaceChildren();
  for (const hit of page.hits) {
    const link = el('a', { href: urlWith({ doc: hit.id }), class: 'name' }, hit.name);
    const meta = el('p', { class: 'meta' },
      el('span', { class: 'folder', title: hit.folder }, hit.folder),
      el('span', {}, typeLabel(hit.contentType)),
      hit.lastModified ? el('time', { datetime: hit.lastModified }, formatDate(hit.lastModified)) : null,
      el('span', {}, humanSize(hit.size)));
    const snippet = el('p', { class: 'snippet', lang: 'ja' });
    snippet.append(snippetNodes(hit.snippet));
    list.append(el('li', { class: 'hit' }, thumbnail(hit), el('div', { class: 'body' }, el('h2', {}, link, badge(hit.status, hit.error)), meta, snippet)));
  }
  const pager = $('pager');
  pager.replaceChildren();
  if (params.get('cursor')) {
    const back = el('button', { type: 'button' }, '← Previous page');
    back.addEventListener('click', () => history.back());
    pager.append(back, ' ', el('a', { href: urlWith({ cursor: null }) }, 'First page'), ' ');
  }
  if (page.nextCursor) pager.append(el('a', { href: urlWith({ cursor: page.nextCursor }), rel: 'next', class: 'next' }, 'Next page →'));
}

async function showResults() {
  const query = new URLSearchParams(params);
  query.delete('doc');
  try {
    const page = await api(`/api/search?${query}`);
    renderFacet('f-status', 'status', page.facets.status, (v) => STATUS_LABELS[v] || v);
    renderFacet('f-type', 'type', page.facets.contentType, typeLabel);
    renderFacet('f-lang', 'lang', page.facets.language || {}, (v) => LANGUAGE_LABELS[v] || v);
    const refocus = sessionStorage.getItem('fsw-focus');
    if (refocus) {
      sessionStorage.removeItem('fsw-focus');
      const [name, value] = JSON.parse(refocus);
      const box = [...document.querySelectorAll('#filters input[type="checkbox"]')].find((i) => i.name === name && i.value === value);
      if (box) box.focus();
    }
    renderHits(page);
  } catch (err) {
    $('summary').textContent = '';
    showError(err.message);
  }
}

async function showDocument(id) {
  $('results').hidden = true;
  $('filters').hidden = true;
  const view = $('document');
  view.hidden = false;
  $('doc-back').href = urlWith({ doc: null });
  try {
    const d = await api(`/api/documents/${encodeURIComponent(id)}`);
    document.title = `${d.name} — File search`;
    $('doc-title').replaceChildren(d.name, ' ', badge(d.status, d.error) || '');
    const rows = [
      ['Folder', d.folder], ['Type', typeLabel(d.contentType)], ['Size', humanSize(d.size)],
      ['Modified', d.lastModified ? formatDate(d.lastModified) : ''], ['Pages', d.pages ? `${d.pages}${d.ocrPages ? ` (${d.ocrPages} read by OCR)` : ''}` : ''],
      ['Status', STATUS_LABELS[d.status] || d.status], ['Problem', d.error || ''], ['Source', d.source],
    ];
    $('doc-meta').replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    if (d.thumbnail) {
      const img = $('doc-thumb');
      img.src = `/thumbnails/${encodeURIComponent(d.id)}`;
      img.hidden = false;
    }
    const notes = [];
    if (d.truncated) notes.push('The index keeps only the beginning of this document’s text.');
    if (d.textShownChars < d.textChars) notes.push(`Showing the first ${d.textShownChars.toLocaleString()} of ${d.textChars.toLocaleString()} characters.`);
    if (!d.text) notes.push('No text was extracted from this document.');
    $('doc-note').textContent = notes.join(' ');
    $('doc-note').hidden = notes.length === 0;
    $('doc-text').textContent = d.text;
    view.focus();
  } catch (err) {
    $('doc-title').textContent = 'Document';
    showError(err.message);
    $('results').hidden = false;
  }
}

/** Navigates to the form's search, leaving out empty fields and any old cursor. */
function submitSearch() {
  const form = $('search');
  // A filter toggled from the keyboard keeps the focus across the navigation.
  const active = document.activeElement;
  if (active && active.type === 'checkbox') sessionStorage.setItem('fsw-focus', JSON.stringify([active.name, active.value]));
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (String(v).trim() !== '') p.append(k, String(v).trim());
  if (p.get('sort') === 'relevance') p.delete('sort');
  const s = p.toString();
  location.assign(s ? `/?${s}` : '/');
}

document.addEventListener('DOMContentLoaded', () => {
  fillForm();
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    submitSearch();
  });
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `fsw_token=${encodeURIComponent($('token').value)}; Path=/; SameSite=Strict${secure}`;
    location.reload();
  });
  document.addEventListener('keydown', (e) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement?.tagName || '');
    if (e.key === '/' && !typing) {
      e.preventDefault();
      $('q').focus();
      $('q').select();
    } else if (e.key === 'Escape' && params.get('doc')) {
      location.assign(urlWith({ doc: null }));
    }
  });
  const doc = params.get('doc');
  if (doc) showDocument(doc);
  else showResults();
});
