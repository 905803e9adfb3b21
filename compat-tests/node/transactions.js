// KafkaJS as a judge of transactions: a transactional producer commits one
// transaction, aborts one, commits another (all on one partition, so the
// aborted records lie between the committed ones); a read_committed group
// consumer (readUncommitted: false) must see exactly the committed records
// in order, and a read_uncommitted one all of them.
// Usage: node transactions.js <bootstrap> <topic> <transactional-id> <group-prefix> <count>
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, transactionalId, groupPrefix, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const WAIT_MS = 90000;

const values = (label) => Array.from({ length: count }, (_, i) => `${label}-${i}`);

// Reads partition 0 as a group member until `expected` records arrived;
// returns the values in delivery order (with offsets checked to increase).
async function readAll(kafka, group, readUncommitted, expected) {
  const consumer = kafka.consumer({
    groupId: group,
    readUncommitted,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  let lastOffset = -1;
  const problems = [];
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  const timer = setTimeout(() => resolveDone(false), WAIT_MS);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const offset = Number(message.offset);
      if (partition !== 0) problems.push(`record on partition ${partition}`);
      if (offset <= lastOffset) problems.push(`offset ${offset} after ${lastOffset}`);
      lastOffset = offset;
      seen.push(message.value.toString());
      if (seen.length >= expected) resolveDone(true);
    },
  });
  const ok = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (!ok) {
    throw new Error(`${group}: read ${seen.length} of ${expected} records within ${WAIT_MS} ms: ${seen.slice(0, 10)}`);
  }
  if (problems.length) throw new Error(`${group}: ${problems.slice(0, 5)}`);
  return seen;
}

function expectSame(what, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${got.length} records ${JSON.stringify(got.slice(0, 12))}, expected ${want.length} ${JSON.stringify(want.slice(0, 12))}`);
  }
}

async function main() {
  const kafka = new Kafka({ clientId: 'compat-kafkajs-txn', brokers: [bootstrap], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
  await admin.disconnect();

  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const [label, end] of [['js1', 'commit'], ['js2', 'abort'], ['js3', 'commit']]) {
    const txn = await producer.transaction();
    // send() resolves once the broker acknowledged: the records are in the
    // log before the transaction ends.
    await txn.send({
      topic,
      acks: -1,
      messages: values(label).map((v, i) => ({ partition: 0, key: `k${i}`, value: v })),
    });
    await txn[end]();
  }
  await producer.disconnect();

  // The aborted records precede the last committed ones in the partition,
  // so a consumer that has every committed record would already have
  // received any aborted record it failed to filter.
  const committed = [...values('js1'), ...values('js3')];
  const rc = await readAll(kafka, `${groupPrefix}-committed`, false, committed.length);
  expectSame('read_committed', rc, committed);

  const all = [...values('js1'), ...values('js2'), ...values('js3')];
  const ru = await readAll(kafka, `${groupPrefix}-uncommitted`, true, all.length);
  expectSame('read_uncommitted', ru, all);

  console.log(`kafkajs transactions ok: read_committed ${rc.length} records, read_uncommitted ${ru.length}`);
}

main().catch((e) => {
  console.error('FAIL:', e);
  process.exit(1);
});
