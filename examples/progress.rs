//! A progress bar over a real workload: hashing every file under a directory in worker
//! processes with `imap_unordered`, with `indicatif`'s `.progress()` (the iterator knows
//! how many results are still to come), and the pool's live numbers at the end.
//!
//! `cargo run --release --example progress -- [DIR]` (default: the current directory)

use forkpool::{Pool, TaskError};
use indicatif::{ProgressIterator, ProgressStyle};
use std::path::Path;

/// FNV-1a over the file's bytes, and its size. A file that cannot be read fails alone.
fn hash_file(path: String) -> Result<(String, u64, u64), TaskError> {
    let bytes = std::fs::read(&path)?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    Ok((path, bytes.len() as u64, h))
}

/// Every regular file under `dir` (symbolic links are not followed).
fn files_under(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            files_under(&e.path(), out);
        } else if kind.is_file() {
            out.push(e.path().display().to_string());
        }
    }
}

fn main() -> Result<(), forkpool::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let mut files = Vec::new();
    files_under(Path::new(&dir), &mut files);
    let pool = Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get()))?;

    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
        .expect("a valid template");
    let (mut bytes, mut failed, mut digest) = (0u64, 0usize, 0u64);
    for result in pool
        .imap_unordered_chunked(hash_file, files, 16)?
        .progress_with_style(style)
    {
        match result? {
            Ok((_, len, h)) => {
                bytes += len;
                digest ^= h;
            }
            Err(_) => failed += 1,
        }
    }
    let s = pool.stats();
    println!(
        "{} files ({bytes} bytes) hashed, {failed} unreadable; xor of digests {digest:016x}",
        s.completed
    );
    println!("pool: {s:?}");
    Ok(())
}
