//! Python's `multiprocessing` beyond pools: locks, events, semaphores, conditions,
//! barriers, shared values and arrays, shared memory and queues, all shared between
//! processes (pool workers, `Process` children, the owner) through shared memory
//! (`sys/shm.rs`) and passed inside arguments like a `Connection`.

mod barrier;
mod bytes;
mod condition;
mod event;
mod joinable;
mod lock;
mod memory;
mod object;
mod queue;
mod rlock;
mod semaphore;
mod value;

pub use barrier::Barrier;
pub use bytes::SharedBytes;
pub use condition::Condition;
pub use event::Event;
pub use joinable::JoinableQueue;
pub use lock::{Lock, LockGuard};
pub use memory::SharedMemory;
pub use queue::{Queue, SimpleQueue};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore};
pub use value::{Array, Value};
