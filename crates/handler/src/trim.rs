//! Memory after a huge batch. The allocator (mimalloc, `src/main.rs`) returns freed memory to
//! the system in a delayed purge that only runs when the allocator is next used: after one huge
//! batch on an otherwise idle server, that purge never came and the process kept its peak —
//! hundreds of MB — until the next batch.
//!
//! Two things bound what is kept. The batch's large blocks (the joined body, the events' texts)
//! are allocated and freed on the same pool thread (`routes::run_batch`): freed by another thread,
//! mimalloc only marks a huge block lazily free (`MADV_FREE`, still counted in RSS). And after a
//! batch of [`HUGE_BATCH_BYTES`] or more, a task waits out the purge delay and then takes and
//! frees one huge block, which runs the expired purges (`_mi_arena_free` does): the memory
//! goes back at once, with no cost on ordinary batches.

use std::time::Duration;

/// A batch whose body is at least this large is followed by a purge (a host batch of 100
/// events of 200 KB, escaped twice, is about 40 MiB; ordinary batches are far smaller).
pub const HUGE_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Longer than mimalloc's arena purge delay (10 ms × the arena multiplier 10).
const AFTER_PURGE_DELAY: Duration = Duration::from_millis(250);

/// Above mimalloc's largest page-backed size (16 MiB): a block this large is a segment of its
/// own, taken from and given back to the arena. It is never written, so it is never resident.
const PURGE_TRIGGER_BYTES: usize = 64 * 1024 * 1024;

/// After a batch of `body_len` bytes: schedules the purge when the batch was huge.
pub(crate) fn after_batch(body_len: usize) {
    if body_len < HUGE_BATCH_BYTES {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(AFTER_PURGE_DELAY).await;
        purge_now();
    });
}

/// Takes and frees one huge block, so the allocator runs the purges that are due.
fn purge_now() {
    let block: Vec<u8> = Vec::with_capacity(PURGE_TRIGGER_BYTES);
    drop(std::hint::black_box(block));
}
