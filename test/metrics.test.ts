import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusTelemetry, STAGE_NAMES, STAGE_OUTCOMES, RELEASE_REASONS, BULK_OUTCOMES } from '../src/telemetry/metrics.ts';
import { DOC_STATUSES } from '../src/types.ts';
import { parsePromText } from './helpers/prom-text.ts';

async function scrape(t: PrometheusTelemetry) {
  return parsePromText(await t.metricsText());
}

describe('PrometheusTelemetry', () => {
  it('exposes every labelled series at 0 before anything happens, so rate() works from the first scrape', async () => {
    const s = await scrape(new PrometheusTelemetry({ defaultMetrics: false }));
    for (const stage of STAGE_NAMES) {
      for (const outcome of STAGE_OUTCOMES) assert.equal(s.get('filesearch_stage_items_total', { stage, outcome }), 0, `${stage}/${outcome}`);
      assert.equal(s.get('filesearch_stage_seconds_count', { stage }), 0, stage);
    }
    for (const status of DOC_STATUSES) assert.equal(s.get('filesearch_documents_total', { status }), 0);
    for (const reason of RELEASE_REASONS) assert.equal(s.get('filesearch_messages_released_total', { reason }), 0);
    for (const outcome of BULK_OUTCOMES) assert.equal(s.get('filesearch_bulk_requests_total', { outcome }), 0);
  });

  it('stageItem counts the item under its stage and outcome and times it under its stage only', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    t.stageItem('extract', 'ok', 2);
    t.stageItem('extract', 'ok', 0.004);
    t.stageItem('extract', 'retry', 0.5);
    t.stageItem('download', 'failed', 0.02);
    const s = await scrape(t);
    assert.equal(s.get('filesearch_stage_items_total', { stage: 'extract', outcome: 'ok' }), 2);
    assert.equal(s.get('filesearch_stage_items_total', { stage: 'extract', outcome: 'retry' }), 1);
    assert.equal(s.get('filesearch_stage_items_total', { stage: 'download', outcome: 'failed' }), 1);
    assert.equal(s.get('filesearch_stage_items_total', { stage: 'download', outcome: 'ok' }), 0);
    assert.equal(s.get('filesearch_stage_seconds_count', { stage: 'extract' }), 3);
    assert.ok(Math.abs(s.get('filesearch_stage_seconds_sum', { stage: 'extract' })! - 2.504) < 1e-9);
    assert.equal(s.get('filesearch_stage_seconds_count', { stage: 'download' }), 1);
    assert.equal(s.get('filesearch_stage_seconds_count', { stage: 'index' }), 0);
    // Buckets are cumulative: 4 ms falls in le=0.005, 2 s does not fall in le=1 but in le=2.5.
    assert.equal(s.get('filesearch_stage_seconds_bucket', { stage: 'extract', le: '0.005' }), 1);
    assert.equal(s.get('filesearch_stage_seconds_bucket', { stage: 'extract', le: '1' }), 2);
    assert.equal(s.get('filesearch_stage_seconds_bucket', { stage: 'extract', le: '2.5' }), 3);
  });

  it('stage histogram buckets span 1 ms to 5 min', async () => {
    const s = await scrape(new PrometheusTelemetry({ defaultMetrics: false }));
    const les = s.series('filesearch_stage_seconds_bucket').filter((x) => x.labels.stage === 'receive').map((x) => x.labels.le);
    assert.equal(les[0], '0.001');
    assert.ok(les.includes('300'), `buckets: ${les.join(',')}`);
    assert.equal(les.at(-1), '+Inf');
  });

  it('each counter method moves its own family by the amount given', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    t.messagesReceived(10);
    t.emptyReceive();
    t.emptyReceive();
    t.heartbeatExtended(7);
    t.heartbeatFailed(1);
    t.messagesDeleted(9);
    t.deleteFailed(2);
    t.messageReleased('retry');
    t.messageReleased('shutdown');
    t.messageReleased('shutdown');
    t.bytesDownloaded(1_048_576);
    t.pagesOcrd(3);
    t.documentStatus('ok');
    t.documentStatus('too_large');
    t.bulkRequest('partial');
    t.indexItemRetries(4);
    const s = await scrape(t);
    const expected: [string, Record<string, string> | undefined, number][] = [
      ['filesearch_messages_received_total', undefined, 10],
      ['filesearch_empty_receives_total', undefined, 2],
      ['filesearch_heartbeat_extensions_total', undefined, 7],
      ['filesearch_heartbeat_failures_total', undefined, 1],
      ['filesearch_messages_deleted_total', undefined, 9],
      ['filesearch_delete_failures_total', undefined, 2],
      ['filesearch_messages_released_total', { reason: 'retry' }, 1],
      ['filesearch_messages_released_total', { reason: 'shutdown' }, 2],
      ['filesearch_messages_released_total', { reason: 'malformed' }, 0],
      ['filesearch_download_bytes_total', undefined, 1_048_576],
      ['filesearch_ocr_pages_total', undefined, 3],
      ['filesearch_documents_total', { status: 'ok' }, 1],
      ['filesearch_documents_total', { status: 'too_large' }, 1],
      ['filesearch_documents_total', { status: 'failed' }, 0],
      ['filesearch_bulk_requests_total', { outcome: 'partial' }, 1],
      ['filesearch_bulk_requests_total', { outcome: 'ok' }, 0],
      ['filesearch_index_item_retries_total', undefined, 4],
    ];
    for (const [name, labels, value] of expected) assert.equal(s.get(name, labels), value, `${name} ${JSON.stringify(labels ?? {})}`);
  });

  it('poolTask feeds the wait and run histograms separately', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    t.poolTask(0.25, 3);
    t.poolTask(0.75, 1);
    const s = await scrape(t);
    assert.equal(s.get('filesearch_pool_wait_seconds_count'), 2);
    assert.equal(s.get('filesearch_pool_wait_seconds_sum'), 1);
    assert.equal(s.get('filesearch_pool_run_seconds_count'), 2);
    assert.equal(s.get('filesearch_pool_run_seconds_sum'), 4);
  });

  it('queue, lease and pool gauges read their sources at scrape time, not when registered', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    let reads = 0;
    const q = { depth: 3, capacity: 8 };
    const leases = { count: 12, oldestAgeSeconds: 41.5 };
    const pool = { threads: 4, queueSize: 2, utilization: 0.75 };
    t.watchQueue('to_extract', () => (reads++, q));
    t.watchQueue('to_index', () => ({ depth: 0, capacity: 8 }));
    t.watchLeases(() => (reads++, leases));
    t.watchPool(() => (reads++, pool));
    assert.equal(reads, 0, 'sources must not be read before a scrape');

    let s = await scrape(t);
    assert.ok(reads > 0);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'to_extract' }), 3);
    assert.equal(s.get('filesearch_queue_capacity', { queue: 'to_extract' }), 8);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'to_index' }), 0);
    assert.equal(s.get('filesearch_messages_in_flight'), 12);
    assert.equal(s.get('filesearch_oldest_message_age_seconds'), 41.5);
    assert.equal(s.get('filesearch_pool_threads'), 4);
    assert.equal(s.get('filesearch_pool_queue_size'), 2);
    assert.equal(s.get('filesearch_pool_utilization_ratio'), 0.75);
    assert.equal(s.get('filesearch_pool_utilization'), 0.75, 'the old name stays one release as an alias');

    q.depth = 8;
    leases.count = 1;
    pool.utilization = 1;
    s = await scrape(t);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'to_extract' }), 8);
    assert.equal(s.get('filesearch_messages_in_flight'), 1);
    assert.equal(s.get('filesearch_pool_utilization_ratio'), 1);
  });

  it('a gauge source that throws leaves the rest of the scrape intact', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    t.watchQueue('broken', () => {
      throw new Error('boom');
    });
    t.watchQueue('fine', () => ({ depth: 5, capacity: 6 }));
    t.watchPool(() => {
      throw new Error('pool closed');
    });
    t.messagesReceived(1);
    const s = await scrape(t);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'fine' }), 5);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'broken' }), undefined);
    assert.equal(s.get('filesearch_messages_received_total'), 1);
  });

  it('stageItem and the labelled counters add no series or families however often they are called', async () => {
    const t = new PrometheusTelemetry({ defaultMetrics: false });
    const shape = async () => {
      const json = await t.registry.getMetricsAsJSON();
      return { families: json.length, series: json.reduce((n, m) => n + m.values.length, 0) };
    };
    const before = await shape();
    for (let i = 0; i < 2_000; i++) {
      t.stageItem(STAGE_NAMES[i % STAGE_NAMES.length], STAGE_OUTCOMES[i % STAGE_OUTCOMES.length], (i % 400) / 1000);
      t.documentStatus(DOC_STATUSES[i % DOC_STATUSES.length]);
      t.messageReleased(RELEASE_REASONS[i % RELEASE_REASONS.length]);
      t.bulkRequest(BULK_OUTCOMES[i % BULK_OUTCOMES.length]);
    }
    const after = await shape();
    assert.deepEqual(after, before);
    const s = await scrape(t);
    const total = s.series('filesearch_stage_items_total').reduce((n, x) => n + x.value, 0);
    assert.equal(total, 2_000);
  });

  it('registers Node default metrics under their standard names on its own registry', async () => {
    const t = new PrometheusTelemetry();
    const s = await scrape(t);
    const families = s.families();
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      assert.ok(families.has(name), `${name} missing`);
    }
    assert.ok(s.get('process_resident_memory_bytes')! > 0);
    // A second instance has its own registry: no "already registered" clash, no shared counts.
    const other = new PrometheusTelemetry();
    t.messagesReceived(5);
    assert.equal((await scrape(other)).get('filesearch_messages_received_total'), 0);
    assert.equal(other.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });
});
