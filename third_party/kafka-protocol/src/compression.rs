//! Provides compression utilities for encoding records.
//!
//! This module has implementations of gzip, Snappy, as well as a noop compression format that
//! allows encoding and decoding records into a [`Record`](crate::records::Record).

use crate::protocol::buf::{ByteBuf, ByteBufMut};
use anyhow::Result;

#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "lz4")]
mod lz4;
mod none;
#[cfg(feature = "snappy")]
mod snappy;
#[cfg(feature = "zstd")]
mod zstd;

#[cfg(feature = "gzip")]
pub use gzip::Gzip;
#[cfg(feature = "lz4")]
pub use lz4::Lz4;
pub use none::None;
#[cfg(feature = "snappy")]
pub use snappy::Snappy;
#[cfg(feature = "zstd")]
pub use zstd::Zstd;

/// A trait for record compression algorithms.
pub trait Compressor<B: ByteBufMut> {
    /// Target buffer type for compression.
    type BufMut: ByteBufMut;
    /// Compresses into provided [`ByteBufMut`], with records encoded by `F` into `R`.
    fn compress<R, F>(buf: &mut B, f: F) -> Result<R>
    where
        F: FnOnce(&mut Self::BufMut) -> Result<R>;
}

/// MemoryStreamer patch: the most bytes one record batch may decompress to.
/// Output beyond it is an error, never an allocation (a small hostile batch
/// could otherwise expand into gigabytes).
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// MemoryStreamer patch: reads `reader` to the end into `out`, failing once
/// more than [`MAX_DECOMPRESSED_BYTES`] come out.
pub(crate) fn read_capped<R: std::io::Read>(reader: R, out: &mut impl std::io::Write, what: &str) -> Result<()> {
    use anyhow::Context;
    let n = std::io::copy(&mut reader.take(MAX_DECOMPRESSED_BYTES as u64 + 1), out)
        .with_context(|| format!("Failed to decompress {what}"))?;
    if n > MAX_DECOMPRESSED_BYTES as u64 {
        anyhow::bail!("{what} data decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes");
    }
    Ok(())
}

/// A trait for record decompression algorithms.
pub trait Decompressor<B: ByteBuf> {
    /// Target buffer type for decompression.
    type Buf: ByteBuf;
    /// Decompress records from `B` mapped using `F` into `R`.
    fn decompress<R, F>(buf: &mut B, f: F) -> Result<R>
    where
        F: FnOnce(&mut Self::Buf) -> Result<R>;
}
