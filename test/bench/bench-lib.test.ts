// Unit tests of the benchmark's measuring parts: histogram percentiles, request/channel signing and
// the payload decoder. Pure functions, no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, MAX_TRACKABLE_MICROS } from '../../bench/lib/histogram.js';
import { channelAuth, signedQuery } from '../../bench/lib/signing.js';
import { SequenceWindow } from '../../bench/lib/sequence.js';
import { decodeBenchFrame, encodePayload, frameEventName, makePadding } from '../../bench/lib/payload.js';
import { renderWorkerComparison } from '../../bench/lib/report.js';
import { emptyResult, type ScenarioResult } from '../../bench/lib/results.js';

test('histogram: exact percentiles for small values', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100; v++) h.record(v);
  assert.equal(h.count, 100);
  assert.equal(h.percentile(50), 50);
  assert.equal(h.percentile(90), 90);
  assert.equal(h.percentile(99), 99);
  assert.equal(h.percentile(100), 100);
  assert.equal(h.percentile(0), 1);
  assert.equal(h.min, 1);
  assert.equal(h.max, 100);
});

test('histogram: large values stay within 1/64 relative error', () => {
  const values = [128, 129, 1000, 4321, 65_537, 1_234_567, 59_000_000];
  for (const value of values) {
    const h = new Histogram();
    h.record(value);
    h.record(value + 1_000_000_000); // a larger value so the percentile is not clamped to max
    const reported = h.percentile(50);
    assert.ok(reported >= value, `${reported} >= ${value}`);
    assert.ok((reported - value) / value <= 1 / 64, `${value} reported as ${reported}`);
  }
});

test('histogram: percentiles over a uniform distribution', () => {
  const h = new Histogram();
  for (let v = 0; v < 100_000; v++) h.record(v);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = (p / 100) * 100_000;
    const reported = h.percentile(p);
    assert.ok(Math.abs(reported - exact) / exact < 0.02, `p${p}: ${reported} vs ${exact}`);
  }
  assert.equal(h.percentile(100), 99_999);
});

test('histogram: empty, negative, NaN and out-of-range values', () => {
  const h = new Histogram();
  assert.equal(h.percentile(99), 0);
  assert.deepEqual(h.summary(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  h.record(-5);
  h.record(Number.NaN);
  h.record(1e15);
  assert.equal(h.count, 3);
  assert.equal(h.min, 0);
  assert.equal(h.max, MAX_TRACKABLE_MICROS);
  assert.equal(h.percentile(100), MAX_TRACKABLE_MICROS);
});

test('histogram: milliseconds, merge and JSON round trip', () => {
  const a = new Histogram();
  const b = new Histogram();
  a.recordMillis(1.5); // 1500 µs
  a.recordMillis(0.25);
  b.recordMillis(3);
  a.merge(b);
  assert.equal(a.count, 3);
  assert.equal(a.max, 3000);
  const copy = Histogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  assert.deepEqual(copy.summary(), a.summary());
  assert.ok(Math.abs(copy.summary().p50 - 1.5) / 1.5 <= 1 / 64);
  assert.throws(() => Histogram.fromJSON({ buckets: [[1e9, 1]], count: 1, min: 0, max: 0, sum: 0 }), /Invalid histogram bucket/);
});

test('signing: spec B.1 worked example', () => {
  const app = { id: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
  const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  const query = signedQuery(app, 'POST', '/apps/3/events', body, 1353088179);
  assert.equal(
    query,
    'auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f' +
      '&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c',
  );
});

test('signing: GET with extra parameters (spec B.1) has no body_md5', () => {
  const app = { id: '123', key: 'thekey', secret: 'thesecret' };
  const query = signedQuery(app, 'GET', '/apps/123/channels', '', 1795385063, { info: 'user_count', filter_by_prefix: 'presence-' });
  assert.ok(query.endsWith('&auth_signature=4687d94806b5076f60ec0af8f33d700a4962b0a0f3626121f712a318563f8626'), query);
  assert.ok(!query.includes('body_md5'));
});

test('signing: channel auth vectors (spec A.8)', () => {
  const creds = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
  assert.equal(
    channelAuth(creds, '1234.1234', 'private-foobar'),
    '278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4',
  );
  assert.equal(
    channelAuth(creds, '1234.1234', 'presence-foobar', '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'),
    '278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80',
  );
});

test('payload: encode, frame, fast decode and fallback decode', () => {
  const data = encodePayload(42, 2, makePadding(100), 1712345678901.125);
  assert.equal(JSON.parse(data).s, 42);
  assert.ok(data.length >= 95 && data.length <= 105, `payload length ${data.length}`);
  const frame = JSON.stringify({ event: 'bench-event', channel: 'c', data });
  assert.equal(frameEventName(frame), 'bench-event');
  assert.deepEqual(decodeBenchFrame(frame), { sentAt: 1712345678901.125, seq: 42, phase: 2 });
  // A server that sends data as an object (not double-encoded) still decodes through the fallback.
  const objectFrame = JSON.stringify({ channel: 'c', event: 'bench-event', data: { t: 5.5, s: 7, p: 1 } });
  assert.deepEqual(decodeBenchFrame(objectFrame), { sentAt: 5.5, seq: 7, phase: 1 });
  assert.equal(decodeBenchFrame('{"event":"other","data":"{}"}'), undefined);
  assert.equal(decodeBenchFrame('not json'), undefined);
  assert.equal(frameEventName('{"data":"x"}'), undefined);
});

test('sequence window: in order, reordered, duplicates and gaps', () => {
  const w = new SequenceWindow();
  assert.equal(w.record(1), 'new');
  assert.equal(w.record(2), 'new');
  assert.equal(w.record(4), 'new'); // 3 is late, not lost yet
  assert.equal(w.record(3), 'reordered');
  assert.equal(w.record(3), 'duplicate');
  assert.equal(w.record(4), 'duplicate');
  assert.equal(w.record(1), 'duplicate');
  assert.equal(w.record(40), 'new'); // jump past the window: 5…39 missing
  assert.equal(w.record(39), 'reordered');
  assert.equal(w.record(8), 'reordered'); // 31 below 39, still inside the window
  assert.equal(w.record(8), 'duplicate');
  assert.equal(w.received, 7);
  assert.equal(w.reordered, 3);
  assert.equal(w.duplicates, 4);
  assert.equal(w.highest, 40);
  // Exactly a window-sized jump keeps the previous highest as the oldest remembered number.
  const v = new SequenceWindow();
  v.record(1);
  v.record(33);
  assert.equal(v.record(1), 'duplicate');
  assert.equal(v.record(2), 'reordered');
  v.reset();
  assert.equal(v.received, 0);
  assert.equal(v.record(1), 'new');
});

/** A result with only the latency figures the worker comparison reads. */
function withLatency(id: string, p50: number, p99: number): ScenarioResult {
  const result = emptyResult(id, id, 18_000);
  result.latency = { count: 1, min: 1, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 };
  return result;
}

test('report: 2 workers\' p50 and p99 over 1 worker\'s, for the big-channel fan-outs only, with the 0.6 target marked', () => {
  const text = renderWorkerComparison([
    withLatency('e', 20, 60),
    withLatency('e×2w', 30, 80),
    withLatency('g', 80, 150),
    withLatency('g×2w', 100, 180),
    withLatency('gk', 50, 100),
    withLatency('gk×2w', 27.5, 50),
    withLatency('gc×2w', 40, 90), // its 1-worker run is missing: no line
  ]);
  assert.deepEqual(text.split('\n'), [
    'Workers, same run (issue 18 item 5(i); compared, not asserted):',
    '  g×2w ÷ g: p50 1.250 (target ≤ 0.6: ✗), p99 1.200',
    '  gk×2w ÷ gk: p50 0.550 (target ≤ 0.6: ✓), p99 0.500',
  ]);
  assert.equal(renderWorkerComparison([withLatency('g', 80, 150)]), '', 'nothing to compare, nothing printed');
});
