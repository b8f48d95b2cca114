//! Crash and resume (RELIABILITY.md): SIGKILL `plait` at random points of a workflow whose
//! commands append their task's path to a ledger, resume, and again, until the run ends.
//! Every trial must end with the outputs of an uninterrupted run, no task whose completion
//! was recorded executed again, and the store passing `PRAGMA integrity_check`. Two
//! workflows: 500 tasks in layers, and a fan-out of 150 items, each a child the running
//! fan-out spawns, recorded in the store and added back on resume.
//!
//! `PLAIT_CRASH_TRIALS` sets the number of trials of each (by default 50 of the layers and
//! 8 of the fan-out; 1,000 for a long local run); `PLAIT_CRASH_SEED` replays one trial's
//! random choices.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Scratch;

/// splitmix64: the trials' randomness, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A workflow to crash, and what a run of it that ends must hold.
struct Workload {
    /// The workflow file; each command appends its task's path to `ledger`.
    text: String,
    /// Each task's path and the outputs an uninterrupted run gives it.
    outputs: Vec<(String, Value)>,
    /// The first kill comes at most this many milliseconds after `plait run` starts, a
    /// resume's at most `resume_kill_ms` after it starts: about the run's length, so that
    /// most kills land while tasks run.
    run_kill_ms: u64,
    resume_kill_ms: u64,
}

const LAYERS: usize = 10;
const WIDTH: usize = 50;

/// Task `t{i}` of layer k > 0 needs one or two tasks of layer k - 1 and provides the sum of
/// their values plus one; layer 0 provides 1.
fn layers() -> Workload {
    let mut rng = Rng(7);
    let mut text = String::from("outputs = [");
    let last: Vec<String> = ((LAYERS - 1) * WIDTH..LAYERS * WIDTH)
        .map(|i| format!("\"v{i}\""))
        .collect();
    text.push_str(&last.join(", "));
    text.push_str("]\n");
    let mut values = Vec::new();
    let mut outputs = Vec::new();
    for i in 0..LAYERS * WIDTH {
        let layer = i / WIDTH;
        let deps: Vec<usize> = if layer == 0 {
            Vec::new()
        } else {
            let base = (layer - 1) * WIDTH;
            let first = base + (rng.next() % WIDTH as u64) as usize;
            let second = base + (rng.next() % WIDTH as u64) as usize;
            if first == second {
                vec![first]
            } else {
                vec![first, second]
            }
        };
        let value = 1 + deps.iter().map(|&d| values[d]).sum::<i64>();
        values.push(value);
        outputs.push((format!("t{i}"), json!({ format!("v{i}"): value })));
        // Inputs by their variables, not pasted into the script (which `plait` warns of).
        let sum: String = deps.iter().map(|d| format!("PLAIT_IN_V{d} + ")).collect();
        let requires: Vec<String> = deps.iter().map(|d| format!("v{d} = \"int\"")).collect();
        text.push_str(&format!(
            "\n[tasks.t{i}]\ncommand = [\"sh\", \"-c\", \"echo t{i} >> ledger; printf '{{\\\"v{i}\\\": %d}}' $(({sum}1))\"]\nrequires = {{ {} }}\nprovides = {{ v{i} = \"int\" }}\n",
            requires.join(", ")
        ));
    }
    Workload {
        text,
        outputs,
        run_kill_ms: 700,
        resume_kill_ms: 500,
    }
}

const ITEMS: i64 = 150;

/// `numbers` gives the list 0 to `ITEMS - 1`, `square` runs once per number (item
/// `square[i]` provides i * i), and `total` adds up the squares gathered in order.
fn fan_out() -> Workload {
    let text = format!(
        r#"outputs = ["sq", "total"]

[tasks.numbers]
command = ["sh", "-c", '''
echo "$PLAIT_TASK" >> ledger
awk 'BEGIN {{ printf "{{\"n\": ["; for (i = 0; i < {ITEMS}; i++) printf "%s%d", (i ? "," : ""), i; print "]}}" }}'
''']
provides = {{ n = "list<int>" }}

[tasks.square]
command = ["sh", "-c", '''
echo "$PLAIT_TASK" >> ledger
printf '{{"sq": %d}}' $((PLAIT_IN_ITEM * PLAIT_IN_ITEM))
''']
for_each = {{ item = "n" }}
provides = {{ sq = "int" }}

[tasks.total]
command = ["sh", "-c", '''
echo "$PLAIT_TASK" >> ledger
printf '%s' "$PLAIT_IN_SQ" | tr -d '[]' | awk -F , '{{ for (i = 1; i <= NF; i++) s += $i }} END {{ printf "{{\"total\": %d}}", s }}'
''']
requires = {{ sq = "list<int>" }}
provides = {{ total = "int" }}
"#
    );
    let squares: Vec<i64> = (0..ITEMS).map(|i| i * i).collect();
    let total: i64 = squares.iter().sum();
    let mut outputs = vec![
        (
            "numbers".to_owned(),
            json!({ "n": (0..ITEMS).collect::<Vec<_>>() }),
        ),
        ("square".to_owned(), json!({ "sq": squares })),
        ("total".to_owned(), json!({ "total": total })),
    ];
    for (i, square) in squares.iter().enumerate() {
        outputs.push((format!("square[{i}]"), json!({ "sq": square })));
    }
    Workload {
        text,
        outputs,
        run_kill_ms: 700,
        resume_kill_ms: 400,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// Tasks whose completion the store holds now.
fn completed(scratch: &Scratch, run: &str) -> BTreeSet<String> {
    let shown = scratch.plait(&["show", run, "--json"]);
    let shown = json(&shown.expect_code(0).stdout);
    shown["tasks"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, task)| task["state"] == "succeeded")
        .map(|(name, _)| name.clone())
        .collect()
}

/// Starts `args`, and SIGKILLs it after `delay` unless it ended first.
fn run_and_kill(scratch: &Scratch, args: &[&str], delay: Duration) {
    scratch.spawn(args).kill_after(delay);
}

/// What a trial did: whether the run was recorded before the first kill, how many times it
/// was resumed, and whether a kill landed half-way: some tasks' completions recorded, not
/// all.
struct Trial {
    recorded: bool,
    resumes: u32,
    half_way: bool,
}

fn trial(seed: u64, workload: &Workload) -> Trial {
    let mut rng = Rng(seed);
    let scratch = Scratch::new();
    scratch.write("flow.toml", &workload.text);
    run_and_kill(
        &scratch,
        &["run", "flow.toml", "--jobs", "4"],
        Duration::from_millis(rng.next() % workload.run_kill_ms),
    );
    let runs = json(&scratch.plait(&["runs", "--json"]).expect_code(0).stdout);
    let Some(run) = runs[0]["run_id"].as_str().map(str::to_owned) else {
        // Killed before the run was recorded: nothing to resume, nothing to check.
        return Trial {
            recorded: false,
            resumes: 0,
            half_way: false,
        };
    };
    let mut resumes = 0;
    let mut half_way = false;
    for round in 0.. {
        assert!(round < 50, "seed {seed}: the run never ended");
        let status =
            json(&scratch.plait(&["runs", "--json"]).expect_code(0).stdout)[0]["status"].clone();
        if status == "succeeded" {
            break;
        }
        assert_eq!(status, "interrupted", "seed {seed}");
        let done = completed(&scratch, &run);
        half_way |= !done.is_empty() && done.len() < workload.outputs.len();
        let ledger_before = std::fs::read_to_string(scratch.join("ledger"))
            .unwrap_or_default()
            .len();
        // Every other round runs to the end, so trials finish.
        let delay = if round % 2 == 0 {
            rng.next() % workload.resume_kill_ms
        } else {
            60_000
        };
        run_and_kill(
            &scratch,
            &["resume", &run, "--jobs", "4"],
            Duration::from_millis(delay),
        );
        resumes += 1;
        let ledger = std::fs::read_to_string(scratch.join("ledger")).unwrap_or_default();
        for task in ledger[ledger_before..].lines() {
            assert!(
                !done.contains(task),
                "seed {seed}: `{task}` ran again after its completion was recorded"
            );
        }
    }
    let shown = json(
        &scratch
            .plait(&["show", &run, "--json"])
            .expect_code(0)
            .stdout,
    );
    for (task, outputs) in &workload.outputs {
        assert_eq!(
            &shown["tasks"][task]["outputs"], outputs,
            "seed {seed}: {task}"
        );
    }
    check_store(seed, &scratch);
    Trial {
        recorded: true,
        resumes,
        half_way,
    }
}

/// The store passes `PRAGMA integrity_check`, and records each spawned child once, however
/// many times the run that spawned it was resumed.
fn check_store(seed: u64, scratch: &Scratch) {
    let db = rusqlite::Connection::open(scratch.join(".plait/plait.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok", "seed {seed}");
    let twice: Vec<String> = db
        .prepare("SELECT task FROM spawned GROUP BY run_id, task HAVING count(*) > 1")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(twice.is_empty(), "seed {seed}: spawned twice: {twice:?}");
}

/// Runs the trials (`PLAIT_CRASH_TRIALS`, else `default_trials`; or the one trial
/// `PLAIT_CRASH_SEED` names) and says what they did.
fn crash_trials(workload: &Workload, default_trials: u64) {
    if let Some(seed) = std::env::var("PLAIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        trial(seed, workload);
        return;
    }
    let trials: u64 = std::env::var("PLAIT_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_trials);
    let (mut recorded, mut resumes, mut half_way) = (0, 0, 0);
    for seed in 0..trials {
        let trial = trial(seed, workload);
        recorded += u64::from(trial.recorded);
        resumes += u64::from(trial.resumes);
        half_way += u64::from(trial.half_way);
    }
    // A run killed before it was recorded tests nothing: most must be recorded, or the
    // harness has stopped testing resumes at all.
    assert!(
        recorded * 2 >= trials,
        "only {recorded} of {trials} runs were recorded before their first kill"
    );
    // Every recorded run reached the outputs of an uninterrupted run with no recorded
    // completion executed again and an intact store (each trial asserts it).
    eprintln!(
        "{trials} trials: {recorded} runs recorded and resumed to the end ({resumes} resumes, \
         {half_way} runs killed half-way), outputs identical in all, 0 recorded completions re-executed, integrity_check ok in all"
    );
}

#[test]
fn killed_runs_resume_to_the_outputs_of_an_uninterrupted_run() {
    crash_trials(&layers(), 50);
}

/// Kills land while the fan-out spawns its items and while they run: a resume adds the
/// recorded items back and runs only those whose completion was not recorded.
#[test]
fn killed_fan_outs_resume_without_running_a_finished_item_again() {
    crash_trials(&fan_out(), 8);
}
