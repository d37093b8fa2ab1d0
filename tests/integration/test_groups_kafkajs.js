// kafkajs 2.2.4 consumer group: two consumers in one group consume a 4-partition topic together.
// Each gets a disjoint, non-empty share of the partitions; together they see every record; the
// group's committed offsets (admin.fetchOffsets) reach the log end; describeGroups shows both.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { Kafka, logLevel } = require('kafkajs');

const BIN = process.env.PYRALOG_BIN || 'build/pyralog';
const TOPIC = 'clicks';
const GROUP = 'js-group';
const N = 200;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function startServer(dataDir, kafkaPort, httpPort) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['server', '--data-dir', dataDir, '--kafka-listen',
      `127.0.0.1:${kafkaPort}`, '--http-listen', `127.0.0.1:${httpPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('server not ready:\n' + log)), 30000);
    p.stderr.on('data', (d) => {
      log += d.toString();
      if (log.includes('pyralog server ready')) {
        clearTimeout(timer);
        resolve({ p, log: () => log });
      }
    });
    p.on('exit', (code) => reject(new Error(`server exited ${code}:\n${log}`)));
  });
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyralog-js-groups-'));
  const kafkaPort = await freePort();
  const srv = await startServer(path.join(dir, 'data'), kafkaPort, await freePort());
  const kafka = new Kafka({ clientId: 'groups-test', brokers: [`127.0.0.1:${kafkaPort}`],
    logLevel: logLevel.NOTHING, retry: { retries: 8 } });
  const admin = kafka.admin();
  const consumers = [];
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }] });

    const seen = [new Map(), new Map()];
    const assigned = [new Set(), new Set()];
    for (let i = 0; i < 2; i++) {
      const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 500,
        rebalanceTimeout: 10000 });
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[i] = new Set((e.payload.memberAssignment[TOPIC] || []));
      });
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({ eachMessage: async ({ partition, message }) => {
        seen[i].set(message.value.toString(), partition);
      } });
      consumers.push(c);
    }
    // Both members hold partitions, without overlap, covering all four.
    await waitFor(() => assigned[0].size > 0 && assigned[1].size > 0 &&
      [...assigned[0]].every((p) => !assigned[1].has(p)) &&
      assigned[0].size + assigned[1].size === 4, 45000, 'two members to split 4 partitions');
    console.log('assignments:', [...assigned[0]].sort(), [...assigned[1]].sort());

    const producer = kafka.producer();
    await producer.connect();
    const messages = [];
    for (let i = 0; i < N; i++) messages.push({ key: `k${i}`, value: `v${i}` });
    await producer.send({ topic: TOPIC, messages });
    await producer.disconnect();

    await waitFor(() => seen[0].size + seen[1].size >= N &&
      new Set([...seen[0].keys(), ...seen[1].keys()]).size === N, 30000, 'all records');
    for (let i = 0; i < 2; i++) {
      if (seen[i].size === 0) throw new Error(`consumer ${i} consumed nothing`);
      for (const p of seen[i].values()) {
        if (!assigned[i].has(p)) throw new Error(`consumer ${i} read partition ${p} it does not own`);
      }
    }
    console.log('consumed:', seen[0].size, '+', seen[1].size);

    const desc = await admin.describeGroups([GROUP]);
    const g = desc.groups[0];
    if (g.state !== 'Stable' || g.members.length !== 2) {
      throw new Error('describeGroups: ' + JSON.stringify(g));
    }
    // Auto-commit runs on an interval: wait until the committed offsets cover every record.
    await waitFor(async () => {
      const offs = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const sum = offs[0].partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      return sum === N;
    }, 30000, 'committed offsets to reach the log end');
    console.log('ok');
  } catch (e) {
    console.error(e);
    console.error('--- server log ---\n' + srv.log().slice(-6000));
    process.exitCode = 1;
  } finally {
    for (const c of consumers) await c.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    srv.p.removeAllListeners('exit');
    srv.p.kill('SIGTERM');
    await new Promise((r) => srv.p.on('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
