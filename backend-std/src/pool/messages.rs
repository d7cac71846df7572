//! What a worker says, turned into scheduler events: ready, initializer failed, results
//! (with the pieces read from its memory for them, see `protocol::piece`).

use super::departures::{Loss, StartFailure};
use super::state::State;
use crate::error::Result;
use crate::protocol::{self, Answer, DONE, DONE_SPLICED, INIT_FAILED, PIECE_READ, READY, RUN_READ};
use crate::wire::Message;
use forkpool_core::WorkerId;

impl State {
    /// Handles one message from slot `i`.
    pub(crate) fn on_message(&mut self, i: usize, m: Message) {
        let w = WorkerId(i as u16);
        let Some(slot) = self.slots[i].as_mut() else {
            return;
        };
        let pid = slot.pid.as_raw() as u32;
        // Each message of results places the pieces read before it, or drops them.
        let pieces = match m.kind {
            PIECE_READ => return slot.pieces.push(m.bytes),
            DONE | DONE_SPLICED => std::mem::take(&mut slot.pieces),
            _ => Vec::new(),
        };
        match m.kind {
            READY => {
                let _ = self.sched.handle_worker_idle(w);
            }
            RUN_READ => self.on_job_read(i, &m.bytes),
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
            DONE | DONE_SPLICED if m.fds_lost => {
                // Results carried descriptors this process had no room for: the worker
                // cannot say which task's were lost, so its tasks fail naming why.
                let e = m.check_fds().unwrap_err();
                self.lose(i, Loss::Broke(e.to_string()));
            }
            DONE | DONE_SPLICED => {
                let answers = match m.kind {
                    DONE => protocol::decode_done(m.bytes, m.fds),
                    _ => protocol::decode_spliced(m.bytes, pieces, m.fds),
                };
                self.on_answers(i, w, pid, answers);
            }
            _ => self.lose(i, Loss::Broke(format!("unknown message kind {}", m.kind))),
        }
    }

    /// Hands the results of a message from slot `i` to the scheduler.
    fn on_answers(&mut self, i: usize, w: WorkerId, pid: u32, answers: Result<Vec<Answer>>) {
        let answers = match answers {
            Ok(answers) => answers,
            Err(e) => return self.lose(i, Loss::broke(e)),
        };
        for a in answers {
            let (seq, count) = (a.seq, a.count);
            let result = a.into_result(pid);
            if let Err(e) = self.sched.handle_results(w, seq, count, result) {
                self.lose(i, Loss::Broke(e.to_string()));
                return;
            }
        }
    }
}
