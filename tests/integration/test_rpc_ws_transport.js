// JSON-RPC over WebSocket (src/rpc/http.c) against tests/tools/rpc_test_server: many requests in
// flight, out-of-order answers, server push with back-pressure (a paused reader keeps the server's
// send queue bounded and still gets every notification in order), the message size limit, the
// connection limit (error message + close 1008), paths other than /rpc refused.
'use strict';
const http = require('http');
const path = require('path');
const WebSocket = require('ws');
const { freePort, assert, startProc, stopProc, open, client } = require('./lib/rpc');

const BUILD = process.env.PYRALOG_BUILD_DIR || 'build';
const TOOL = path.join(BUILD, 'rpc_test_server');

async function startServer(extra = []) {
  const addr = `127.0.0.1:${await freePort()}`;
  const p = await startProc([TOOL, '--listen', addr, ...extra], 'rpc-test-server ready');
  return { addr, ...p };
}

const stopServer = stopProc;

function getMetrics(addr) {
  return new Promise((resolve, reject) => {
    http.get(`http://${addr}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  assert(line, `metric ${name} present`);
  return Number(line.split(' ').pop());
}

async function inFlight(addr) {
  const ws = await open(addr);
  const c = client(ws);
  const N = 2000;
  const answers = await Promise.all(
    Array.from({ length: N }, (_, i) => c.call('echo', { i })));
  answers.forEach((a, i) => assert(a.result.i === i, `echo ${i}: ${JSON.stringify(a)}`));
  // out of order: the slow call is answered after the fast one sent later
  const order = [];
  const slow = c.call('sleep', { ms: 300 }).then(() => order.push('slow'));
  const fast = c.call('echo', {}).then(() => order.push('fast'));
  await Promise.all([slow, fast]);
  assert(order.join() === 'fast,slow', `order ${order}`);
  // errors come back on the same socket
  const bad = await c.call('sleep', { ms: 'x' });
  assert(bad.error.code === -32602, JSON.stringify(bad));
  ws.close();
}

async function pushWithBackPressure(addr) {
  const ws = await open(addr);
  const c = client(ws);
  const N = 200000;
  // Stop reading from the socket: the server must pause the producer, not queue 200k messages.
  ws._socket.pause();
  const done = c.call('ticks', { count: N });
  await new Promise((r) => setTimeout(r, 1500));
  const m = await getMetrics(addr);
  const queued = metric(m, 'pyralog_http_send_queue_bytes');
  // 200k notifications are ~5 MB; the producer stops at 256 KiB of backlog (+ one message).
  assert(queued < 512 * 1024, `send queue bounded while the reader is paused: ${queued}`);
  ws._socket.resume();
  const res = await done;
  assert(res.result.sent === N, JSON.stringify(res));
  // every notification, in order, none missing
  await new Promise((r) => setTimeout(r, 50));
  assert(c.notes.length === N, `got ${c.notes.length} of ${N} notifications`);
  c.notes.forEach((n, i) => {
    if (n.method !== 'tick' || n.params.n !== i) throw new Error(`note ${i}: ${JSON.stringify(n)}`);
  });
  ws.close();
}

async function limits() {
  const s = await startServer(['--max-message', '1000', '--max-connections', '2']);
  try {
    const ws = await open(s.addr);
    const c = client(ws);
    const tooBig = await new Promise((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d)));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { x: 'y'.repeat(5000) } }));
    });
    assert(tooBig.error.code === -32004 && tooBig.id === null, JSON.stringify(tooBig));
    assert(tooBig.error.message.includes('1000'), tooBig.error.message);
    const ok = await c.call('echo', { x: 'y'.repeat(900) });
    assert(ok.result.x.length === 900, 'just under the limit works');
    const ws2 = await open(s.addr);
    // the third connection: one error message, then a close with 1008
    const ws3 = new WebSocket(`ws://${s.addr}/rpc`);
    const [msg, code, reason] = await new Promise((resolve, reject) => {
      let first = null;
      ws3.on('message', (d) => { first = JSON.parse(d); });
      ws3.on('close', (code, reason) => resolve([first, code, String(reason)]));
      ws3.on('error', reject);
    });
    assert(msg && msg.error.code === -32003 && msg.error.message.includes('2'), JSON.stringify(msg));
    assert(code === 1008, `close code ${code}`);
    assert(reason.includes('too many connections'), reason);
    ws2.close();
    ws.close();
    // other paths are refused at the handshake
    let refused = false;
    try { const w = await open(s.addr, '/other'); w.close(); } catch (e) { refused = true; }
    assert(refused, 'ws upgrade to /other refused');
  } finally {
    const code = await stopServer(s);
    assert(code === 0, `server exit code ${code}:\n${s.log()}`);
  }
}

async function main() {
  const s = await startServer();
  try {
    await inFlight(s.addr);
    await pushWithBackPressure(s.addr);
  } catch (e) {
    console.error(s.log());
    s.child.kill('SIGKILL');
    throw e;
  }
  const code = await stopServer(s);
  assert(code === 0, `server exit code ${code}:\n${s.log()}`);
  await limits();
  console.log('ok');
}

const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 60000);
main().then(() => { clearTimeout(timer); process.exit(0); }, (e) => { console.error(e); process.exit(1); });
