//! Record-batch compression codecs, with a cap on decompressed size.
//!
//! Kafka's codec ids (the low three attribute bits): 0 none, 1 gzip,
//! 2 snappy (xerial-framed as the Java client writes it; raw snappy is also
//! read), 3 lz4 (LZ4 frame), 4 zstd. Produce validation streams every
//! compressed batch through [`CappedReader`] once (as Kafka's log validator
//! does) without keeping the decompressed records; compaction and
//! `compression.type` recompression decompress whole sections. Fetch never
//! decompresses.
//!
//! Every decompression is bounded by a caller-given cap so that a small
//! hostile batch cannot make the broker allocate gigabytes (a "zip bomb"):
//! output beyond the cap is an error, not an allocation.

use std::io::{Read, Write};

use crate::error::{LogError, Result};

/// Codec id for uncompressed batches.
pub const NONE: i16 = 0;
/// Codec id for gzip.
pub const GZIP: i16 = 1;
/// Codec id for snappy.
pub const SNAPPY: i16 = 2;
/// Codec id for lz4.
pub const LZ4: i16 = 3;
/// Codec id for zstd.
pub const ZSTD: i16 = 4;

/// The xerial snappy-java stream header the Java client writes.
const XERIAL_MAGIC: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// Block size snappy-java uses when writing.
const XERIAL_BLOCK: usize = 32 * 1024;

fn codec_error(codec: i16, what: impl std::fmt::Display) -> LogError {
    LogError::Codec(format!("{} {what}", name(codec)))
}

/// Kafka's name for a codec id.
pub fn name(codec: i16) -> &'static str {
    match codec {
        NONE => "none",
        GZIP => "gzip",
        SNAPPY => "snappy",
        LZ4 => "lz4",
        ZSTD => "zstd",
        _ => "unknown",
    }
}

/// Codec id for a Kafka `compression.type` value other than `producer`.
pub fn from_name(name: &str) -> Option<i16> {
    match name {
        "none" | "uncompressed" => Some(NONE),
        "gzip" => Some(GZIP),
        "snappy" => Some(SNAPPY),
        "lz4" => Some(LZ4),
        "zstd" => Some(ZSTD),
        _ => None,
    }
}

/// Reads `reader` to the end, failing once more than `cap` bytes come out.
fn read_capped(codec: i16, reader: impl Read, cap: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| codec_error(codec, format_args!("decompression failed: {e}")))?;
    if out.len() > cap {
        return Err(codec_error(
            codec,
            format_args!("data decompresses to more than {cap} bytes"),
        ));
    }
    Ok(out)
}

fn snappy_block(codec: i16, block: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<()> {
    let len = snap::raw::decompress_len(block)
        .map_err(|e| codec_error(codec, format_args!("bad block: {e}")))?;
    if out.len().saturating_add(len) > cap {
        return Err(codec_error(
            codec,
            format_args!("data decompresses to more than {cap} bytes"),
        ));
    }
    let start = out.len();
    out.resize(start + len, 0);
    snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| codec_error(codec, format_args!("bad block: {e}")))?;
    Ok(())
}

fn snappy_decompress(data: &[u8], cap: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let Some(mut rest) = data.strip_prefix(&XERIAL_MAGIC[..]) else {
        snappy_block(SNAPPY, data, &mut out, cap)?;
        return Ok(out);
    };
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(codec_error(SNAPPY, "truncated block length"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let block = rest
            .get(4..4 + len)
            .ok_or_else(|| codec_error(SNAPPY, "truncated block"))?;
        snappy_block(SNAPPY, block, &mut out, cap)?;
        rest = &rest[4 + len..];
    }
    Ok(out)
}

/// Decompresses the records section of a batch compressed with `codec`,
/// failing if the output would exceed `cap` bytes.
pub fn decompress(codec: i16, data: &[u8], cap: usize) -> Result<Vec<u8>> {
    match codec {
        NONE => {
            if data.len() > cap {
                return Err(codec_error(codec, format_args!("more than {cap} bytes")));
            }
            Ok(data.to_vec())
        }
        GZIP => read_capped(codec, flate2::read::GzDecoder::new(data), cap),
        SNAPPY => snappy_decompress(data, cap),
        LZ4 => {
            let decoder = lz4::Decoder::new(data)
                .map_err(|e| codec_error(codec, format_args!("bad frame: {e}")))?;
            read_capped(codec, decoder, cap)
        }
        ZSTD => {
            let decoder = zstd::stream::read::Decoder::new(data)
                .map_err(|e| codec_error(codec, format_args!("bad frame: {e}")))?;
            read_capped(codec, decoder, cap)
        }
        other => Err(LogError::Codec(format!(
            "unknown compression codec {other}"
        ))),
    }
}

/// A streaming decompressor over a compressed records section: yields at
/// most `cap` bytes in total (more is an error, never an allocation), and
/// holds at most one snappy block in memory. Produce validation and
/// ListOffsets walk records through it without materialising the section.
pub struct CappedReader<'a> {
    codec: i16,
    inner: Inner<'a>,
    remaining: usize,
    cap: usize,
}

enum Inner<'a> {
    Stream(Box<dyn Read + 'a>),
    /// Snappy: the xerial blocks still to decode (or one raw block), and the
    /// current decoded block with a read position.
    Snappy {
        rest: &'a [u8],
        xerial: bool,
        block: Vec<u8>,
        pos: usize,
    },
}

impl<'a> CappedReader<'a> {
    /// A reader of the decompressed form of `data` compressed with `codec`
    /// (which must not be [`NONE`]: uncompressed sections are read in place).
    pub fn new(codec: i16, data: &'a [u8], cap: usize) -> Result<Self> {
        let inner = match codec {
            GZIP => Inner::Stream(Box::new(flate2::read::GzDecoder::new(data))),
            SNAPPY => {
                let (rest, xerial) = match data.strip_prefix(&XERIAL_MAGIC[..]) {
                    Some(rest) => (rest, true),
                    None => (data, false),
                };
                Inner::Snappy {
                    rest,
                    xerial,
                    block: Vec::new(),
                    pos: 0,
                }
            }
            LZ4 => Inner::Stream(Box::new(
                lz4::Decoder::new(data)
                    .map_err(|e| codec_error(codec, format_args!("bad frame: {e}")))?,
            )),
            ZSTD => Inner::Stream(Box::new(
                zstd::stream::read::Decoder::with_buffer(data)
                    .map_err(|e| codec_error(codec, format_args!("bad frame: {e}")))?,
            )),
            other => {
                return Err(LogError::Codec(format!(
                    "unknown compression codec {other}"
                )))
            }
        };
        Ok(CappedReader {
            codec,
            inner,
            remaining: cap,
            cap,
        })
    }

    /// Fills `buf` completely; `Ok(false)` when the stream ended before any
    /// byte was read, an error when it ended part-way.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<bool> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_some(&mut buf[done..])?;
            if n == 0 {
                if done == 0 {
                    return Ok(false);
                }
                return Err(codec_error(self.codec, "data ends inside a record"));
            }
            done += n;
        }
        Ok(true)
    }

    /// True when no decompressed byte is left.
    pub fn at_end(&mut self) -> Result<bool> {
        let mut one = [0u8; 1];
        Ok(self.read_some(&mut one)? == 0)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        let codec = self.codec;
        let n = match &mut self.inner {
            Inner::Stream(r) => {
                // One byte past the budget is enough to know it was exceeded.
                let want = buf.len().min(self.remaining.saturating_add(1));
                loop {
                    match r.read(&mut buf[..want]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return Err(codec_error(
                                codec,
                                format_args!("decompression failed: {e}"),
                            ))
                        }
                    }
                }
            }
            Inner::Snappy {
                rest,
                xerial,
                block,
                pos,
            } => {
                while *pos == block.len() {
                    if rest.is_empty() {
                        return Ok(0);
                    }
                    let chunk = if *xerial {
                        if rest.len() < 4 {
                            return Err(codec_error(SNAPPY, "truncated block length"));
                        }
                        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                        let chunk = rest
                            .get(4..4usize.saturating_add(len))
                            .ok_or_else(|| codec_error(SNAPPY, "truncated block"))?;
                        *rest = &rest[4 + len..];
                        chunk
                    } else {
                        std::mem::take(rest)
                    };
                    block.clear();
                    *pos = 0;
                    // The block's declared size is checked against what is
                    // left of the budget before anything is allocated.
                    snappy_block(SNAPPY, chunk, block, self.remaining)?;
                }
                let n = buf.len().min(block.len() - *pos);
                buf[..n].copy_from_slice(&block[*pos..*pos + n]);
                *pos += n;
                n
            }
        };
        if n > self.remaining {
            return Err(codec_error(
                codec,
                format_args!("data decompresses to more than {} bytes", self.cap),
            ));
        }
        self.remaining -= n;
        Ok(n)
    }
}

/// Compresses `data` with `codec` in the framing Kafka clients read.
pub fn compress(codec: i16, data: &[u8]) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| codec_error(codec, format_args!("compression failed: {e}"));
    match codec {
        NONE => Ok(data.to_vec()),
        GZIP => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).map_err(io)?;
            enc.finish().map_err(io)
        }
        SNAPPY => {
            let mut out = XERIAL_MAGIC.to_vec();
            let mut enc = snap::raw::Encoder::new();
            for block in data.chunks(XERIAL_BLOCK) {
                let compressed = enc
                    .compress_vec(block)
                    .map_err(|e| codec_error(codec, format_args!("compression failed: {e}")))?;
                out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            Ok(out)
        }
        LZ4 => {
            let mut enc = lz4::EncoderBuilder::new()
                .level(4)
                .block_mode(lz4::BlockMode::Independent)
                .build(Vec::new())
                .map_err(io)?;
            enc.write_all(data).map_err(io)?;
            let (out, result) = enc.finish();
            result.map_err(io)?;
            Ok(out)
        }
        ZSTD => zstd::stream::encode_all(data, 3).map_err(io),
        other => Err(LogError::Codec(format!(
            "unknown compression codec {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in [NONE, GZIP, SNAPPY, LZ4, ZSTD] {
            let c = compress(codec, &data).expect("compress");
            let d = decompress(codec, &c, data.len()).expect("decompress");
            assert_eq!(d, data, "{}", name(codec));
        }
    }

    #[test]
    fn output_beyond_the_cap_is_an_error() {
        let data = vec![0u8; 1 << 20];
        for codec in [NONE, GZIP, SNAPPY, LZ4, ZSTD] {
            let c = compress(codec, &data).expect("compress");
            let e = decompress(codec, &c, (1 << 20) - 1).expect_err(name(codec));
            assert!(matches!(e, LogError::Codec(_)), "{}: {e}", name(codec));
        }
    }

    #[test]
    fn raw_snappy_is_read_and_garbage_is_an_error() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello")
            .expect("raw");
        assert_eq!(decompress(SNAPPY, &raw, 100).expect("raw"), b"hello");
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            assert!(decompress(codec, b"not compressed at all", 1000).is_err());
        }
        assert!(decompress(7, b"", 10).is_err());
    }
}
