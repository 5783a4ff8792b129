//! Moving a store to another backend (`stratus-marketplace migrate`):
//! every entry of the source is read, verified again (its document must
//! pass the upload checks and carry its own key), written to the target
//! in batches, then read back from the target and compared byte for byte.
//!
//! Writes use [`Order::Any`], so every version moves whatever the order,
//! and a document already in the target is [`Put::Unchanged`]: a migration
//! that stopped half-way is simply run again. Uploads awaiting e-mail
//! confirmation, job runs and peer cursors are not moved (they are
//! short-lived or rebuilt: a follower fetches its peers' feeds again).

use std::collections::BTreeSet;

use super::{Order, Put, Result, Store, StoreError};
use crate::entry::{Entry, Key};

/// The most entries written in one transaction.
pub const BATCH: usize = 256;

/// What a migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Entries written to the target (new or replaced).
    pub written: usize,
    /// Entries the target already held, byte for byte.
    pub unchanged: usize,
    /// Entries not moved, and why (they do not verify).
    pub skipped: Vec<(Key, String)>,
}

/// Move every entry of `from` into `to`. `verify` checks a stored
/// document and gives its entry (the upload checks), or says why not.
/// A document that reads back different from the target is an error:
/// the migration stops there.
pub fn migrate(
    from: &dyn Store,
    to: &dyn Store,
    verify: impl Fn(&Key, &[u8]) -> Result<Entry, String>,
) -> Result<Moved> {
    let keys = from.keys()?;
    let mut moved = Moved::default();
    for chunk in keys.chunks(BATCH) {
        let mut batch: Vec<(Entry, Vec<u8>)> = Vec::with_capacity(chunk.len());
        for key in chunk {
            let Some(document) = from.document(key)? else {
                moved
                    .skipped
                    .push((key.clone(), "the document is missing".into()));
                continue;
            };
            match verify(key, &document) {
                Ok(entry) if entry.key == *key => batch.push((entry, document)),
                Ok(entry) => moved
                    .skipped
                    .push((key.clone(), format!("the document's key is {}", entry.key))),
                Err(reason) => moved.skipped.push((key.clone(), reason)),
            }
        }
        let outcomes = to.put_many(batch.clone(), Order::Any)?;
        for ((entry, document), outcome) in batch.iter().zip(outcomes) {
            match outcome? {
                Put::Unchanged => moved.unchanged += 1,
                Put::Created | Put::Replaced => moved.written += 1,
            }
            let back = to.document(&entry.key)?;
            if back.as_deref() != Some(document.as_slice()) {
                return Err(StoreError::Database(format!(
                    "{}: the target does not give back the document written",
                    entry.key
                )));
            }
        }
    }
    let stored: BTreeSet<Key> = to.keys()?.into_iter().collect();
    let skipped: BTreeSet<&Key> = moved.skipped.iter().map(|(k, _)| k).collect();
    if let Some(lost) = keys
        .iter()
        .find(|k| !skipped.contains(k) && !stored.contains(*k))
    {
        return Err(StoreError::Database(format!(
            "{lost}: written but not listed by the target"
        )));
    }
    Ok(moved)
}
