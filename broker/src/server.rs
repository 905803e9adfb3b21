//! Listeners, the accept loops, background tasks and graceful shutdown.
//!
//! The accept loops enforce `max.connections` / `max.connections.per.ip`
//! (through `connection::Quotas`) and survive running out of file
//! descriptors: they log once, pause briefly between attempts and keep
//! serving the connections they have.
//!
//! On SIGTERM or Ctrl-C: stop accepting, let every connection finish the
//! request it is handling (bounded by a deadline), flush every log, return.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::broker::Broker;
use crate::connection;
use crate::context::Session;
use crate::error::BrokerError;
use crate::security::authenticator::Authenticator;

/// How often partition leaders check whether their ISR should change.
const ISR_CHECK_INTERVAL: Duration = Duration::from_millis(200);

/// How long in-flight requests get to finish at shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// How long the accept loop rests after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Waits for a `max.connections` slot, then accepts one connection.
async fn accept(
    listener: &TcpListener,
    quotas: &connection::Quotas,
) -> std::io::Result<(
    tokio::sync::OwnedSemaphorePermit,
    tokio::net::TcpStream,
    std::net::SocketAddr,
)> {
    let slot = quotas.slot().await;
    let (stream, peer) = listener.accept().await?;
    Ok((slot, stream, peer))
}

/// EMFILE / ENFILE: the process or the system is out of file descriptors.
fn is_out_of_fds(e: &std::io::Error) -> bool {
    // Same values on Linux, the BSDs and macOS.
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    matches!(e.raw_os_error(), Some(ENFILE | EMFILE))
}

/// Binds every listener; returns them with their bound addresses.
pub async fn bind(broker: &Broker) -> Result<Vec<TcpListener>, BrokerError> {
    let mut out = Vec::new();
    for l in &broker.config.listeners {
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            l.host.as_str()
        };
        let listener = TcpListener::bind((host, l.port))
            .await
            .map_err(|e| BrokerError::Config(format!("cannot listen on {host}:{}: {e}", l.port)))?;
        info!(listener = %format!("{}://{}", l.protocol, listener.local_addr()?), "listening");
        out.push(listener);
    }
    Ok(out)
}

/// Serves until `stop` resolves, then shuts down gracefully. `listeners`
/// are those [`bind`] returned, in the order of `broker.config.listeners`
/// (each connection's session is named after its listener's entry).
pub async fn run(
    broker: Arc<Broker>,
    listeners: Vec<TcpListener>,
    metrics: Option<(&'static PrometheusHandle, TcpListener)>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), BrokerError> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if let Some((handle, listener)) = metrics {
        if let Ok(addr) = listener.local_addr() {
            info!(%addr, "metrics at http://{addr}/metrics");
        }
        tasks.spawn(crate::scrape::serve(
            Arc::clone(&broker),
            listener,
            handle,
            shutdown_rx.clone(),
        ));
        // Histogram samples accumulate in the recorder until drained: drain
        // them on a timer so memory stays bounded when nobody scrapes.
        tasks.spawn(crate::metrics::upkeep(handle, shutdown_rx.clone()));
    }
    {
        let broker = Arc::clone(&broker);
        let shutdown = shutdown_rx.clone();
        tasks.spawn(async move { broker.security.watch_certificates(shutdown).await });
    }
    // Shared by every client listener: max.connections counts across them.
    let quotas = connection::Quotas::new(broker.config.connections.clone());
    // `listeners` are in the order of `broker.config.listeners` (as `bind`
    // returns them): the name of each is its entry's.
    for (i, listener) in listeners.into_iter().enumerate() {
        let name: Arc<str> = broker
            .config
            .listeners
            .get(i)
            .map_or("", |l| l.name.as_str())
            .into();
        let security = broker.security.listener(&name).cloned();
        let broker = Arc::clone(&broker);
        let quotas = Arc::clone(&quotas);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            // Set after a failed accept: no accept until then (no busy loop
            // while the error lasts, e.g. out of file descriptors).
            let mut paused_until: Option<tokio::time::Instant> = None;
            let mut out_of_fds = false;
            loop {
                tokio::select! {
                    accepted = accept(&listener, &quotas), if paused_until.is_none() => match accepted {
                        Ok((slot, stream, peer)) => {
                            if out_of_fds {
                                out_of_fds = false;
                                info!("accepting connections again");
                            }
                            match quotas.admit(peer.ip(), slot) {
                                Some(admission) => {
                                    if let Err(e) = stream.set_nodelay(true) {
                                        debug!(%peer, error = %e, "set_nodelay failed");
                                    }
                                    let session = Session::new(peer, Arc::clone(&name));
                                    let auth = security
                                        .as_ref()
                                        .and_then(|s| s.sasl.clone())
                                        .map(|s| Authenticator::new(s, Some(peer)));
                                    match security.as_ref().and_then(|s| s.tls.clone()) {
                                        Some(tls) => connections.spawn(connection::serve_tls(
                                            Arc::clone(&broker),
                                            stream,
                                            session,
                                            tls,
                                            auth,
                                            shutdown.clone(),
                                            admission,
                                        )),
                                        None => connections.spawn(connection::serve(
                                            Arc::clone(&broker),
                                            stream,
                                            session,
                                            auth,
                                            shutdown.clone(),
                                            admission,
                                        )),
                                    };
                                }
                                None => info!(
                                    %peer,
                                    limit = quotas.max_connections_per_ip(),
                                    "closing new connection: max.connections.per.ip reached"
                                ),
                            }
                        }
                        Err(e) => {
                            if is_out_of_fds(&e) {
                                // Existing connections keep being served; say
                                // so once per episode, not once per attempt.
                                if !out_of_fds {
                                    out_of_fds = true;
                                    error!(error = %e, "cannot accept connections: out of file descriptors \
                                        (raise the limit, e.g. ulimit -n); existing connections are still served, retrying");
                                }
                            } else {
                                warn!(error = %e, "accept failed");
                            }
                            paused_until = Some(tokio::time::Instant::now() + ACCEPT_BACKOFF);
                        }
                    },
                    _ = tokio::time::sleep_until(paused_until.unwrap_or_else(tokio::time::Instant::now)), if paused_until.is_some() => {
                        paused_until = None;
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    _ = shutdown.changed() => break,
                }
            }
            drop(listener);
            if tokio::time::timeout(DRAIN_DEADLINE, async {
                while connections.join_next().await.is_some() {}
            })
            .await
            .is_err()
            {
                warn!("connections still busy at shutdown deadline; aborting them");
                connections.abort_all();
            }
        });
    }
    {
        // Group timers (session expiry, rebalance deadlines). A 100 ms tick
        // costs nothing measurable when idle and bounds timer lateness.
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => broker.groups.tick(&broker),
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    {
        // Transaction coordinator: aborts transactions past their timeout and
        // finishes completions left unfinished by a restart (the first tick
        // runs at once).
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(broker.config.txn.abort_check_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => broker.txn().tick(&broker),
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    {
        // Retention: whole segments past retention.ms / retention.bytes.
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(broker.config.log.retention_check_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let b = Arc::clone(&broker);
                        if let Err(e) = tokio::task::spawn_blocking(move || b.apply_retention()).await {
                            error!(error = %e, "retention task failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    {
        // Images committed through other nodes (or by this node's quorum
        // member on someone else's behalf) take effect here.
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        let mut images = broker.quorum().subscribe();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    changed = images.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let b = Arc::clone(&broker);
                        match tokio::task::spawn_blocking(move || b.sync_image()).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => warn!(error = %e, "applying committed metadata failed"),
                            Err(e) => error!(error = %e, "metadata watcher failed"),
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    if broker.config.log.cleaner_enable {
        // The log cleaner: one compaction pass at a time over compacted
        // topics, on the blocking pool, then `log.cleaner.backoff.ms` of rest.
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(broker.config.log.cleaner_backoff);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let b = Arc::clone(&broker);
                        if let Err(e) = tokio::task::spawn_blocking(move || b.apply_compaction()).await {
                            error!(error = %e, "log cleaner task failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    {
        // The flush scheduler: fsyncs logs whose flush.ms (topic) or
        // log.flush.interval.ms (broker) has passed with records unflushed.
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(broker.flush_check_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let b = Arc::clone(&broker);
                        if let Err(e) = tokio::task::spawn_blocking(move || b.replicas.flush_due()).await {
                            error!(error = %e, "flush task failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    {
        // Partition leaders propose ISR changes (replica.lag.time.max.ms).
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(ISR_CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => broker.maintain_isr().await,
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    if broker.config.replication.auto_leader_rebalance {
        // The active controller moves leadership back to preferred
        // replicas (auto.leader.rebalance.enable).
        let broker = Arc::clone(&broker);
        let mut shutdown = shutdown_rx.clone();
        tasks.spawn(async move {
            let period = broker.config.replication.leader_imbalance_check_interval;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = broker.rebalance_leaders().await {
                            warn!(error = %e, "leader rebalance failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        });
    }
    stop.await;
    // Leadership moves away while this node still answers (clients get
    // NOT_LEADER_OR_FOLLOWER and follow the new leaders).
    broker.controlled_shutdown().await;
    info!("shutting down: no new connections, finishing in-flight requests");
    let _ = shutdown_tx.send(true);
    while tasks.join_next().await.is_some() {}
    broker.stop_fetchers();
    let b = Arc::clone(&broker);
    if let Err(e) = tokio::task::spawn_blocking(move || b.replicas.flush_all()).await {
        error!(error = %e, "final flush failed");
    }
    broker.quorum().shutdown().await;
    info!("shutdown complete");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                warn!(error = %e, "cannot install SIGTERM handler; Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
