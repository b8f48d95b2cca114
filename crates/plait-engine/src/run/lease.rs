//! The run's lease on its record: renewed while the run goes (see `plait_store::LEASE`), so
//! that another host can tell a run whose owner died from one still going. An owner whose
//! renewal is refused lost the run (its lease ran out, and another process claimed it): it
//! stops at once, leaving the run to its new owner.

use std::sync::Arc;
use std::time::Duration;

use plait_store::{LEASE, Millis, StoreError, Write, now_millis, this_process};
use tokio::task::AbortHandle;

use super::Shared;
use crate::sync::lock;

/// How often the lease is renewed: a third of its length, so two renewals may fail (a busy
/// store) before it runs out.
const RENEW_EVERY: Duration = Duration::from_secs(LEASE.as_secs() / 3);

/// The end of a lease taken now.
pub(super) fn lease_from_now() -> Millis {
    now_millis().saturating_add(Millis::try_from(LEASE.as_millis()).unwrap_or(Millis::MAX))
}

impl Shared {
    /// Starts renewing the lease of the run's record, which this execution created or
    /// claimed, until `let_go_of_lease`.
    pub(super) fn keep_lease(self: &Arc<Self>) {
        let Some(store) = self.recorder.store.clone() else {
            return;
        };
        let shared = Arc::downgrade(self);
        let renewals = self.sched.runtime.spawn(async move {
            let owner = this_process();
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let renew = Write::Renew {
                    run_id: shared.config.run_id.clone().into(),
                    owner: owner.clone(),
                    lease_until: lease_from_now(),
                };
                match store.write(vec![renew]).await {
                    Ok(()) => {}
                    Err(lost @ StoreError::LeaseLost { .. }) => {
                        tracing::error!(error = %lost, "the run's lease was lost: stopping");
                        shared.fail_store(lost);
                        return;
                    }
                    // The lease holds for two more tries.
                    Err(error) => {
                        tracing::warn!(%error, run = %shared.config.run_id, "renewing the run's lease failed");
                    }
                }
            }
        });
        *lock(&self.recorder.lease) = Some(renewals.abort_handle());
    }

    /// Stops renewing: the run is about to end, or to be let go of.
    pub(super) fn let_go_of_lease(&self) {
        if let Some(renewals) = lock(&self.recorder.lease).take() {
            renewals.abort();
        }
    }
}

/// The renewals of a run's lease, stopped when the run ends.
pub(super) type Renewals = std::sync::Mutex<Option<AbortHandle>>;
