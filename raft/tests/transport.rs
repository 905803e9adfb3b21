//! Every quorum stream goes through the injected transport: voters whose
//! bytes are scrambled on the wire (and unscrambled by the transport) still
//! elect, replicate, forward writes and count heartbeats, while a plain TCP
//! peer is not understood; and a voter whose transport handshake its peers
//! refuse never joins, while the other two carry on.

mod common;

use common::{config, eventually, leader, voter_addrs, WAIT};

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use memorystreamer_raft::network::{exchange, RpcRequest, RpcResponse};
use memorystreamer_raft::quorum::Quorum;
use memorystreamer_raft::transport::{IoFuture, PlainTcp, QuorumStream, QuorumTransport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use uuid::Uuid;

/// XORs every byte both ways with `0x5a`.
struct Xor(TcpStream);

const KEY: u8 = 0x5a;

impl AsyncRead for Xor {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.0).poll_read(cx, buf);
        if r.is_ready() {
            for b in &mut buf.filled_mut()[before..] {
                *b ^= KEY;
            }
        }
        r
    }
}

impl AsyncWrite for Xor {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let scrambled: Vec<u8> = buf.iter().map(|b| b ^ KEY).collect();
        Pin::new(&mut self.0).poll_write(cx, &scrambled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The scrambling transport, counting the connections it accepted.
#[derive(Debug, Default)]
struct XorTransport {
    accepted: AtomicUsize,
}

impl QuorumTransport for XorTransport {
    fn connect<'a>(&'a self, addr: &'a str) -> IoFuture<'a, QuorumStream> {
        Box::pin(async move { Ok(Box::new(Xor(TcpStream::connect(addr).await?)) as QuorumStream) })
    }

    fn accept(&self, tcp: TcpStream, _peer: SocketAddr) -> IoFuture<'static, QuorumStream> {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(Box::new(Xor(tcp)) as QuorumStream) })
    }
}

/// A handshake that stands in for mutual TLS: each side sends its token and
/// requires the other's to be `expected`. Counts the connections it refused
/// at accept in `refused` (shared: the accept future must be `'static`).
#[derive(Debug)]
struct TokenTransport {
    own: [u8; 4],
    expected: [u8; 4],
    refused: Arc<AtomicUsize>,
}

async fn handshake(mut s: TcpStream, own: [u8; 4], expected: [u8; 4]) -> io::Result<TcpStream> {
    s.write_all(&own).await?;
    let mut got = [0u8; 4];
    s.read_exact(&mut got).await?;
    if got != expected {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "peer not trusted",
        ));
    }
    Ok(s)
}

impl QuorumTransport for TokenTransport {
    fn connect<'a>(&'a self, addr: &'a str) -> IoFuture<'a, QuorumStream> {
        Box::pin(async move {
            let s = handshake(TcpStream::connect(addr).await?, self.own, self.expected).await?;
            Ok(Box::new(s) as QuorumStream)
        })
    }

    fn accept(&self, tcp: TcpStream, _peer: SocketAddr) -> IoFuture<'static, QuorumStream> {
        let (own, expected) = (self.own, self.expected);
        let refused = Arc::clone(&self.refused);
        Box::pin(async move {
            match handshake(tcp, own, expected).await {
                Ok(s) => Ok(Box::new(s) as QuorumStream),
                Err(e) => {
                    refused.fetch_add(1, Ordering::SeqCst);
                    Err(e)
                }
            }
        })
    }
}

async fn start(
    root: &std::path::Path,
    voters: &BTreeMap<u64, String>,
    transport: impl Fn(u64) -> Arc<dyn QuorumTransport>,
) -> BTreeMap<u64, Quorum> {
    let mut nodes = BTreeMap::new();
    for &id in voters.keys() {
        let mut cfg = config(id, root, voters);
        cfg.transport = transport(id);
        nodes.insert(id, Quorum::start(cfg).await.expect("start"));
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_goes_through_the_transport() {
    let root = tempfile::tempdir().expect("tmp");
    let voters = voter_addrs(3);
    let xor = Arc::new(XorTransport::default());
    let t = Arc::clone(&xor);
    let nodes = start(root.path(), &voters, move |_| t.clone()).await;
    let leader = leader(&nodes).await;
    // A follower's write is forwarded to the leader, then replicated.
    let follower = (1..=3).find(|i| *i != leader).expect("follower");
    nodes[&follower]
        .write(common::topic(Uuid::new_v4(), "scrambled"), WAIT)
        .await
        .expect("forwarded write");
    eventually("the topic on every voter", || {
        nodes
            .values()
            .all(|q| q.image().topic("scrambled").is_some())
    })
    .await;
    // A heartbeat through the transport is counted by the leader; the same
    // heartbeat over plain TCP is not understood.
    let addr = voters[&leader].clone();
    let beat = RpcRequest::Heartbeat { node_id: 7 };
    let mut conn = None;
    match exchange(xor.as_ref(), &mut conn, &addr, &beat, WAIT).await {
        Ok(RpcResponse::Heartbeat(counted)) => assert!(counted, "the leader did not count it"),
        other => panic!("heartbeat through the transport: {other:?}"),
    }
    let mut plain = None;
    let answer = exchange(&PlainTcp, &mut plain, &addr, &beat, Duration::from_secs(5)).await;
    assert!(answer.is_err(), "a plain TCP peer was answered: {answer:?}");
    assert!(xor.accepted.load(Ordering::SeqCst) >= 3);
    for q in nodes.values() {
        q.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_its_peers_refuse_never_joins() {
    let root = tempfile::tempdir().expect("tmp");
    let voters = voter_addrs(3);
    let refused = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&refused);
    let nodes = start(root.path(), &voters, move |id| {
        Arc::new(TokenTransport {
            own: if id == 3 { *b"evil" } else { *b"good" },
            expected: *b"good",
            refused: Arc::clone(&r),
        }) as Arc<dyn QuorumTransport>
    })
    .await;
    let good: BTreeMap<u64, &Quorum> = nodes
        .iter()
        .filter(|(id, _)| **id != 3)
        .map(|(i, q)| (*i, q))
        .collect();
    eventually("a leader among nodes 1 and 2", || {
        good.values().any(|q| q.is_leader())
    })
    .await;
    let writer = good.values().next().expect("node");
    writer
        .write(common::topic(Uuid::new_v4(), "trusted"), WAIT)
        .await
        .expect("write by the trusted majority");
    eventually("the topic on nodes 1 and 2", || {
        good.values().all(|q| q.image().topic("trusted").is_some())
    })
    .await;
    // Node 3 dialed (heartbeats, votes) and was refused, several times.
    eventually("refused handshakes", || refused.load(Ordering::SeqCst) >= 3).await;
    assert_eq!(nodes[&3].last_applied(), None, "node 3 applied entries");
    assert!(nodes[&3].image().topic("trusted").is_none());
    assert_ne!(nodes[&1].leader(), Some(3));
    for q in nodes.values() {
        q.shutdown().await;
    }
}
