// kafkajs 2.2.4 against `pyralog server`: admin (create topic, metadata, partitions, configs,
// offsets, delete), an idempotent producer with acks=-1 and gzip, a plain producer, and a
// consumer reading the topic from the beginning.
'use strict';
const assert = require('assert');
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

function startServer(dataDir, kport, hport) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.env.PYRALOG_BIN, ['server', '--data-dir', dataDir, '--kafka-listen',
      `127.0.0.1:${kport}`, '--http-listen', `127.0.0.1:${hport}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('server not ready:\n' + log)), 30000);
    p.stderr.on('data', (d) => {
      log += d;
      if (log.includes('pyralog server ready')) {
        clearTimeout(timer);
        resolve({ p, log: () => log });
      }
    });
    p.on('exit', (code) => reject(new Error(`server exited ${code}:\n${log}`)));
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyralog-kafkajs-'));
  const kport = await freePort();
  const hport = await freePort();
  const srv = await startServer(dir, kport, hport);
  const hardStop = setTimeout(() => { srv.p.kill('SIGKILL'); console.error('timeout'); process.exit(1); }, 55000);
  try {
    const kafka = new Kafka({ clientId: 'pyralog-test', brokers: [`127.0.0.1:${kport}`],
      logLevel: logLevel.ERROR, retry: { retries: 3 } });
    const admin = kafka.admin();
    await admin.connect();
    assert.strictEqual(await admin.createTopics({ topics: [{ topic: 'js', numPartitions: 2,
      configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true);
    // Creating it again is refused with TOPIC_ALREADY_EXISTS: createTopics returns false.
    assert.strictEqual(await admin.createTopics({ topics: [{ topic: 'js', numPartitions: 2 }] }), false);
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad', configEntries: [{ name: 'no.such', value: '1' }] }] }),
      (e) => /config/i.test(e.message) || (e.errors && e.errors.length > 0));
    const topics = await admin.listTopics();
    assert.ok(topics.includes('js'), topics);
    const md = await admin.fetchTopicMetadata({ topics: ['js'] });
    assert.strictEqual(md.topics[0].partitions.length, 2);

    await admin.createPartitions({ topicPartitions: [{ topic: 'js', count: 3 }] });
    const md2 = await admin.fetchTopicMetadata({ topics: ['js'] });
    assert.strictEqual(md2.topics[0].partitions.length, 3);

    const cfg = await admin.describeConfigs({ includeSynonyms: false,
      resources: [{ type: 2, name: 'js', configNames: ['retention.ms', 'cleanup.policy'] }] });
    const entries = Object.fromEntries(cfg.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
    assert.strictEqual(entries['retention.ms'], '3600000');
    assert.strictEqual(entries['cleanup.policy'], 'delete');
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'js',
      configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    const cfg2 = await admin.describeConfigs({ includeSynonyms: false,
      resources: [{ type: 2, name: 'js', configNames: ['retention.ms'] }] });
    assert.strictEqual(cfg2.resources[0].configEntries[0].configValue, '7200000');

    // Idempotent producer, acks=-1, gzip; then a plain producer with keys and headers.
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idem.connect();
    const N = 3000;
    for (let b = 0; b < N; b += 500) {
      const messages = [];
      for (let i = b; i < b + 500; i++) messages.push({ key: `k${i}`, value: `v${i}`, headers: { h: `x${i}` } });
      const res = await idem.send({ topic: 'js', acks: -1, compression: CompressionTypes.GZIP, messages });
      for (const r of res) assert.strictEqual(r.errorCode, 0);
    }
    await idem.disconnect();
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: 'js', messages: [{ key: 'last', value: 'plain-last' }] });
    await plain.disconnect();

    const offsets = await admin.fetchTopicOffsets('js');
    const total = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
    assert.strictEqual(total, N + 1);

    // Consumer from the beginning (consumer group protocol).
    const consumer = kafka.consumer({ groupId: 'js-group', sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'js', fromBeginning: true });
    const seen = new Map();
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`consumer got ${seen.size} of ${N + 1}`)), 30000);
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          const v = message.value.toString();
          seen.set(v, (seen.get(v) || 0) + 1);
          if (v !== 'plain-last') assert.strictEqual(message.headers.h.toString(), 'x' + v.slice(1));
          if (seen.size === N + 1) { clearTimeout(t); resolve(); }
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    for (let i = 0; i < N; i++) assert.strictEqual(seen.get(`v${i}`), 1, `v${i}`);
    assert.strictEqual(seen.get('plain-last'), 1);

    await admin.deleteTopics({ topics: ['js'] });
    assert.ok(!(await admin.listTopics()).includes('js'));
    await admin.disconnect();
    const code = await new Promise((resolve) => { srv.p.removeAllListeners('exit'); srv.p.on('exit', resolve); srv.p.kill('SIGTERM'); });
    assert.strictEqual(code, 0, srv.log());
    console.log('ok');
  } catch (e) {
    console.error(e);
    console.error('--- server log ---\n' + srv.log());
    srv.p.kill('SIGKILL');
    process.exitCode = 1;
  } finally {
    clearTimeout(hardStop);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
