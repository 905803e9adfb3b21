//! The only `unsafe` in the log: memory-mapping index files.
//!
//! An index file is mapped read-write for its whole length. The map is owned
//! by one [`IndexMap`], which is only mutated through `&mut self` (the segment
//! that owns it is behind the partition's writer lock), so no two writers
//! touch it at once.
//!
//! Only blocks that really exist on disk are ever mapped: a file grows through
//! [`allocate`], which writes its new bytes (so a full disk is an `ENOSPC`
//! error from `write(2)`), never through a sparse `set_len`. Touching a hole of
//! a shared mapping makes the kernel allocate a block at the moment of the
//! access (on tmpfs even for a read), and on a full file system that is a
//! `SIGBUS` that kills the process; this module does not map holes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use memmap2::MmapMut;

/// A writable memory map of an index file.
pub struct IndexMap {
    map: Option<MmapMut>,
}

impl IndexMap {
    /// Maps `file` read-write. A zero-length file gets no map. Every byte
    /// of the file must be allocated on disk (written, or grown with
    /// [`allocate`]): see the module docs.
    pub fn map(file: &File) -> io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(IndexMap { map: None });
        }
        // SAFETY: the file is opened by this process for this segment only and
        // is never truncated while mapped: `unmap` drops the map before any
        // `set_len`. Its bytes are allocated (written by `allocate` or by
        // earlier entries), so no access through the map needs a new block
        // and none can fault with SIGBUS on a full disk. Other processes
        // modifying the data directory concurrently is unsupported (as with
        // Kafka).
        let map = unsafe { MmapMut::map_mut(file)? };
        Ok(IndexMap { map: Some(map) })
    }

    /// The mapped bytes (empty when unmapped).
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// The mapped bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.map.as_deref_mut().unwrap_or(&mut [])
    }

    /// Flushes dirty pages to disk.
    pub fn flush(&self) -> io::Result<()> {
        match &self.map {
            Some(m) => m.flush(),
            None => Ok(()),
        }
    }

    /// Drops the map (required before resizing the file).
    pub fn unmap(&mut self) {
        self.map = None;
    }
}

/// Grows `file` from `from` to `to` bytes by writing zeros, so the new blocks
/// exist before anything maps them. On error (typically `ENOSPC`) the file is
/// cut back to `from` bytes and the error returned. The file must not be
/// mapped while this runs.
pub fn allocate(file: &File, from: u64, to: u64) -> io::Result<()> {
    const CHUNK: u64 = 64 * 1024;
    let zeros = vec![0u8; CHUNK.min(to.saturating_sub(from)) as usize];
    let mut at = from;
    while at < to {
        let n = (to - at).min(CHUNK) as usize;
        if let Err(e) = file.write_all_at(&zeros[..n], at) {
            // Shrinking never needs space; a failure here leaves zeros past
            // the entries, which the entry count ignores.
            let _ = file.set_len(from);
            return Err(e);
        }
        at += n as u64;
    }
    Ok(())
}
