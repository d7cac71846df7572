//! The messages between a cluster's root and its node agents.
//!
//! | frame | direction | fields |
//! |---|---|---|
//! | `START` | to agent | slot, the root's executable fingerprint, initializer offset, call key, initializer arguments |
//! | `MSG` | both | slot, worker protocol kind, payload (a worker message, forwarded) |
//! | `STOP` | to agent | slot: stop that worker now |
//! | `RELEASE` | to agent | slot, whether to kill it first: the pool is done with it |
//! | `EXIT` | to agent | the cluster shuts down |
//! | `STARTED` | to root | slot, the worker's pid on its node |
//! | `START_FAILED` | to root | slot, why (UTF-8) |
//! | `DIED` | to root | slot, how it ended, its result log's bytes |
//! | `BYE` | to root | the agent has stopped its workers and leaves |

use crate::error::{Error, ExitCause, Result};

const START: u8 = 1;
const MSG: u8 = 2;
const STOP: u8 = 3;
const RELEASE: u8 = 4;
const EXIT: u8 = 5;
const STARTED: u8 = 6;
const START_FAILED: u8 = 7;
const DIED: u8 = 8;
const BYE: u8 = 9;

/// One message between root and agent; the byte slices borrow the received message.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame<'a> {
    Start {
        slot: u32,
        fingerprint: u64,
        call: u64,
        key: u64,
        args: &'a [u8],
    },
    Msg {
        slot: u32,
        kind: u8,
        bytes: &'a [u8],
    },
    Stop {
        slot: u32,
    },
    Release {
        slot: u32,
        kill_first: bool,
    },
    Exit,
    Started {
        slot: u32,
        pid: u32,
    },
    StartFailed {
        slot: u32,
        message: &'a str,
    },
    Died {
        slot: u32,
        cause: ExitCause,
        log: &'a [u8],
    },
    Bye,
}

impl Frame<'_> {
    /// The frame as bytes to send.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let mut head = |kind: u8, slot: u32| {
            v.push(kind);
            v.extend_from_slice(&slot.to_le_bytes());
        };
        match *self {
            Self::Start {
                slot,
                fingerprint,
                call,
                key,
                args,
            } => {
                head(START, slot);
                for n in [fingerprint, call, key] {
                    v.extend_from_slice(&n.to_le_bytes());
                }
                v.extend_from_slice(args);
            }
            Self::Msg { slot, kind, bytes } => {
                head(MSG, slot);
                v.push(kind);
                v.extend_from_slice(bytes);
            }
            Self::Stop { slot } => head(STOP, slot),
            Self::Release { slot, kill_first } => {
                head(RELEASE, slot);
                v.push(u8::from(kill_first));
            }
            Self::Exit => head(EXIT, 0),
            Self::Started { slot, pid } => {
                head(STARTED, slot);
                v.extend_from_slice(&pid.to_le_bytes());
            }
            Self::StartFailed { slot, message } => {
                head(START_FAILED, slot);
                v.extend_from_slice(message.as_bytes());
            }
            Self::Died { slot, cause, log } => {
                head(DIED, slot);
                v.extend_from_slice(&crate::zygote::encode_cause(cause));
                v.extend_from_slice(log);
            }
            Self::Bye => head(BYE, 0),
        }
        v
    }

    /// Reads a frame; a malformed one is a protocol error (a peer that is not a forkpool
    /// agent or root, or another version of it).
    pub(crate) fn decode(b: &[u8]) -> Result<Frame<'_>> {
        let bad = || Error::Protocol(format!("a malformed cluster message of {} bytes", b.len()));
        if b.len() < 5 {
            return Err(bad());
        }
        let slot = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
        let rest = &b[5..];
        let u64_at = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(rest.get(i..i + 8)?.try_into().ok()?))
        };
        Ok(match b[0] {
            START => Frame::Start {
                slot,
                fingerprint: u64_at(0).ok_or_else(bad)?,
                call: u64_at(8).ok_or_else(bad)?,
                key: u64_at(16).ok_or_else(bad)?,
                args: &rest[24..],
            },
            MSG => Frame::Msg {
                slot,
                kind: *rest.first().ok_or_else(bad)?,
                bytes: &rest[1..],
            },
            STOP => Frame::Stop { slot },
            RELEASE => Frame::Release {
                slot,
                kill_first: *rest.first().ok_or_else(bad)? != 0,
            },
            EXIT => Frame::Exit,
            STARTED => Frame::Started {
                slot,
                pid: u32::from_le_bytes(rest.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?),
            },
            START_FAILED => Frame::StartFailed {
                slot,
                message: std::str::from_utf8(rest).map_err(|_| bad())?,
            },
            DIED if rest.len() >= 9 => Frame::Died {
                slot,
                cause: crate::zygote::decode_cause(&rest[..9]),
                log: &rest[9..],
            },
            BYE => Frame::Bye,
            _ => return Err(bad()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Frame;
    use crate::error::ExitCause;
    use proptest::prelude::*;

    #[test]
    fn every_frame_round_trips() {
        let frames = [
            Frame::Start {
                slot: 3,
                fingerprint: 9,
                call: 0x40,
                key: 7,
                args: b"args",
            },
            Frame::Msg {
                slot: 1,
                kind: 2,
                bytes: b"run",
            },
            Frame::Stop { slot: 5 },
            Frame::Release {
                slot: 5,
                kill_first: true,
            },
            Frame::Exit,
            Frame::Started { slot: 4, pid: 99 },
            Frame::StartFailed {
                slot: 4,
                message: "no",
            },
            Frame::Died {
                slot: 4,
                cause: ExitCause::Exited(3),
                log: b"log",
            },
            Frame::Bye,
        ];
        for f in frames {
            assert_eq!(Frame::decode(&f.encode()).unwrap(), f);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A peer's garbage is an error, never a panic.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Frame::decode(&bytes);
        }
    }
}
