//! The only `unsafe` in the log: memory-mapping index files.
//!
//! An index file is mapped read-write for its whole preallocated length. The
//! map is owned by one [`IndexMap`], which is only mutated through `&mut self`
//! (the segment that owns it is behind the partition's writer lock), so no two
//! writers touch it at once.

use std::fs::File;
use std::io;

use memmap2::MmapMut;

/// A writable memory map of an index file.
pub struct IndexMap {
    map: Option<MmapMut>,
}

impl IndexMap {
    /// Maps `file` read-write. A zero-length file gets no map.
    pub fn map(file: &File) -> io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(IndexMap { map: None });
        }
        // SAFETY: the file is opened by this process for this segment only and
        // is never truncated while mapped: `unmap` drops the map before any
        // `set_len`. Other processes modifying the data directory concurrently
        // is unsupported (as with Kafka).
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
