//! `kill_all_process_groups` kills every child of the process it runs in, so it is tested in
//! an integration binary of its own: in the shared one it would kill other tests' children.

use std::time::{Duration, Instant};

use plait_process::{ProcessOutcome, Subprocess};

/// Leads a group that ignores SIGTERM, with a grandchild; writes both pids.
const STUBBORN: &str = "trap '' TERM; sleep 30 & echo $$ $! > pids.tmp; mv pids.tmp pids; sleep 30";

fn is_gone(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    // Gone, or a zombie nobody reaps (pid 1 of a container may not).
    matches!(state, None | Some('Z' | 'X'))
}

#[tokio::test]
async fn kill_all_takes_down_every_running_group_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let argv = ["sh", "-c", STUBBORN].map(String::from);
    let mut run = Box::pin(Subprocess::new(argv).workdir(dir.path()).run());
    let pids_file = dir.path().join("pids");
    let deadline = Instant::now() + Duration::from_secs(10);
    let pids = loop {
        tokio::select! {
            outcome = &mut run => panic!("the process ended by itself: {outcome:?}"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if let Ok(text) = std::fs::read_to_string(&pids_file) {
            let pids: Vec<i32> = text
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
            break pids;
        }
        assert!(Instant::now() < deadline, "the child never wrote its pids");
    };
    plait_process::kill_all_process_groups();
    let outcome = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the group was killed");
    assert!(
        matches!(outcome, ProcessOutcome::Signalled { signal: 9, .. }),
        "{outcome:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        while !is_gone(pid) {
            assert!(Instant::now() < deadline, "process {pid} survived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
