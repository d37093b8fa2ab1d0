// JSON-RPC over WebSocket against `pyralog server`: appends through RPC with many requests in
// flight, subscribes from offset 0, then kcat produces more records (plain and lz4); the
// subscriber must receive every record — RPC ones first, then kcat's — in order, none missing,
// none twice. Then a Kafka consumer (kcat) reads back the records appended through RPC.
// Also: a subscription to a missing topic, the per-connection subscription limit, unsubscribe,
// and a subscriber that stops reading: its subscription pauses (bounded send queue, checked in
// /metrics) and, once it reads again, receives all 20,000 records (10 MB, lz4) in order.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { freePort, assert, startProc, stopProc, open, client } = require('./lib/rpc');

const BIN = process.env.PYRALOG_BIN || 'build/pyralog';

async function startServer(dir) {
  const kafka = `127.0.0.1:${await freePort()}`;
  const http = `127.0.0.1:${await freePort()}`;
  const p = await startProc([BIN, 'server', '--data-dir', dir, '--kafka-listen', kafka,
    '--http-listen', http], 'pyralog server ready');
  return { kafka, http, ...p };
}

const b64 = (s) => Buffer.from(s).toString('base64');
const unb64 = (s) => (s === null ? null : Buffer.from(s, 'base64').toString());

function kcat(args, input) {
  const r = spawnSync('kcat', args, { input, timeout: 60000 });
  if (r.status !== 0) throw new Error(`kcat ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

const T0 = Date.now();
const mark = (w) => { if (process.env.RPC_TRACE) console.error(`${Date.now() - T0}ms ${w}`); };

async function run(s) {
  const ws = await open(s.http);
  const c = client(ws);
  let r = await c.call('topic.create', { name: 'events', partitions: 2 });
  assert(r.result && r.result.partitions === 2, JSON.stringify(r));

  // 500 appends with all of them in flight at once, to partition 0.
  const N_RPC = 500;
  const answers = await Promise.all(Array.from({ length: N_RPC }, (_, i) =>
    c.call('log.append', { topic: 'events', partition: 0, key: b64(`rk${i}`), value: b64(`rpc-${i}`) })));
  const offsets = answers.map((a) => { assert(a.result, JSON.stringify(a)); return a.result.offset; });
  offsets.sort((a, b) => a - b);
  offsets.forEach((o, i) => assert(o === i, `offset ${i} is ${o}`));

  mark('appended');
  // Subscribe from the beginning; collect everything pushed.
  const got = [];
  let subId = null;
  const N_KCAT = 2000;
  const total = N_RPC + N_KCAT;
  const allArrived = new Promise((resolve, reject) => {
    c.setOnNote((m) => {
      if (m.method !== 'log.records') return;
      if (m.params.error) reject(new Error('subscription ended: ' + JSON.stringify(m.params)));
      if (subId !== null && m.params.subscription !== subId) return;
      for (const rec of m.params.records) got.push(rec);
      if (got.length >= total) resolve();
    });
  });
  r = await c.call('log.subscribe', { topic: 'events', partition: 0, offset: 0 });
  assert(r.result && r.result.subscription > 0, JSON.stringify(r));
  subId = r.result.subscription;

  // kcat produces afterwards: half plain, half lz4-compressed.
  const lines = (from, n) => Array.from({ length: n }, (_, i) => `kk${from + i}\tkcat-${from + i}\n`).join('');
  kcat(['-b', s.kafka, '-t', 'events', '-p', '0', '-P', '-K', '\t'], lines(0, N_KCAT / 2));
  kcat(['-b', s.kafka, '-t', 'events', '-p', '0', '-P', '-K', '\t', '-z', 'lz4'], lines(N_KCAT / 2, N_KCAT / 2));

  mark('kcat produced');
  await Promise.race([allArrived, new Promise((_, rej) => setTimeout(
    () => rej(new Error(`only ${got.length} of ${total} records pushed`)), 30000))]);
  await new Promise((res) => setTimeout(res, 200)); // nothing extra may follow
  assert(got.length === total, `pushed ${got.length}, want ${total}`);
  got.forEach((rec, i) => {
    if (rec.offset !== i) throw new Error(`record ${i} has offset ${rec.offset}`);
    const want = i < N_RPC ? `rpc-${i}` : `kcat-${i - N_RPC}`;
    if (unb64(rec.value) !== want) throw new Error(`record ${i}: ${unb64(rec.value)} != ${want}`);
  });
  assert(unb64(got[N_RPC].key) === 'kk0', 'kcat key');

  mark('all pushed');
  // A Kafka consumer reads the RPC-appended records.
  const out = kcat(['-b', s.kafka, '-t', 'events', '-p', '0', '-C', '-o', 'beginning', '-c',
    String(N_RPC), '-q', '-f', '%k=%s\n']);
  const kl = out.trim().split('\n');
  assert(kl.length === N_RPC, `kcat read ${kl.length}`);
  kl.forEach((l, i) => assert(l === `rk${i}=rpc-${i}`, `kcat line ${i}: ${l}`));

  mark('kcat consumed');
  // Errors and limits on the socket.
  r = await c.call('log.subscribe', { topic: 'missing', partition: 0, offset: 0 });
  assert(r.error && r.error.code === -32001, JSON.stringify(r));
  r = await c.call('log.subscribe', { topic: 'events', partition: 0, offset: 999999 });
  assert(r.error && r.error.code === -32005, JSON.stringify(r));
  r = await c.call('log.unsubscribe', { subscription: subId });
  assert(r.result === true, JSON.stringify(r));
  r = await c.call('log.unsubscribe', { subscription: subId });
  assert(r.error && r.error.code === -32001, JSON.stringify(r));
  let limited = null;
  for (let i = 0; i < 70 && !limited; i++) {
    r = await c.call('log.subscribe', { topic: 'events', partition: 1, offset: 'latest' });
    if (r.error) limited = { i, r };
  }
  assert(limited && limited.i === 64 && limited.r.error.code === -32003 &&
    limited.r.error.message.includes('64'), JSON.stringify(limited));
  mark('limits');
  ws.close();
}

function getMetrics(addr) {
  return new Promise((resolve, reject) => {
    require('http').get(`http://${addr}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

// A subscriber that stops reading: the server pauses its subscription (bounded send queue)
// instead of buffering the partition; once it reads again every record arrives, in order.
async function slowSubscriber(s) {
  const N = 20000;
  const lines = Array.from({ length: N }, (_, i) => `${i}:${'x'.repeat(500)}\n`).join('');
  kcat(['-b', s.kafka, '-t', 'bulk', '-P', '-z', 'lz4'], lines); // ~10 MB, auto-created topic
  const ws = await open(s.http);
  const c = client(ws);
  ws._socket.pause();
  let next = 0;
  let bad = null;
  const done = new Promise((resolve) => {
    c.setOnNote((m) => {
      if (m.method !== 'log.records') return;
      for (const rec of m.params.records) {
        const v = unb64(rec.value);
        if (rec.offset !== next || !v.startsWith(`${next}:`)) bad = bad || `${next}: ${rec.offset}`;
        next++;
      }
      if (next >= N) resolve();
    });
  });
  const subscribed = c.call('log.subscribe', { topic: 'bulk', partition: 0, offset: 0 });
  await new Promise((r) => setTimeout(r, 1500));
  const m = await getMetrics(s.http);
  const line = m.split('\n').find((l) => l.startsWith('pyralog_http_send_queue_bytes '));
  const queued = Number(line.split(' ').pop());
  // The stream is ~14 MB of JSON; a paused subscription stops at 512 KiB of backlog (plus one
  // notification of at most ~1.4 MB: 1000 records).
  assert(queued < 3 * 1024 * 1024, `send queue bounded while the subscriber is paused: ${queued}`);
  ws._socket.resume();
  await Promise.race([done, new Promise((_, rej) => setTimeout(
    () => rej(new Error(`slow subscriber got ${next} of ${N}`)), 30000))]);
  assert(!bad, `order: ${bad}`);
  assert(next === N, `got ${next}`);
  const r = await subscribed;
  assert(r.result && r.result.subscription > 0, JSON.stringify(r));
  mark('slow subscriber');
  ws.terminate();
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyralog-ws-'));
  const s = await startServer(dir);
  try {
    await run(s);
    await slowSubscriber(s);
  } catch (e) {
    console.error(s.log());
    s.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const code = await stopProc(s);
  mark('server stopped');
  fs.rmSync(dir, { recursive: true, force: true });
  assert(code === 0, `server exit code ${code}:\n${s.log()}`);
  console.log('ok');
}

const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 90000);
main().then(() => { clearTimeout(timer); process.exit(0); }, (e) => { console.error(e); process.exit(1); });
