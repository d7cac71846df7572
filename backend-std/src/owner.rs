//! What a pool worker takes over from its owner when it starts.
//!
//! Workers are forked from the fork server, which was forked before `main`: left alone
//! they would run as the process was then. A program that drops root in `main`
//! (`setgroups`, `setgid`, `setuid`), changes directory or sets a umask must see its tasks
//! run the same way, so each worker's `INIT` carries the owner's credentials, working
//! directory (as a descriptor), umask and (when it changed since the fork server started)
//! environment as they are when the pool starts that worker, and
//! the worker adopts them before it runs anything. A worker that cannot adopt them (the
//! server lacks the privilege to switch) does not start: it never runs a task with other
//! rights than its owner's.
//!
//! Not carried (each is a property of the fork server's process that the owner changed
//! after it started, and adopting it would need the owner's cooperation or privileges the
//! worker should not have): resource limits, seccomp and Landlock
//! filters, namespaces, capabilities beyond what the credential switch leaves.
//!
//! Also here: the worker's `SIGINT` policy, and the key that tags task functions' addresses
//! so a worker only calls addresses its own pool sent (see [`call_tag`]).

use crate::error::{Error, Result};
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Pid, Uid};
use std::os::fd::OwnedFd;

/// The owner's side: what each worker of one spawn round adopts.
pub(crate) struct Owner {
    /// Real, effective and saved user ids.
    uid: [u32; 3],
    /// Real, effective and saved group ids.
    gid: [u32; 3],
    groups: Vec<u32>,
    umask: u32,
    /// Whether the terminal's `SIGINT` kills the worker (else it is ignored).
    interrupt: bool,
    dumpable: bool,
    backtrace: bool,
    /// The environment, when it differs from the one the fork server started with.
    env: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// The owner's pid (a worker's parent in Python's terms).
    pid: u32,
    /// The working directory, opened as a path descriptor.
    pub cwd: Option<OwnedFd>,
    /// Whether the pool reads large result batches from the worker's memory.
    pub far: bool,
}

/// Whether `INIT` carried the working directory as its first descriptor.
const HAS_CWD: u8 = 1;
/// Whether the worker keeps `SIGINT`'s default action.
const INTERRUPT: u8 = 2;
/// Whether the owner is dumpable (`PR_GET_DUMPABLE`): a credential switch clears the flag,
/// which the worker then sets back to its owner's.
const DUMPABLE: u8 = 4;
/// Whether the owner has `RUST_BACKTRACE` set: a panicking task's backtrace comes back.
const BACKTRACE: u8 = 8;
/// Whether the pool reads a large batch of results straight from the worker's memory
/// (`pool/far.rs`), where the worker offers it instead of writing it to the socket.
const FAR: u8 = 16;

impl Owner {
    /// The calling process's credentials, working directory and umask, now; and its
    /// environment if it differs from `server_env`, the digest of the one the fork server
    /// started with.
    pub(crate) fn now(interrupt: bool, server_env: Option<u64>) -> Result<Self> {
        let u = nix::unistd::getresuid().map_err(|e| Error::io("getresuid", e))?;
        let g = nix::unistd::getresgid().map_err(|e| Error::io("getresgid", e))?;
        let groups = crate::sys::groups().map_err(|source| Error::Io {
            op: "getgroups",
            source,
        })?;
        use nix::fcntl::OFlag;
        let cwd = nix::fcntl::open(
            ".",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok();
        Ok(Self {
            uid: [u.real, u.effective, u.saved].map(Uid::as_raw),
            gid: [g.real, g.effective, g.saved].map(Gid::as_raw),
            groups,
            umask: current_umask(),
            interrupt,
            dumpable: nix::sys::prctl::get_dumpable().unwrap_or(true),
            backtrace: crate::panics::backtrace_wanted(),
            env: environment_if_changed(server_env),
            pid: crate::sys::current_pid(),
            cwd,
            far: false,
        })
    }

    /// An identity that is not adopted: what `INIT` carries to a worker thread, which
    /// shares its owner's process and so everything this would carry.
    pub(crate) fn shared() -> Self {
        Self {
            uid: [0; 3],
            gid: [0; 3],
            groups: Vec::new(),
            umask: 0,
            interrupt: false,
            dumpable: true,
            backtrace: false,
            env: None,
            pid: crate::sys::current_pid(),
            cwd: None,
            far: false,
        }
    }

    /// Appends this to an `INIT` payload.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for id in self.uid.iter().chain(&self.gid) {
            out.extend_from_slice(&id.to_le_bytes());
        }
        out.extend_from_slice(&self.umask.to_le_bytes());
        let flags = if self.cwd.is_some() { HAS_CWD } else { 0 }
            | if self.interrupt { INTERRUPT } else { 0 }
            | if self.dumpable { DUMPABLE } else { 0 }
            | if self.backtrace { BACKTRACE } else { 0 }
            | if self.far { FAR } else { 0 };
        out.push(flags);
        out.extend_from_slice(&(self.groups.len() as u32).to_le_bytes());
        for g in &self.groups {
            out.extend_from_slice(&g.to_le_bytes());
        }
        match &self.env {
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            Some(vars) => {
                out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
                for (k, v) in vars {
                    for part in [k, v] {
                        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                        out.extend_from_slice(part);
                    }
                }
            }
        }
        out.extend_from_slice(&self.pid.to_le_bytes());
    }
}

/// This process's environment, when it is not the one the fork server started with (a
/// program that sets variables in `main`): the workers then take it over.
fn environment_if_changed(server_env: Option<u64>) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    use std::os::unix::ffi::OsStringExt;
    if server_env == Some(crate::zygote::env_digest()) {
        return None;
    }
    Some(
        std::env::vars_os()
            .map(|(k, v)| (k.into_vec(), v.into_vec()))
            .collect(),
    )
}

/// The umask, read without changing it (`umask(2)` can only set it, which would race with
/// other threads creating files): from `/proc/self/status`, where it is the second line,
/// so one short read finds it; else the common default.
fn current_umask() -> u32 {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open("/proc/self/status")
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        })
        .unwrap_or(0o022)
}

/// The worker's side: what `INIT` said to adopt.
pub(crate) struct Adopt {
    uid: [u32; 3],
    gid: [u32; 3],
    groups: Vec<u32>,
    umask: u32,
    flags: u8,
    env: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    owner: u32,
}

impl Adopt {
    /// Reads what [`Owner::encode`] wrote from the front of `b`.
    pub(crate) fn decode(b: &mut &[u8]) -> Option<Self> {
        fn u32_at(b: &mut &[u8]) -> Option<u32> {
            let (head, rest) = b.split_first_chunk::<4>()?;
            *b = rest;
            Some(u32::from_le_bytes(*head))
        }
        let mut ids = [0u32; 6];
        for id in &mut ids {
            *id = u32_at(b)?;
        }
        let umask = u32_at(b)?;
        let (&flags, rest) = b.split_first()?;
        *b = rest;
        let n = u32_at(b)? as usize;
        if n > b.len() / 4 {
            return None;
        }
        let groups = (0..n).map(|_| u32_at(b)).collect::<Option<Vec<_>>>()?;
        let vars = u32_at(b)?;
        let env = if vars == u32::MAX {
            None
        } else {
            let part = |b: &mut &[u8]| -> Option<Vec<u8>> {
                let len = u32_at(b)? as usize;
                let (head, rest) = (b.get(..len)?, b.get(len..)?);
                *b = rest;
                Some(head.to_vec())
            };
            let mut list = Vec::new();
            for _ in 0..vars {
                list.push((part(b)?, part(b)?));
            }
            Some(list)
        };
        let owner = u32_at(b)?;
        Some(Self {
            uid: [ids[0], ids[1], ids[2]],
            gid: [ids[3], ids[4], ids[5]],
            groups,
            umask,
            flags,
            env,
            owner,
        })
    }

    /// The owner's pid.
    pub(crate) fn owner(&self) -> u32 {
        self.owner
    }

    /// Whether panics should capture a backtrace (the owner has `RUST_BACKTRACE` set).
    pub(crate) fn backtrace(&self) -> bool {
        self.flags & BACKTRACE != 0
    }

    /// Whether the pool reads large result batches from this worker's memory.
    pub(crate) fn far(&self) -> bool {
        self.flags & FAR != 0
    }

    /// Whether the working directory came as the first of `INIT`'s descriptors.
    pub(crate) fn has_cwd(&self) -> bool {
        self.flags & HAS_CWD != 0
    }


    /// Makes this process its owner's: `SIGINT` policy, working directory, umask, groups,
    /// group ids, user ids (in that order: the user ids last, as switching them drops the
    /// right to switch the rest). `server` is the fork server, whose death must still kill
    /// this worker after a credential switch (which clears the parent-death signal).
    pub(crate) fn apply(
        &self,
        cwd: Option<OwnedFd>,
        server: Pid,
    ) -> std::result::Result<(), String> {
        // The fork server ignores `SIGINT`, and so does a worker it forked, unless told.
        if self.flags & INTERRUPT != 0 {
            crate::sys::set_ignored(Signal::SIGINT, false);
        }
        if let Some(env) = &self.env {
            crate::sys::replace_environment(env);
        }
        if let Some(dir) = cwd {
            nix::unistd::fchdir(&dir)
                .map_err(|e| format!("could not enter the owner's working directory: {e}"))?;
        }
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(self.umask as _));
        let mut switched = false;
        let now = crate::sys::groups().map_err(|e| e.to_string())?;
        if now != self.groups {
            let groups: Vec<Gid> = self.groups.iter().map(|&g| Gid::from_raw(g)).collect();
            nix::unistd::setgroups(&groups)
                .map_err(|e| format!("could not take the owner's supplementary groups: {e}"))?;
            switched = true;
        }
        let g = nix::unistd::getresgid().map_err(|e| e.to_string())?;
        if [g.real, g.effective, g.saved].map(Gid::as_raw) != self.gid {
            let [r, e, s] = self.gid.map(Gid::from_raw);
            nix::unistd::setresgid(r, e, s).map_err(|err| {
                format!("could not take the owner's group id {}: {err}", self.gid[1])
            })?;
            switched = true;
        }
        let u = nix::unistd::getresuid().map_err(|e| e.to_string())?;
        if [u.real, u.effective, u.saved].map(Uid::as_raw) != self.uid {
            let [r, e, s] = self.uid.map(Uid::from_raw);
            nix::unistd::setresuid(r, e, s).map_err(|err| {
                format!("could not take the owner's user id {}: {err}", self.uid[1])
            })?;
            switched = true;
        }
        if switched {
            // A credential change clears the parent-death signal: set it again, and leave
            // if the server died meanwhile.
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let _ = nix::sys::prctl::set_dumpable(self.flags & DUMPABLE != 0);
            if nix::unistd::getppid() != server {
                crate::sys::exit_now(0);
            }
        }
        Ok(())
    }
}

/// The tag a task function's address travels with: a keyed mix of the address that a
/// worker checks before it calls it, so a corrupt frame, a stray writer or a framing bug
/// fails that task instead of making the worker jump to an arbitrary address. The key is
/// random per pool; a frame that was not made by this pool's driver passes with
/// probability 2^-64.
pub(crate) fn call_tag(key: u64, call: usize) -> u64 {
    // splitmix64's finaliser over the keyed address, twice keyed.
    let mut z = (call as u64 ^ key).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) ^ key.rotate_left(17)
}

/// A fresh random key for a pool's [`call_tag`]s.
pub(crate) fn new_key() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id()) | 1
}

/// The process a pool (or a result of one) belongs to: only there do its driver thread and
/// workers exist. A fork of the owner (a `Process` child that captured the pool) gets a
/// copy whose locks may have been held by threads the fork did not copy, so every entry
/// point checks this first and touches nothing elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Home(u32);

impl Home {
    /// The calling process.
    pub(crate) fn here() -> Self {
        Self(crate::sys::current_pid())
    }

    /// Whether the calling process is the owner.
    pub(crate) fn is_here(self) -> bool {
        self.0 == crate::sys::current_pid()
    }

    /// `Err(NotOwner)` outside the owner.
    pub(crate) fn check(self) -> Result<()> {
        if self.is_here() {
            return Ok(());
        }
        Err(Error::NotOwner {
            owner: self.0,
            caller: crate::sys::current_pid(),
        })
    }
}
