//! Whether a standard stream was closed when the process started (`<&-`, `>&-`).
//!
//! Rust's runtime reopens a closed stdin, stdout or stderr on `/dev/null`, read-write, before
//! `main` runs: a closed stdin then reads as empty and a closed stdout swallows everything, and
//! both would end in a silent exit 0. A shell's `< /dev/null` or `> /dev/null` opens it read-only
//! or write-only, so a read-write `/dev/null` on a standard stream is the mark of one that was
//! closed. (A stream opened read-write on `/dev/null` on purpose, `<> /dev/null`, reads as closed
//! too.)

use std::os::fd::AsFd;

/// True when `stream` was closed at start (see the module doc); false for anything the user
/// connected, `/dev/null` included.
pub(crate) fn closed_at_start(stream: impl AsFd) -> bool {
    use rustix::fs::{fcntl_getfl, fstat, stat, OFlags};
    let fd = stream.as_fd();
    let Ok(flags) = fcntl_getfl(fd) else {
        return true;
    };
    if flags & OFlags::RWMODE != OFlags::RDWR {
        return false;
    }
    match (fstat(fd), stat("/dev/null")) {
        (Ok(this), Ok(null)) => this.st_dev == null.st_dev && this.st_ino == null.st_ino,
        _ => false,
    }
}
