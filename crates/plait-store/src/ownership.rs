//! Who owns a run: one process at a time, holding a lease that it renews while the run goes.
//!
//! A run's owner is a process (host, pid, start time). On the owner's own host, whether it
//! still owns the run is a fact: the process runs, and it is the same process (its start
//! time), not one that took its pid later. From another host it cannot be seen, so the owner
//! also holds a lease, renewed every third of [`LEASE`]: once the lease has run out, the
//! owner is taken to be gone and another process may claim the run. A claim and a renewal
//! are each judged in the transaction that records them, so two claimers cannot both win,
//! and an owner that lost its run learns it at its next renewal.

use std::time::{Duration, SystemTime};

use crate::{Millis, Owner, RunId, StoreError};

/// How long a lease holds unless renewed.
pub const LEASE: Duration = Duration::from_secs(30);

/// Now, in milliseconds since the Unix epoch, by this host's clock.
pub fn now_millis() -> Millis {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Millis::try_from(since.as_millis()).unwrap_or(Millis::MAX)
}

/// Whether the process that owns a run still does, at `now`: on this host, it runs; on
/// another, its lease has not run out (a run recorded before leases, with none, is taken to
/// be owned).
pub fn owner_alive(owner: &Owner, lease_until: Option<Millis>, now: Millis) -> bool {
    if owner.host == plait_process::host_name() {
        plait_process::is_alive(owner.pid, owner.started)
    } else {
        lease_until.is_none_or(|until| until > now)
    }
}

/// Why a claimer may not take over run `run_id` owned by `owner` under a lease until
/// `lease_until`, if it may not: an owner that is alive keeps its run (the same process too:
/// its run may still be stopping).
pub fn claim_refused(
    run_id: &RunId,
    owner: Option<&Owner>,
    lease_until: Option<Millis>,
    now: Millis,
) -> Option<StoreError> {
    let owner = owner.filter(|owner| owner_alive(owner, lease_until, now))?;
    Some(StoreError::RunOwned {
        run_id: run_id.to_string(),
        host: owner.host.clone(),
        pid: owner.pid,
    })
}

/// Why `renewer` may not renew its lease on run `run_id`, now owned by `owner`, if it may not:
/// the run is no longer its own.
pub fn renew_refused(run_id: &RunId, owner: Option<&Owner>, renewer: &Owner) -> Option<StoreError> {
    (owner != Some(renewer)).then(|| StoreError::LeaseLost {
        run_id: run_id.to_string(),
    })
}

/// The current process as an owner.
pub fn this_process() -> Owner {
    let pid = std::process::id();
    Owner {
        host: plait_process::host_name().to_owned(),
        pid,
        started: plait_process::process_start_time(pid).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elsewhere() -> Owner {
        Owner {
            host: format!("not-{}", plait_process::host_name()),
            pid: 1,
            started: 0,
        }
    }

    #[test]
    fn another_hosts_owner_holds_its_run_until_its_lease_runs_out() {
        let run = RunId::from("r1");
        let owner = elsewhere();
        assert!(claim_refused(&run, Some(&owner), Some(1_000), 999).is_some());
        assert!(claim_refused(&run, Some(&owner), Some(1_000), 1_000).is_none());
        assert!(
            claim_refused(&run, Some(&owner), None, Millis::MAX).is_some(),
            "with no lease recorded, nothing says the owner is gone"
        );
        assert!(claim_refused(&run, None, None, 0).is_none(), "released");
    }

    #[test]
    fn this_hosts_owner_is_judged_by_its_process_whatever_its_lease() {
        let run = RunId::from("r1");
        let me = this_process();
        assert!(claim_refused(&run, Some(&me), Some(0), 1_000).is_some());
        let gone = Owner {
            started: me.started + 1,
            ..me
        };
        assert!(claim_refused(&run, Some(&gone), Some(Millis::MAX), 0).is_none());
    }

    #[test]
    fn only_the_owner_renews() {
        let run = RunId::from("r1");
        let me = this_process();
        assert_eq!(renew_refused(&run, Some(&me), &me), None);
        assert!(renew_refused(&run, Some(&elsewhere()), &me).is_some());
        assert!(renew_refused(&run, None, &me).is_some());
    }
}
