//! The request body: the items of the records still pending joined into one JSON array, gzipped
//! when large — built once per set of pending records and reused by every attempt and redirect.

use reqwest::Body;

/// Bodies larger than this many bytes are gzipped.
pub(crate) const DEFAULT_GZIP_THRESHOLD: usize = 1024;

/// A request body ready to send (cheap to clone: shared bytes).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The records it carries, as indexes into the items.
    pub(crate) indexes: Vec<usize>,
    bytes: bytes::Bytes,
    pub(crate) gzipped: bool,
}

impl Prepared {
    /// `[item,item,…]` for the records at `indexes`, gzipped above `gzip_threshold` bytes.
    pub(crate) fn new(items: &[Vec<u8>], indexes: &[usize], gzip_threshold: usize) -> Prepared {
        let (bytes, gzipped) = maybe_gzip(batch_body(items, indexes), gzip_threshold);
        Prepared {
            indexes: indexes.to_vec(),
            bytes: bytes.into(),
            gzipped,
        }
    }

    pub(crate) fn body(&self) -> Body {
        Body::from(self.bytes.clone())
    }
}

/// `[item,item,…]` for the records at `indexes`.
fn batch_body(items: &[Vec<u8>], indexes: &[usize]) -> Vec<u8> {
    let size = indexes
        .iter()
        .filter_map(|&i| items.get(i))
        .map(Vec::len)
        .sum::<usize>();
    let mut body = Vec::with_capacity(size + indexes.len() + 2);
    body.push(b'[');
    for (n, item) in indexes.iter().filter_map(|&i| items.get(i)).enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    body
}

/// Gzips `body` when it is larger than `threshold` bytes (and compression succeeds).
pub(crate) fn maybe_gzip(body: Vec<u8>, threshold: usize) -> (Vec<u8>, bool) {
    use std::io::Write;
    if body.len() <= threshold {
        return (body, false);
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    match encoder.write_all(&body).and_then(|()| encoder.finish()) {
        Ok(compressed) => (compressed, true),
        Err(_) => (body, false),
    }
}
