// KafkaJS as a judge: produce records (none and gzip, idempotent producer)
// and append what the broker acknowledged to the manifest (JSON lines).
// Usage: node produce.js <bootstrap> <topic> <manifest> <count> <start> <partitions>
'use strict';
const fs = require('fs');
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [bootstrap, topic, manifest, countArg, startArg, partitionsArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
let i = parseInt(startArg, 10);
const partitions = parseInt(partitionsArg, 10);

function record(n) {
  const key = n % 7 === 0 ? null : `k${n % 97}`;
  const value = `js${n}-` + 'abcdefghij'.repeat(1 + (n % 5));
  const headers = n % 3 === 0 ? [] : [['h1', `x${n}`], ['trace', `t${(n * 31) % 1000}`]];
  return { key, value, headers, ts: 1710000000000 + n };
}

async function main() {
  const kafka = new Kafka({ clientId: 'compat-kafkajs', brokers: [bootstrap], logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rows = [];
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const batchSize = 100;
    for (let done = 0; done < count; done += batchSize) {
      const msgs = [];
      for (let j = 0; j < Math.min(batchSize, count - done); j++, i++) {
        const r = record(i);
        msgs.push({ n: i, p: i % partitions, ...r });
      }
      const result = await producer.send({
        topic,
        acks: -1,
        compression,
        messages: msgs.map((m) => ({
          partition: m.p,
          key: m.key,
          value: m.value,
          timestamp: String(m.ts),
          headers: Object.fromEntries(m.headers),
        })),
      });
      for (const meta of result) {
        if (meta.errorCode !== 0) throw new Error(`partition ${meta.partition}: error ${meta.errorCode}`);
        const mine = msgs.filter((m) => m.p === meta.partition);
        mine.forEach((m, j) => {
          rows.push({ p: m.p, o: Number(meta.baseOffset) + j, k: m.key, v: m.value, h: m.headers, ts: m.ts });
        });
      }
    }
  }
  await producer.disconnect();
  fs.appendFileSync(manifest, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  // The admin client reads the same end offsets through ListOffsets.
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const counts = {};
  for (const line of fs.readFileSync(manifest, 'utf8').split('\n')) {
    if (line) { const r = JSON.parse(line); counts[r.p] = (counts[r.p] || 0) + 1; }
  }
  for (const o of offsets) {
    if (Number(o.high) !== (counts[o.partition] || 0)) {
      throw new Error(`partition ${o.partition}: high ${o.high}, manifest has ${counts[o.partition]}`);
    }
  }
  console.log(`kafkajs produced ${rows.length} records; end offsets match`);
}

main().catch((e) => {
  console.error('FAIL:', e);
  process.exit(1);
});
