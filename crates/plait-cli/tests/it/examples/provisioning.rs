//! `examples/provisioning`: all of it or none of it, whichever step breaks.

use expect_test::expect;

use crate::support::{Output, Scratch, normalize, run_example};

const EXAMPLE: &str = "provisioning";

const STEPS: [&str; 5] = [
    "create_network",
    "create_volume",
    "create_vm",
    "configure_dns",
    "health_check",
];

/// The resource each step creates, for `name = web`.
const RESOURCES: [&str; 5] = [
    "network-web",
    "volume-web",
    "vm-web",
    "dns-web",
    "monitor-web",
];

fn provision(state: &Scratch, sets: &[&str]) -> Output {
    let set_state = format!("state_dir={}", state.path().display());
    let mut args = vec!["--json", "--set", set_state.as_str()];
    for set in sets {
        args.extend(["--set", set]);
    }
    run_example(EXAMPLE, &args)
}

fn journal(state: &Scratch) -> Vec<String> {
    state
        .read("journal.log")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn provisions_all_five_resources_in_order() {
    let state = Scratch::new();
    let set_state = format!("state_dir={}", state.path().display());
    // Without `--json`: the outputs on stdout, one plain progress line per transition on stderr.
    // `--jobs`: the default is the number of cores, which the first progress line shows.
    let run = run_example(EXAMPLE, &["--set", &set_state, "--jobs", "2"]);
    run.expect_code(0);
    expect![[r#"
        vm = "vm-web"
        hostname = "web.plait.test"
        endpoint = "http://web.plait.test/"
    "#]]
    .assert_eq(&run.stdout);
    let run_id = run.run_id().unwrap();
    expect![[r#"
        running `provisioning`: 5 task(s), up to 2 at once
        [<t>] create_network: running (attempt 1)
        [<t>] create_network: succeeded
        [<t>] create_volume: running (attempt 1)
        [<t>] create_volume: succeeded
        [<t>] create_vm: running (attempt 1)
        [<t>] create_vm: succeeded
        [<t>] configure_dns: running (attempt 1)
        [<t>] configure_dns: succeeded
        [<t>] health_check: running (attempt 1)
        [<t>] health_check: succeeded
        run <run> succeeded in <t> (5 succeeded)
    "#]]
    .assert_eq(&normalize(&run.stderr, &[(run_id, "<run>")]));
    let mut expected = RESOURCES.to_vec();
    expected.push("journal.log");
    expected.sort();
    assert_eq!(state.list(""), expected);
    assert_eq!(journal(&state), STEPS.map(|step| format!("created {step}")));
    assert_eq!(
        state.read("vm-web/owner").trim(),
        run_id,
        "resources record their run"
    );
    expect![[r#"
        network = network-web
        volume = volume-web
        address = 10.20.0.10
    "#]]
    .assert_eq(&state.read("vm-web/config"));
    expect!["web.plait.test. 300 IN A 10.20.0.10\n"].assert_eq(&state.read("dns-web/record"));
}

#[test]
fn breaking_any_step_reverts_exactly_the_steps_before_it_newest_first() {
    for (broken, step) in STEPS.iter().enumerate() {
        let state = Scratch::new();
        let run = provision(&state, &[&format!("break_at={step}")]);
        let report = run.expect_code(1).json();
        assert_eq!(report.status(), "reverted", "break_at={step}");
        assert!(report.0["outputs"].as_object().unwrap().is_empty());

        // The journal: each step before the broken one created, then reverted in reverse.
        let mut expected: Vec<String> = STEPS[..broken]
            .iter()
            .map(|s| format!("created {s}"))
            .collect();
        expected.extend(
            STEPS[..broken]
                .iter()
                .rev()
                .map(|s| format!("reverted {s}")),
        );
        assert_eq!(journal(&state), expected, "break_at={step}");
        // Nothing is left but the journal (none when the first step broke).
        let left = state.list("");
        assert_eq!(
            left,
            ["journal.log"][..usize::from(broken > 0)],
            "break_at={step}"
        );

        for (idx, task) in STEPS.iter().enumerate() {
            let (state_name, attempts) = match idx {
                _ if idx < broken => ("reverted", 1),
                // The broken step's revert runs too (it copes with finding nothing); the
                // health check is retried once before it counts as failed.
                _ if idx == broken => ("reverted", if *task == "health_check" { 2 } else { 1 }),
                _ => ("pending", 0),
            };
            assert_eq!(report.state(task), state_name, "{task}, break_at={step}");
            assert_eq!(report.attempts(task), attempts, "{task}, break_at={step}");
        }
        let error = report.task(step)["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("the (simulated) API failed (break_at={step})")),
            "{error}"
        );
        assert!(run.stderr.contains("every completed task was reverted"));
    }
}

#[test]
fn a_revert_that_fails_leaves_what_its_step_depends_on_and_reverts_the_rest() {
    // (the broken step, the step whose revert fails)
    let cases = [
        ("health_check", "create_vm"),
        ("health_check", "create_network"),
        ("create_vm", "create_volume"),
        ("configure_dns", "configure_dns"),
    ];
    for (break_at, break_revert_at) in cases {
        let state = Scratch::new();
        let run = provision(
            &state,
            &[
                &format!("break_at={break_at}"),
                &format!("break_revert_at={break_revert_at}"),
            ],
        );
        let report = run.expect_code(1).json();
        let case = format!("break_at={break_at} break_revert_at={break_revert_at}");
        assert_eq!(report.status(), "revert_failed", "{case}");

        let broken = STEPS.iter().position(|s| *s == break_at).unwrap();
        let stuck = STEPS.iter().position(|s| *s == break_revert_at).unwrap();
        // Created: the steps before the broken one. Reverted: those after the stuck one.
        // Left as they are: the stuck one and every step before it, which it depends on.
        let mut expected: Vec<String> = STEPS[..broken]
            .iter()
            .map(|s| format!("created {s}"))
            .collect();
        let reverted = (stuck + 1).min(broken);
        expected.extend(
            STEPS[reverted..broken]
                .iter()
                .rev()
                .map(|s| format!("reverted {s}")),
        );
        assert_eq!(journal(&state), expected, "{case}");
        // (When the broken step's own revert fails, that step had created nothing.)
        let mut left: Vec<&str> = match stuck < broken {
            true => RESOURCES[..=stuck].to_vec(),
            false => RESOURCES[..broken].to_vec(),
        };
        left.push("journal.log");
        left.sort();
        assert_eq!(state.list(""), left, "{case}");

        for (idx, task) in STEPS.iter().enumerate() {
            let expected = match idx {
                _ if idx == stuck => "revert_failed",
                _ if idx < stuck => "succeeded",
                _ if idx <= broken => "reverted",
                _ => "pending",
            };
            assert_eq!(report.state(task), expected, "{task}, {case}");
        }
        let revert_error = report.task(break_revert_at)["revert_error"]
            .as_str()
            .unwrap();
        assert!(
            revert_error.contains("the (simulated) API refused"),
            "{revert_error}"
        );
        assert!(
            run.stderr
                .contains(&format!("revert of `{break_revert_at}` failed")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_second_run_keeps_what_the_first_created_even_when_it_reverts() {
    let state = Scratch::new();
    let first = provision(&state, &[]);
    let first_id = first.expect_code(0).json().0["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = provision(&state, &["break_at=health_check"]);
    assert_eq!(second.expect_code(1).json().status(), "reverted");
    let mut expected: Vec<String> = STEPS.map(|s| format!("created {s}")).to_vec();
    expected.extend(STEPS[..4].iter().map(|s| format!("kept {s}")));
    assert_eq!(journal(&state), expected, "the second run removed nothing");
    for resource in RESOURCES {
        assert_eq!(state.read(&format!("{resource}/owner")).trim(), first_id);
    }
}
