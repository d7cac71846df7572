//! The loop a pool worker runs, in its own process, until told to exit.

use crate::protocol::{self, DONE, EXIT, INIT, INIT_FAILED, READY, RUN};
use crate::sys;
use crate::task::CallResult;
use crate::wire::RawConn;

/// Serves tasks on `conn` and never returns: the process ends with `_exit`.
pub(crate) fn run(conn: RawConn) -> ! {
    let code = match serve(&conn) {
        Ok(()) => 0,
        Err(()) => 2,
    };
    sys::exit_now(code)
}

fn serve(conn: &RawConn) -> Result<(), ()> {
    loop {
        let Ok(m) = conn.recv(None) else {
            return Ok(()); // the driver is gone
        };
        match m.kind {
            INIT => {
                let (call, args) = protocol::decode_init(&m.bytes).map_err(|_| ())?;
                if call != 0 {
                    let failure = match sys::call_erased(call, args, m.fds) {
                        CallResult::Ok(..) => None,
                        CallResult::Panicked(msg) => Some(format!("panicked: {msg}")),
                        CallResult::Decode(msg) | CallResult::Encode(msg) => Some(msg),
                    };
                    if let Some(msg) = failure {
                        let _ = conn.send(INIT_FAILED, msg.as_bytes(), &[]);
                        sys::exit_now(1);
                    }
                }
                conn.send(READY, &[], &[]).map_err(|_| ())?;
            }
            RUN => {
                let (first, call, items) = protocol::decode_run(&m.bytes).map_err(|_| ())?;
                let mut fds = m.fds.into_iter();
                for (k, item) in items.into_iter().enumerate() {
                    let mine: Vec<_> = fds.by_ref().take(item.fds).collect();
                    let (bytes, out_fds) = protocol::encode_done(
                        first.wrapping_add(k as u64),
                        sys::call_erased(call, item.args, mine),
                    );
                    conn.send(DONE, &bytes, &out_fds).map_err(|_| ())?;
                }
            }
            EXIT => return Ok(()),
            _ => return Err(()),
        }
    }
}
