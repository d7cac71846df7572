//! [`TaskError`]: how a task returns a failure that crosses the process boundary.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::ErrorKind;

/// A task's failure as a value: the error's message and its chain of sources (as text),
/// and for an I/O error its kind and OS error code. It crosses the process boundary (it is
/// serde), so a task returns `Result<T, TaskError>` and uses `?` on any error, as with
/// `anyhow`:
///
/// ```
/// use forkpool::{Pool, TaskError};
///
/// fn size_of(path: String) -> Result<u64, TaskError> {
///     Ok(std::fs::metadata(path)?.len())
/// }
///
/// let pool = Pool::new(2)?;
/// let sizes = pool.map(size_of, ["/etc/hostname".to_string(), "/no/such/file".into()])?;
/// assert!(sizes[0].is_ok());
/// let e = sizes[1].as_ref().unwrap_err();
/// assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound));
/// assert!(e.to_string().contains("No such file"));
/// # Ok::<(), forkpool::Error>(())
/// ```
///
/// `TaskError` converts from every `std::error::Error`, so it does not implement that trait
/// itself; it dereferences to one (`e.source()`, `e.to_string()`), and converts into
/// `Box<dyn Error + Send + Sync>` and `std::io::Error`.
#[derive(Clone, Serialize, Deserialize)]
pub struct TaskError {
    inner: Box<Link>,
    /// The I/O error kind, by name (for an I/O error).
    io_kind: Option<String>,
    /// The OS error code (for an I/O error from the OS).
    os_code: Option<i32>,
}

/// One error of a chain: its message and its source.
#[derive(Clone, Serialize, Deserialize)]
struct Link {
    message: String,
    source: Option<Box<Link>>,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Link {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

/// I/O error kinds that travel by name (others arrive as `Other`).
const KINDS: [ErrorKind; 20] = [
    ErrorKind::NotFound,
    ErrorKind::PermissionDenied,
    ErrorKind::ConnectionRefused,
    ErrorKind::ConnectionReset,
    ErrorKind::ConnectionAborted,
    ErrorKind::NotConnected,
    ErrorKind::AddrInUse,
    ErrorKind::AddrNotAvailable,
    ErrorKind::BrokenPipe,
    ErrorKind::AlreadyExists,
    ErrorKind::WouldBlock,
    ErrorKind::InvalidInput,
    ErrorKind::InvalidData,
    ErrorKind::TimedOut,
    ErrorKind::WriteZero,
    ErrorKind::Interrupted,
    ErrorKind::Unsupported,
    ErrorKind::UnexpectedEof,
    ErrorKind::OutOfMemory,
    ErrorKind::Other,
];

impl TaskError {
    /// An error with this message and no source.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            inner: Box::new(Link {
                message: message.to_string(),
                source: None,
            }),
            io_kind: None,
            os_code: None,
        }
    }

    /// The error's own message (without its sources).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The messages of the error and each of its sources, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(&*self.inner), |l| l.source.as_deref())
            .map(|l| l.message.as_str())
    }

    /// For an I/O error, its kind (a kind this version does not name reads as `Other`).
    pub fn io_kind(&self) -> Option<ErrorKind> {
        let name = self.io_kind.as_deref()?;
        Some(
            KINDS
                .into_iter()
                .find(|k| format!("{k:?}") == name)
                .unwrap_or(ErrorKind::Other),
        )
    }

    /// For an I/O error from the OS, its error code (`errno`).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.os_code
    }
}

impl<E: std::error::Error + 'static> From<E> for TaskError {
    fn from(e: E) -> Self {
        fn link(e: &dyn std::error::Error) -> Box<Link> {
            Box::new(Link {
                message: e.to_string(),
                source: e.source().map(link),
            })
        }
        // The first I/O error of the chain gives the kind and code.
        let io = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .find_map(|e| e.downcast_ref::<std::io::Error>());
        Self {
            io_kind: io.map(|io| format!("{:?}", io.kind())),
            os_code: io.and_then(std::io::Error::raw_os_error),
            inner: link(&e),
        }
    }
}

impl std::ops::Deref for TaskError {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.inner
    }
}

impl fmt::Display for TaskError {
    /// The message; with `{:#}`, the whole chain joined by `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            let chain: Vec<&str> = self.chain().collect();
            f.write_str(&chain.join(": "))
        } else {
            f.write_str(self.message())
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TaskError");
        d.field("message", &self.message());
        let sources: Vec<&str> = self.chain().skip(1).collect();
        if !sources.is_empty() {
            d.field("sources", &sources);
        }
        if let Some(k) = &self.io_kind {
            d.field("io_kind", k);
        }
        if let Some(c) = self.os_code {
            d.field("os_code", &c);
        }
        d.finish()
    }
}

impl From<TaskError> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(e: TaskError) -> Self {
        e.inner
    }
}

impl From<TaskError> for std::io::Error {
    /// An I/O error of the task's kind (or `Other`), its message the whole chain.
    fn from(e: TaskError) -> Self {
        let kind = e.io_kind().unwrap_or(ErrorKind::Other);
        std::io::Error::new(kind, format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::TaskError;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading the config")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_and_io_details_survive_a_round_trip() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = TaskError::from(Outer(io));
        let (bytes, _) = crate::codec::encode(&e).unwrap();
        let back: TaskError = crate::codec::decode(&bytes, Vec::new()).unwrap();
        let chain: Vec<&str> = back.chain().collect();
        assert_eq!(chain[0], "reading the config");
        assert!(chain[1].contains("No such file"), "{chain:?}");
        assert!(back.source().is_some());
        assert_eq!(format!("{back:#}"), chain.join(": "));

        let io = TaskError::from(std::io::Error::from_raw_os_error(libc::EACCES));
        let (bytes, _) = crate::codec::encode(&io).unwrap();
        let back: TaskError = crate::codec::decode(&bytes, Vec::new()).unwrap();
        assert_eq!(back.io_kind(), Some(std::io::ErrorKind::PermissionDenied));
        assert_eq!(back.raw_os_error(), Some(libc::EACCES));
        assert_eq!(
            std::io::Error::from(back).kind(),
            std::io::ErrorKind::PermissionDenied
        );
    }
}
