//! `Pool`'s entry points for a front end that turns tasks into bytes its own way (the
//! `ThreadPool`, whose tasks travel as tickets): the engine without the typed layer.

use super::imap::IMap;
use super::imap_order::IMapOrder;
use super::state::Phase;
use super::Pool;
use crate::error::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

impl Pool {
    /// `Err(NotOwner)` outside the pool's owner process.
    pub(crate) fn check_home(&self) -> Result<()> {
        self.home.check()
    }

    /// An `imap` iterator over an input already made of argument tuples, for the task at
    /// erased address `call`.
    pub(crate) fn imap_erased<I, A, R, O>(
        &self,
        input: I,
        call: usize,
        chunksize: usize,
    ) -> Result<IMap<I, A, R, O>>
    where
        I: Iterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned,
        O: IMapOrder,
    {
        self.home.check()?;
        IMap::new(Arc::clone(&self.inner), input, call, chunksize)
    }

    /// The phase, for a `ThreadPool`'s `Debug`.
    pub(crate) fn phase_name(&self) -> &'static str {
        match self.inner.lock_state().phase {
            Phase::Running => "Running",
            Phase::Closed => "Closed",
            Phase::Terminated => "Terminated",
        }
    }
}
