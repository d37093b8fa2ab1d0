// Shared helpers for the JSON-RPC node tests: free ports, child processes that print a ready
// line, a WebSocket JSON-RPC client that matches answers to ids and collects notifications.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const WebSocket = require('ws');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }

// Spawns argv, resolves once stderr contains `ready`: {child, log()}.
async function startProc(argv, ready) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  // Never leave the child behind, whatever way this test process ends.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let log = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('not ready:\n' + log)), 30000);
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes(ready)) { clearTimeout(t); resolve(); }
    });
    child.on('exit', (code) => reject(new Error(`${argv[0]} exited ${code}:\n${log}`)));
  });
  return { child, log: () => log };
}

// SIGTERM and wait: resolves with the exit code.
function stopProc(p) {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    p.child.removeAllListeners('exit');
    p.child.on('exit', (code) => resolve(code));
    p.child.kill('SIGTERM');
  });
}

function open(addr, path = '/rpc') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${addr}${path}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

// call(method, params) → Promise of the whole response; notes: notifications in arrival order;
// setOnNote(fn) sees each notification as it arrives.
function client(ws) {
  const pending = new Map();
  const notes = [];
  let nextId = 1;
  let onNote = null;
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    if (m.id !== undefined && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    } else {
      notes.push(m);
      if (onNote) onNote(m);
    }
  });
  return {
    notes,
    setOnNote(f) { onNote = f; },
    call(method, params) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
  };
}

module.exports = { freePort, assert, startProc, stopProc, open, client };
