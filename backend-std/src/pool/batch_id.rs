//! The id of a call in flight, on its own: the ledger keeps the calls by it, and an
//! [`AsyncResult`](super::AsyncResult) names its call by it to cancel it, without either
//! side naming the other.

slotmap::new_key_type! {
    /// A call in flight (`apply_async`, `map_async`, an `imap`...); never reused for another
    /// call, so a late cancel cannot hit the wrong one.
    pub(crate) struct BatchId;
}
