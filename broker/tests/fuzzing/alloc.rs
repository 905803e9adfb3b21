//! The test binary's global allocator: the system allocator, counting live
//! bytes, their peak, and the largest single request since the last reset,
//! so that the harness can tell when one input made the broker allocate far
//! more than the input justifies. Allocations of a gigabyte or more are
//! reported from inside the allocator (without allocating) before the system
//! allocator is asked, since a refusal aborts the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The system allocator, counting live bytes, their peak, and the largest
/// single request since the last reset.
struct Counting;

/// Bytes currently allocated.
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Highest value `LIVE` reached (reset by the harness).
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Largest single allocation since the harness last reset it.
pub static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// Seed of the run, for reports.
pub static RUN_SEED: AtomicU64 = AtomicU64::new(0);
/// Iteration being run, for reports.
pub static RUN_ITERATION: AtomicU64 = AtomicU64::new(u64::MAX);
static HUGE_REPORTED: AtomicBool = AtomicBool::new(false);

/// Largest single allocation one small input may cause.
pub const MAX_SINGLE_ALLOCATION: usize = 64 << 20;
/// Allocations from here on are reported from inside the allocator, before
/// the system allocator is asked: if it refuses, the process aborts, and the
/// report is all that is left.
const HUGE_ALLOCATION: usize = 1 << 30;
/// Bound on live heap over the whole run.
pub const MAX_LIVE_BYTES: usize = 768 << 20;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A fixed buffer for formatting without allocating.
struct StackLine {
    buf: [u8; 256],
    len: usize,
}

impl std::fmt::Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn note_request(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    if size >= HUGE_ALLOCATION && !HUGE_REPORTED.swap(true, Ordering::Relaxed) {
        let mut line = StackLine {
            buf: [0; 256],
            len: 0,
        };
        let _ = writeln!(
            line,
            "wire_fuzz: allocation of {size} bytes requested; replay with WIRE_FUZZ_SEED={} WIRE_FUZZ_ONLY={}",
            RUN_SEED.load(Ordering::Relaxed),
            RUN_ITERATION.load(Ordering::Relaxed)
        );
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(&line.buf[..line.len]);
    }
}

fn note_live(added: usize) {
    let live = LIVE.fetch_add(added, Ordering::Relaxed) + added;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards the caller's pointer and layout unchanged to
// `System`, which upholds the `GlobalAlloc` contract; the bookkeeping around
// it only touches atomics and a stack buffer, and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_request(layout.size());
        // SAFETY: same layout contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note_live(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_request(layout.size());
        // SAFETY: same layout contract as our caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note_live(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_request(new_size);
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller
        // guarantees `new_size` is valid for its alignment.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                note_live(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}
