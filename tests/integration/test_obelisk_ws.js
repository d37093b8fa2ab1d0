// Obelisk node over JSON-RPC on a WebSocket (ws://H:P/rpc): id.next and seq.next in flight
// together, answers matched by id, IDs unique and increasing, and a bad request answered with a
// clear -32602 error on the same socket.
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

function freePortPair() {
  return new Promise((resolve, reject) => {
    const tryOne = (left) => {
      const a = net.createServer();
      a.listen(0, '127.0.0.1', () => {
        const p = a.address().port;
        const b = net.createServer();
        b.once('error', () => { a.close(); left > 0 ? tryOne(left - 1) : reject(new Error('no ports')); });
        b.listen(p + 1, '127.0.0.1', () => { b.close(); a.close(() => resolve(p)); });
      });
    };
    tryOne(100);
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyralog-obl-ws-'));
  const port = await freePortPair();
  const node = spawn(process.env.PYRALOG_BIN, ['obelisk', '--node-id', '9', '--data-dir', dir,
    '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const timer = setTimeout(() => { node.kill('SIGKILL'); console.error('timeout'); process.exit(1); }, 30000);
  try {
    await new Promise((resolve, reject) => {
      let log = '';
      node.stderr.on('data', (d) => { log += d; if (log.includes('pyralog obelisk ready')) resolve(); });
      node.on('exit', (c) => reject(new Error('node exited ' + c + ': ' + log)));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`);
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    const pending = new Map();
    ws.on('message', (m) => { const r = JSON.parse(m); pending.get(r.id)(r); pending.delete(r.id); });
    const call = (id, method, params) => new Promise((res) => {
      pending.set(id, res);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
    const rs = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call(i + 1, 'id.next', { count: 50 })),
      call(100, 'seq.next', { name: 'wsseq', count: 10 }),
      call(101, 'seq.next', { name: 'wsseq', count: 10 }),
      call(102, 'id.next', { count: 'many' }),
    ]);
    const ids = rs.slice(0, 20).flatMap((r) => r.result.ids.map(BigInt));
    if (new Set(ids.map(String)).size !== 1000) throw new Error('duplicate IDs');
    for (const id of ids) if (((id >> 12n) & 1023n) !== 9n) throw new Error('wrong node in ' + id);
    const firsts = [rs[20].result.first, rs[21].result.first].map(Number).sort((a, b) => a - b);
    if (firsts[0] !== 0 || firsts[1] !== 10) throw new Error('seq ranges ' + firsts);
    if (rs[22].error.code !== -32602 || !rs[22].error.message.includes('count'))
      throw new Error('bad error ' + JSON.stringify(rs[22]));
    ws.close();
    node.kill('SIGTERM');
    const code = await new Promise((res) => node.on('exit', res));
    if (code !== 0) throw new Error('node exit ' + code);
    console.log('ok');
  } finally {
    clearTimeout(timer);
    if (node.exitCode === null) node.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
