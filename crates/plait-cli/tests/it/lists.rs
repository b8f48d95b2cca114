//! `list<T>` through the real binary: a command prints a list into a port, the next one reads
//! it as JSON text from `PLAIT_IN_<NAME>` and its placeholder, `--set` takes one as JSON, and
//! the cache knows one by its elements.

use crate::support::{Output, Scratch};

const WORKFLOW: &str = r#"
outputs = ["names", "count"]

[tasks.list]
command = ["sh", "-c", "echo list >> ledger; echo '{\"names\": [\"a\", \"b\"]}'"]
provides = { names = "list<string>" }

[tasks.greet]
command = ["sh", "-c", '''
echo greet >> ledger
printf '%s\n%s\n' "$PLAIT_IN_NAMES" "$1" > greet.txt
cat "$PLAIT_IN_NAMES_FILE" > file.txt
printf '{"count": %d}' "$#"
''', "sh", "{names}"]
requires = { names = "list<string>" }
provides = { count = "int" }
"#;

fn ledger(scratch: &Scratch) -> String {
    let path = scratch.join("ledger");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    text
}

/// `plait run flow.toml` with `extra` arguments, which must exit with `code`.
fn run(scratch: &Scratch, extra: &[&str], code: i32) -> Output {
    let mut args = vec!["run", "flow.toml"];
    args.extend_from_slice(extra);
    let output = scratch.plait(&args);
    output.expect_code(code);
    output
}

#[test]
fn a_printed_list_reaches_the_next_command_as_json_text() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let report = run(&scratch, &["--json"], 0).json();
    assert_eq!(report.output("names"), &serde_json::json!(["a", "b"]));
    assert_eq!(report.output("count"), 1, "the list is one argument");
    assert_eq!(scratch.read("greet.txt"), "[\"a\",\"b\"]\n[\"a\",\"b\"]\n");
    assert_eq!(scratch.read("file.txt"), r#"["a","b"]"#);
    assert_eq!(ledger(&scratch), "list\ngreet\n");

    // Recorded in the store and keyed by its elements: nothing runs again.
    let again = run(&scratch, &["--json"], 0).json();
    assert_eq!(again.output("names"), &serde_json::json!(["a", "b"]));
    assert_eq!(ledger(&scratch), "");
}

const GREET: &str = r#"
[inputs]
names = { type = "list<string>", default = ["a", "b"] }

[tasks.greet]
command = ["sh", "-c", "printf '%s' \"$1\" > greet.txt", "sh", "{names}"]
requires = { names = "list<string>" }
"#;

#[test]
fn set_takes_a_list_as_json() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", GREET);
    let set = |value: &str, code: i32| {
        let set = format!("names={value}");
        run(&scratch, &["--store", ":memory:", "--set", &set], code).stderr
    };
    run(&scratch, &["--store", ":memory:"], 0);
    assert_eq!(scratch.read("greet.txt"), r#"["a","b"]"#);
    set(r#"["x"]"#, 0);
    assert_eq!(scratch.read("greet.txt"), r#"["x"]"#);

    let not_json = set("x,y", 2);
    assert!(
        not_json.contains(
            "input `names` is list<string>, and `x,y` is not a valid list<string>: write a JSON array, quoted for the shell: `--set names='[...]'`"
        ),
        "{not_json}"
    );
    let bad_element = set(r#"["x", 2]"#, 2);
    assert!(
        bad_element.contains(
            r#"and `["x", 2]` is not a valid list<string> (element [1]: expected string, found int)"#
        ),
        "{bad_element}"
    );
}
