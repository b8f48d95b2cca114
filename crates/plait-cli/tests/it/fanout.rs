//! `for_each` through the real binary: one command per element, the element as `{item}`,
//! `PLAIT_IN_ITEM` and in the JSON on stdin, the outputs gathered in order, and one changed
//! element running one item again.

use crate::support::{Output, Scratch};

const WORKFLOW: &str = r#"
outputs = ["greeting", "count"]

[inputs]
names = { type = "list<string>", default = ["ann", "bob", "cy"] }

[tasks.greet]
command = ["sh", "-c", '''
echo "$1" >> ledger
read -r stdin
case "$stdin" in *"\"item\":\"$PLAIT_IN_ITEM\""*) ;; *) exit 3 ;; esac
printf '{"greeting": "hello %s"}' "$PLAIT_IN_ITEM"
''', "sh", "{item}"]
for_each = { item = "names" }
max_parallel = 2
provides = { greeting = "string" }

[tasks.count]
command = ["sh", "-c", 'printf "{\"count\": %s}" "$(printf "%s" "$PLAIT_IN_GREETING" | grep -o hello | wc -l)"']
requires = { greeting = "list<string>" }
provides = { count = "int" }
"#;

fn ledger(scratch: &Scratch) -> Vec<String> {
    let path = scratch.join("ledger");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn run(scratch: &Scratch, extra: &[&str], code: i32) -> Output {
    let mut args = vec!["run", "flow.toml", "--json"];
    args.extend_from_slice(extra);
    let output = scratch.plait(&args);
    output.expect_code(code);
    output
}

#[test]
fn each_element_runs_a_command_and_the_outputs_come_back_in_order() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let report = run(&scratch, &[], 0).json();
    assert_eq!(
        report.output("greeting"),
        &serde_json::json!(["hello ann", "hello bob", "hello cy"])
    );
    assert_eq!(report.output("count"), 3);
    for item in ["greet[0]", "greet[1]", "greet[2]", "greet"] {
        assert_eq!(report.state(item), "succeeded", "{item}");
    }
    assert_eq!(ledger(&scratch), ["ann", "bob", "cy"]);

    // One element changed: one item runs, the others are reused.
    let report = run(&scratch, &["--set", r#"names=["ann","dee","cy"]"#], 0).json();
    assert_eq!(
        report.output("greeting"),
        &serde_json::json!(["hello ann", "hello dee", "hello cy"])
    );
    assert_eq!(ledger(&scratch), ["dee"]);
    let explain = scratch.plait(&["explain", "last", "greet[1]"]);
    explain.expect_code(0);
    assert!(
        explain
            .stdout
            .contains(r#"because input `item` changed: "bob" -> "dee""#),
        "{}",
        explain.stdout
    );

    // `show` lists the items after the fan-out, in element order, whichever ran first.
    let show = scratch.plait(&["show", "last"]);
    show.expect_code(0);
    let listed: Vec<&str> = show
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with("greet") || *name == "count")
        .collect();
    assert_eq!(
        listed,
        ["greet", "greet[0]", "greet[1]", "greet[2]", "count"]
    );

    // An empty list gives empty lists, and nothing runs.
    let report = run(&scratch, &["--set", "names=[]"], 0).json();
    assert_eq!(report.output("greeting"), &serde_json::json!([]));
    assert_eq!(report.output("count"), 0);
    assert!(ledger(&scratch).is_empty());
}

#[test]
fn under_continue_a_failed_item_fails_the_run_and_keeps_the_finished_items() {
    let scratch = Scratch::new();
    scratch.write(
        "flow.toml",
        &format!(
            "on_failure = \"continue\"\n{}",
            WORKFLOW.replace(
                "echo \"$1\" >> ledger",
                "echo \"$1\" >> ledger; [ \"$1\" = bob ] && [ ! -e fixed ] && exit 9",
            )
        ),
    );
    let report = run(&scratch, &[], 1).json();
    assert_eq!(report.state("greet[1]"), "failed");
    assert_eq!(report.state("greet"), "failed");
    assert_eq!(report.state("count"), "failed");
    assert_eq!(ledger(&scratch), ["ann", "bob", "cy"]);
    scratch.write("fixed", "");
    let report = run(&scratch, &[], 0).json();
    assert_eq!(report.output("count"), 3);
    assert_eq!(ledger(&scratch), ["bob"], "the finished items were kept");
}
