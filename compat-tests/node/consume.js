// KafkaJS as a judge of consumer groups: a group consumer reads every
// record of a topic from the beginning and commits.
// With a manifest (JSON lines written by the producers), every record's
// key, value, headers and timestamp are compared with what was acknowledged.
// Usage: node consume.js <bootstrap> <topic> <group> <expected-records> [manifest]
'use strict';
const fs = require('fs');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');

// KafkaJS reads gzip itself; snappy needs this pure-JS codec. lz4 and zstd
// need native add-ons, so KafkaJS is only given topics without them.
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');

const [bootstrap, topic, group, expectedArg, manifestPath] = process.argv.slice(2);
const expected = parseInt(expectedArg, 10);
const manifest = new Map();
if (manifestPath) {
  for (const line of fs.readFileSync(manifestPath, 'utf8').split('\n')) {
    if (line) { const r = JSON.parse(line); manifest.set(`${r.p}:${r.o}`, r); }
  }
}
const mismatches = [];

function check(partition, message) {
  const want = manifest.get(`${partition}:${message.offset}`);
  if (!want) { mismatches.push(`unexpected record ${partition}:${message.offset}`); return; }
  const key = message.key === null ? null : message.key.toString();
  const headers = Object.entries(message.headers || {}).map(([k, v]) => [k, v.toString()]);
  const got = { k: key, v: message.value.toString(), h: headers, ts: Number(message.timestamp) };
  for (const f of ['k', 'v', 'ts']) {
    if (got[f] !== want[f]) mismatches.push(`${partition}:${message.offset} ${f}: ${got[f]} != ${want[f]}`);
  }
  if (JSON.stringify(got.h) !== JSON.stringify(want.h)) {
    mismatches.push(`${partition}:${message.offset} headers: ${JSON.stringify(got.h)} != ${JSON.stringify(want.h)}`);
  }
}

async function main() {
  const kafka = new Kafka({ clientId: 'compat-kafkajs', brokers: [bootstrap], logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set();
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  const timer = setTimeout(() => resolveDone(false), 90000);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.add(`${partition}:${message.offset}`);
      if (manifestPath) check(partition, message);
      if (seen.size >= expected) resolveDone(true);
    },
  });
  const ok = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (!ok || seen.size !== expected) {
    throw new Error(`read ${seen.size} of ${expected} records`);
  }
  if (mismatches.length) throw new Error(`${mismatches.length} mismatches, first: ${mismatches.slice(0, 3)}`);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();
  const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
  if (committed !== expected) throw new Error(`committed offsets sum to ${committed}, expected ${expected}`);
  console.log(`kafkajs group consumer read ${seen.size} records${manifestPath ? ' matching the manifest' : ''} and committed them`);
}

main().catch((e) => {
  console.error('FAIL:', e);
  process.exit(1);
});
