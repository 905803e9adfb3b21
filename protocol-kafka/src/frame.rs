//! Kafka framing: a 4-byte big-endian size, then that many bytes.
//!
//! The size is checked against the maximum *before* anything is allocated,
//! and a frame is only split off once it is complete. This module does no I/O.

use bytes::{Buf, BytesMut};

use crate::error::ProtocolError;

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME: usize = 100 * 1024 * 1024;

/// The most a reader's buffer grows by in one step while a frame is
/// incomplete. Growth follows the bytes actually received (at most doubling
/// what is buffered, and never by more than this), so a peer that declares a
/// large frame and sends little of it costs little memory.
pub const MAX_GROWTH_STEP: usize = 1024 * 1024;

/// The smallest growth step (one socket read's worth).
const MIN_GROWTH_STEP: usize = 16 * 1024;

/// Reads the size prefix at the front of `buf`: `Ok(None)` while fewer than
/// 4 bytes are buffered, an error for a negative size or one above `max`.
pub fn frame_size(buf: &[u8], max: usize) -> Result<Option<usize>, ProtocolError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < 0 {
        return Err(ProtocolError::NegativeFrameSize(size));
    }
    let size = size as usize;
    if size > max {
        return Err(ProtocolError::FrameTooLarge { size, max });
    }
    Ok(Some(size))
}

/// Splits one complete frame (without its size prefix) off the front of
/// `buf`. `Ok(None)` means more bytes are needed; `buf` then has spare
/// capacity for the next read, grown in proportion to what has arrived
/// (see [`MAX_GROWTH_STEP`]), never reserved for the declared size up front.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ProtocolError> {
    let Some(size) = frame_size(buf, max)? else {
        return Ok(None);
    };
    if buf.len() < 4 + size {
        let missing = 4 + size - buf.len();
        if buf.capacity() - buf.len() < missing.min(MIN_GROWTH_STEP) {
            let step = buf.len().clamp(MIN_GROWTH_STEP, MAX_GROWTH_STEP);
            buf.reserve(missing.min(step));
        }
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_complete_frames_only() {
        let mut b = BytesMut::new();
        b.extend_from_slice(&5i32.to_be_bytes());
        b.extend_from_slice(b"hel");
        assert!(split_frame(&mut b, 100).expect("ok").is_none());
        b.extend_from_slice(b"lo");
        b.extend_from_slice(&1i32.to_be_bytes());
        let f = split_frame(&mut b, 100).expect("ok").expect("frame");
        assert_eq!(&f[..], b"hello");
        assert!(split_frame(&mut b, 100).expect("ok").is_none());
        b.extend_from_slice(b"x");
        assert_eq!(
            &split_frame(&mut b, 100).expect("ok").expect("frame")[..],
            b"x"
        );
    }

    #[test]
    fn grows_with_received_bytes_not_declared_size() {
        let mut b = BytesMut::new();
        b.extend_from_slice(&(100 * 1024 * 1024i32).to_be_bytes());
        b.extend_from_slice(&[0u8; 10]);
        assert!(split_frame(&mut b, DEFAULT_MAX_FRAME)
            .expect("ok")
            .is_none());
        assert!(b.capacity() <= 2 * MIN_GROWTH_STEP, "{}", b.capacity());
        assert!(b.capacity() > b.len());
        // A filled buffer grows by at most MAX_GROWTH_STEP per call.
        b.resize(8 * 1024 * 1024, 0);
        let before = b.capacity();
        assert!(split_frame(&mut b, DEFAULT_MAX_FRAME)
            .expect("ok")
            .is_none());
        assert!(b.capacity() > b.len());
        assert!(b.capacity() <= 2 * before.max(b.len()) + MAX_GROWTH_STEP);
    }

    #[test]
    fn rejects_negative_and_oversized() {
        let mut b = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert!(matches!(
            split_frame(&mut b, 100),
            Err(ProtocolError::NegativeFrameSize(-1))
        ));
        let mut b = BytesMut::from(&1000i32.to_be_bytes()[..]);
        assert!(matches!(
            split_frame(&mut b, 100),
            Err(ProtocolError::FrameTooLarge {
                size: 1000,
                max: 100
            })
        ));
    }
}
