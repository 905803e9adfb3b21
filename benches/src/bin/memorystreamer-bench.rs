//! `memorystreamer-bench`: drives a running broker through the Kafka
//! protocol with librdkafka (the `rdkafka` crate) and reports produce
//! throughput, produce latency percentiles (send → delivery report) and,
//! with `--broker-pid`, the broker's CPU time per million records (with
//! `--kv` also its user and system clock ticks apart), counted from when
//! the topic exists and the consumers are assigned until the last record
//! is delivered and read.
//! `-X key=value` (repeatable, as in kcat) passes librdkafka properties to
//! every client it makes, e.g. `-X security.protocol=SASL_SSL`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

#[derive(Debug, Parser)]
#[command(about = "Produce load against a Kafka-protocol broker and report throughput and latency")]
struct Args {
    /// Bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap: String,
    /// Topic (created if missing with --partitions).
    #[arg(long, default_value = "bench")]
    topic: String,
    /// Records to send.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// acks: 0, 1 or all.
    #[arg(long, default_value = "1")]
    acks: String,
    /// none, gzip, snappy, lz4, zstd.
    #[arg(long, default_value = "none")]
    compression: String,
    /// linger.ms
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
    /// Target rate in records/s (0 = as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Consumers reading the topic while it is produced (partitions are
    /// split between them, assigned without joining the group
    /// `memorystreamer-bench`, no commits); they measure end-to-end latency.
    #[arg(long, default_value_t = 0)]
    consumers: usize,
    /// Independent producer instances (records are split between them).
    #[arg(long, default_value_t = 1)]
    producers: usize,
    /// Broker process id, to report its CPU time.
    #[arg(long)]
    broker_pid: Option<u32>,
    /// Print one machine-readable line (key=value) instead of prose.
    #[arg(long)]
    kv: bool,
    /// A librdkafka property for every client this tool makes (admin,
    /// producers, consumers), as KEY=VALUE; repeatable, like kcat's `-X`.
    /// Applied after the tool's own settings, so it wins over them, e.g.
    /// `-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN
    /// -X sasl.username=bench -X sasl.password=secret`.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    property: Vec<(String, String)>,
}

/// Splits one `-X` argument at its first `=`: the key must be non-empty,
/// the value may be empty or contain further `=`.
fn parse_property(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        Some(_) => Err(format!(
            "empty property name in `{arg}` (expected KEY=VALUE)"
        )),
        None => Err(format!(
            "`{arg}` has no `=` (expected KEY=VALUE, e.g. security.protocol=SSL)"
        )),
    }
}

/// A client configuration for `args.bootstrap` with the tool's own
/// `settings`, then every `-X` property (which therefore wins).
fn client_config(args: &Args, settings: &[(&str, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &args.bootstrap);
    for (key, value) in settings {
        config.set(*key, value);
    }
    for (key, value) in &args.property {
        config.set(key, value);
    }
    config
}

struct LatencyContext;

impl ClientContext for LatencyContext {}

impl ProducerContext for LatencyContext {
    type DeliveryOpaque = Box<(Instant, std::sync::Arc<std::sync::Mutex<Stats>>)>;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Self::DeliveryOpaque) {
        let (sent, stats) = *opaque;
        let micros = sent.elapsed().as_micros() as u64;
        let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => {
                let _ = s.latency.record(micros.max(1));
                s.delivered += 1;
            }
            Err(_) => s.failed += 1,
        }
    }
}

/// A process's CPU time from `/proc/<pid>/stat`, in clock ticks
/// (`getconf CLK_TCK` per second).
struct CpuTicks {
    user: u64,
    system: u64,
}

/// User and system CPU ticks of process `pid` (fields 14 and 15 of
/// `/proc/<pid>/stat`); None when the process or the file is gone.
fn cpu_ticks(pid: u32) -> Option<CpuTicks> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after ')' are fixed.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    Some(CpuTicks {
        user: fields.next()?.parse().ok()?,
        system: fields.next()?.parse().ok()?,
    })
}

struct Stats {
    latency: Histogram<u64>,
    delivered: u64,
    failed: u64,
}

fn ensure_topic(args: &Args) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(args, &[]).create().context("admin client")?;
    let topic = NewTopic::new(&args.topic, args.partitions, TopicReplication::Fixed(1));
    let res =
        block_on(admin.create_topics([&topic], &AdminOptions::new())).context("create topic")?;
    for r in res {
        if let Err((name, code)) = r {
            if code != RDKafkaErrorCode::TopicAlreadyExists {
                bail!("creating {name}: {code}");
            }
        }
    }
    Ok(())
}

/// Minimal block_on for the one admin future (avoids a runtime dependency).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context as TaskContext, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}

fn micros_since_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Sends `count` records (ids `first..first+count`) and flushes. The first
/// 8 bytes of each value carry the send time (µs since the epoch) for the
/// consumers' end-to-end latency.
fn run_producer(
    args: &Args,
    first: u64,
    count: u64,
    stats: &std::sync::Arc<std::sync::Mutex<Stats>>,
    start: Instant,
) -> Result<()> {
    let producer: BaseProducer<LatencyContext> = client_config(
        args,
        &[
            ("acks", args.acks.clone()),
            ("compression.type", args.compression.clone()),
            ("linger.ms", args.linger_ms.to_string()),
            ("queue.buffering.max.messages", "1000000".into()),
            ("queue.buffering.max.kbytes", "1048576".into()),
        ],
    )
    .create_with_context(LatencyContext)
    .context("producer")?;
    let mut value = vec![b'x'; args.record_size.max(8)];
    let per_producer_rate = args.rate as f64 / args.producers.max(1) as f64;
    let interval = if args.rate > 0 {
        Some(Duration::from_secs_f64(1.0 / per_producer_rate))
    } else {
        None
    };
    for i in 0..count {
        if let Some(iv) = interval {
            let due = start + iv.mul_f64(i as f64);
            while Instant::now() < due {
                producer.poll(Duration::ZERO);
                std::hint::spin_loop();
            }
        }
        let partition = ((first + i) % args.partitions as u64) as i32;
        value[..8].copy_from_slice(&micros_since_epoch().to_be_bytes());
        let mut opaque = Box::new((Instant::now(), stats.clone()));
        loop {
            let rec = BaseRecord::with_opaque_to(&args.topic, opaque)
                .partition(partition)
                .payload(&value[..args.record_size.max(8)]);
            match producer.send::<(), [u8]>(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), rec)) => {
                    producer.poll(Duration::from_millis(1));
                    opaque = rec.delivery_opaque;
                    opaque.0 = Instant::now();
                }
                Err((e, _)) => bail!("send failed: {e}"),
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(300)).context("flush")?;
    Ok(())
}

/// Reads its share of partitions from the current end until `want`
/// records arrived in total (shared counter) or the deadline passes;
/// records end-to-end latency (send time in the value → receipt).
fn run_consumer(
    args: &Args,
    index: usize,
    received: &std::sync::atomic::AtomicU64,
    want: u64,
    e2e: &std::sync::Mutex<Histogram<u64>>,
    ready: &std::sync::Barrier,
) -> Result<()> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use std::sync::atomic::Ordering;
    let consumer: BaseConsumer = client_config(
        args,
        &[
            ("group.id", "memorystreamer-bench".into()),
            ("enable.auto.commit", "false".into()),
            ("fetch.wait.max.ms", "10".into()),
        ],
    )
    .create()
    .context("consumer")?;
    // Start at the current end, resolved now (before producing starts), so
    // exactly the records of this run are read.
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in (0..args.partitions).filter(|p| (*p as usize) % args.consumers == index) {
        let (_, high) = consumer
            .fetch_watermarks(&args.topic, p, Duration::from_secs(30))
            .context("watermarks")?;
        tpl.add_partition_offset(&args.topic, p, rdkafka::Offset::Offset(high))
            .context("partition")?;
    }
    consumer.assign(&tpl).context("assign")?;
    ready.wait();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut local = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).context("histogram")?;
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            if let Some(v) = m.payload() {
                if v.len() >= 8 {
                    let mut ts = [0u8; 8];
                    ts.copy_from_slice(&v[..8]);
                    let sent = u64::from_be_bytes(ts);
                    let _ = local.record(micros_since_epoch().saturating_sub(sent).max(1));
                }
            }
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
    e2e.lock()
        .unwrap_or_else(|p| p.into_inner())
        .add(&local)
        .context("merge histograms")?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure_topic(&args)?;
    let stats = std::sync::Arc::new(std::sync::Mutex::new(Stats {
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram")?,
        delivered: 0,
        failed: 0,
    }));
    let received = std::sync::atomic::AtomicU64::new(0);
    let e2e = std::sync::Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).context("histogram")?,
    );
    let ready = std::sync::Barrier::new(args.consumers + 1);
    let producers = args.producers.max(1) as u64;
    let (cpu_before, ticks_before, start, elapsed) = std::thread::scope(
        |scope| -> Result<(Option<f64>, Option<CpuTicks>, Instant, f64)> {
            let consumers: Vec<_> = (0..args.consumers)
                .map(|i| {
                    let (args, received, e2e, ready) = (&args, &received, &e2e, &ready);
                    scope.spawn(move || run_consumer(args, i, received, args.records, e2e, ready))
                })
                .collect();
            ready.wait();
            let cpu_before = args
                .broker_pid
                .and_then(memorystreamer_benches::process_cpu_seconds);
            let ticks_before = args.broker_pid.and_then(cpu_ticks);
            let start = Instant::now();
            let handles: Vec<_> = (0..producers)
                .map(|p| {
                    let first = p * (args.records / producers);
                    let count = if p + 1 == producers {
                        args.records - first
                    } else {
                        args.records / producers
                    };
                    let (args, stats) = (&args, &stats);
                    scope.spawn(move || run_producer(args, first, count, stats, start))
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
            }
            let elapsed = start.elapsed().as_secs_f64();
            for h in consumers {
                h.join()
                    .map_err(|_| anyhow::anyhow!("consumer thread panicked"))??;
            }
            Ok((cpu_before, ticks_before, start, elapsed))
        },
    )?;
    let _ = start;
    let cpu_after = args
        .broker_pid
        .and_then(memorystreamer_benches::process_cpu_seconds);
    let broker_ticks = match (ticks_before, args.broker_pid.and_then(cpu_ticks)) {
        (Some(a), Some(b)) => Some(CpuTicks {
            user: b.user.saturating_sub(a.user),
            system: b.system.saturating_sub(a.system),
        }),
        _ => None,
    };
    let ticks = |f: fn(&CpuTicks) -> u64| {
        broker_ticks
            .as_ref()
            .map_or("n/a".into(), |t| f(t).to_string())
    };
    let s = stats.lock().unwrap_or_else(|p| p.into_inner());
    if s.failed > 0 {
        bail!("{} records failed", s.failed);
    }
    let e2e = e2e.lock().unwrap_or_else(|p| p.into_inner());
    if args.consumers > 0 && e2e.len() < args.records {
        bail!(
            "consumers received {} of {} records",
            e2e.len(),
            args.records
        );
    }
    let rps = s.delivered as f64 / elapsed;
    let mbps = rps * args.record_size as f64 / 1e6;
    let q = |p: f64| s.latency.value_at_quantile(p) as f64 / 1000.0;
    let e = |p: f64| e2e.value_at_quantile(p) as f64 / 1000.0;
    let broker_cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    if args.kv {
        println!(
            "records={} size={} partitions={} acks={} compression={} linger_ms={} seconds={:.3} records_per_s={:.0} mb_per_s={:.2} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} e2e_p50_ms={} e2e_p99_ms={} broker_cpu_s={} broker_user_ticks={} broker_system_ticks={}",
            s.delivered, args.record_size, args.partitions, args.acks, args.compression, args.linger_ms,
            elapsed, rps, mbps, q(0.5), q(0.99), q(0.999), s.latency.max() as f64 / 1000.0,
            if args.consumers > 0 { format!("{:.3}", e(0.5)) } else { "n/a".into() },
            if args.consumers > 0 { format!("{:.3}", e(0.99)) } else { "n/a".into() },
            broker_cpu.map(|c| format!("{c:.2}")).unwrap_or_else(|| "n/a".into()),
            ticks(|t| t.user),
            ticks(|t| t.system),
        );
    } else {
        println!(
            "{} records of {} B in {:.2} s: {:.0} records/s, {:.2} MB/s",
            s.delivered, args.record_size, elapsed, rps, mbps
        );
        println!(
            "produce latency ms: p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            q(0.5),
            q(0.99),
            q(0.999),
            s.latency.max() as f64 / 1000.0
        );
        if args.consumers > 0 {
            println!(
                "end-to-end latency ms: p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
                e(0.5),
                e(0.99),
                e(0.999),
                e2e.max() as f64 / 1000.0
            );
        }
        if let Some(c) = broker_cpu {
            println!(
                "broker CPU: {:.2} s total, {:.3} s per million records",
                c,
                c / (s.delivered as f64 / 1e6)
            );
        }
    }
    Ok(())
}
