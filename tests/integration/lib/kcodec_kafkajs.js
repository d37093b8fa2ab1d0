// kafkajs 2.2.4 against kcodec_responder: admin create topic, metadata, offsets, an idempotent
// producer, offsets again, delete. Prints one JSON line; exit 1 on any error.
const { Kafka, logLevel } = require('kafkajs');
const port = process.argv[2];
const kafka = new Kafka({ clientId: 'kjs', brokers: ['127.0.0.1:' + port],
                          logLevel: logLevel.ERROR, retry: { retries: 2 } });
(async () => {
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic: 'jt', numPartitions: 2 }] });
  const md = await admin.fetchTopicMetadata({ topics: ['jt'] });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const res = await producer.send({ topic: 'jt', messages: [
    { key: 'a', value: 'one', partition: 1 }, { key: 'b', value: 'two', partition: 1 }] });
  await producer.disconnect();
  const offs = await admin.fetchTopicOffsets('jt');
  await admin.deleteTopics({ topics: ['jt'] });
  await admin.disconnect();
  console.log(JSON.stringify({ created, partitions: md.topics[0].partitions.length, res, offs }));
})().catch(e => { console.error('FAIL', e); process.exit(1); });
