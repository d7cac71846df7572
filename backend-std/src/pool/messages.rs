//! What a worker says, turned into scheduler events: ready, initializer failed, results.

use super::departures::{Loss, StartFailure};
use super::state::State;
use crate::protocol::{self, DONE, INIT_FAILED, READY};
use crate::wire::Message;
use forkpool_core::WorkerId;

impl State {
    /// Handles one message from slot `i`.
    pub(crate) fn on_message(&mut self, i: usize, m: Message) {
        let w = WorkerId(i as u16);
        let Some(pid) = self.slots[i].as_ref().map(|s| s.pid.as_raw() as u32) else {
            return;
        };
        match m.kind {
            READY => {
                let _ = self.sched.handle_worker_idle(w);
            }
            INIT_FAILED => {
                let message = String::from_utf8_lossy(&m.bytes).into_owned();
                if let Some(slot) = self.take_slot(i) {
                    self.effects.release([(slot.pid, false)]);
                }
                self.last_spawn_error = Some(StartFailure {
                    message,
                    errno: None,
                });
                let _ = self.sched.handle_spawn_failed(w);
            }
            DONE if m.fds_lost => {
                // Results carried descriptors this process had no room for: the worker
                // cannot say which task's were lost, so its tasks fail naming why.
                let e = m.check_fds().unwrap_err();
                self.lose(i, Loss::Broke(e.to_string()));
            }
            DONE => match protocol::decode_done(m.bytes, m.fds) {
                Ok(answers) => {
                    for a in answers {
                        let (seq, count) = (a.seq, a.count);
                        let result = a.into_result(pid);
                        if let Err(e) = self.sched.handle_results(w, seq, count, result) {
                            self.lose(i, Loss::Broke(e.to_string()));
                            return;
                        }
                    }
                }
                Err(e) => self.lose(i, Loss::broke(e)),
            },
            _ => self.lose(i, Loss::Broke(format!("unknown message kind {}", m.kind))),
        }
    }
}
