//! Kafka framing: a 4-byte big-endian size, then that many bytes.
//!
//! The size is checked against the maximum *before* anything is allocated,
//! and a frame is only split off once it is complete. This module does no I/O.

use bytes::{Buf, BytesMut};

use crate::error::ProtocolError;

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME: usize = 100 * 1024 * 1024;

/// Splits one complete frame (without its size prefix) off the front of
/// `buf`. `Ok(None)` means more bytes are needed; `buf` is then reserved for
/// the whole frame so that the reader can fill it in few reads.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ProtocolError> {
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
    if buf.len() < 4 + size {
        buf.reserve(4 + size - buf.len());
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
