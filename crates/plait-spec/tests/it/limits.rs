//! Bounded parsing (RELIABILITY.md rule 19): hostile sizes are refused with a diagnostic,
//! never a stack overflow. These run on the default test thread and its default stack.

use std::fmt::Write as _;

use expect_test::expect;

use crate::{check, check_json, render};

const NESTED: usize = 100_000;

#[test]
fn deeply_nested_toml_arrays_are_too_deep() {
    let text = format!(
        "[tasks.a]\ncommand = {}{}\n",
        "[".repeat(NESTED),
        "]".repeat(NESTED)
    );
    check(
        &text,
        expect![[r#"
        /flows/test.toml:2:73: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
    // Unclosed, as a fuzzer would write it.
    check(
        &format!("a = {}", "[".repeat(NESTED)),
        expect![[r#"
        /flows/test.toml:1:69: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
}

#[test]
fn deeply_nested_json_arrays_are_too_deep() {
    let text = format!(
        "{{\"tasks\": {}{}}}",
        "[".repeat(NESTED),
        "]".repeat(NESTED)
    );
    check_json(
        &text,
        expect![[r#"
        /flows/test.json:1:75: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.json` has 1 error(s)
    "#]],
    );
    check_json(
        &"{\"a\": ".repeat(NESTED),
        expect![[r#"
        /flows/test.json:1:391: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.json` has 1 error(s)
    "#]],
    );
}

#[test]
fn deeply_nested_toml_tables_are_too_deep() {
    let dotted = format!("{} = 1\n", vec!["k"; NESTED].join("."));
    check(
        &dotted,
        expect![[r#"
        /flows/test.toml:1:130: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
    let header = format!("[{}]\n", vec!["k"; NESTED].join("."));
    check(
        &header,
        expect![[r#"
        /flows/test.toml:1:129: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
    let inline = format!("a = {}{}", "{ b = ".repeat(NESTED), "}".repeat(NESTED));
    check(
        &inline,
        expect![[r#"
        /flows/test.toml:1:389: error[too-deep]: the file nests tables and arrays more than 64 levels deep
          help: a workflow file nests at most 64 levels: flatten this value, or pass large data as a `json` or `file` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
}

#[test]
fn the_nesting_limit_leaves_room_for_real_files() {
    let ok = format!(
        "[inputs]\nj = {{ type = \"json\", default = {}1{} }}\n",
        "[".repeat(62),
        "]".repeat(62)
    );
    check(
        &ok,
        expect![[r#"
        workflow `test` (0 tasks, on_failure Revert)
        input j: json = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
        /flows/test.toml:2:1: warning[unused-input]: input `j` is never used
    "#]],
    );
}

#[test]
fn oversize_files_are_refused_before_parsing() {
    let text = format!("# {}\n", "x".repeat(4 * 1024 * 1024));
    check(
        &text,
        expect![[r#"
        /flows/test.toml:1:1: error[too-large]: the file is 4194307 bytes, more than the 4194304 bytes (4 MiB) a workflow file may have
          help: keep large data out of the workflow file: pass it as a `file` or `json` input
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    std::fs::write(&path, &text).unwrap();
    let out = render(plait_spec::load_path(&path)).replace(&*dir.path().to_string_lossy(), "$DIR");
    expect![[r#"
        $DIR/big.toml:1:1: error[too-large]: the file is 4194307 bytes, more than the 4194304 bytes (4 MiB) a workflow file may have
          help: keep large data out of the workflow file: pass it as a `file` or `json` input
        => `$DIR/big.toml` has 1 error(s)
    "#]].assert_eq(&out);
}

#[test]
fn too_many_tasks() {
    let mut text = String::from("{\"tasks\": {");
    for idx in 0..100_001 {
        write!(text, "\"t{idx}\": {{\"command\": [\"x\"]}},").unwrap();
    }
    text.push_str("}}");
    check_json(
        &text,
        expect![[r#"
        /flows/test.json:1:2888902: error[too-large]: the workflow has more than 100000 tasks
          help: a workflow has at most 100000 tasks: split it into several workflows
        => `/flows/test.json` has 1 error(s)
    "#]],
    );
}

/// A cheap, deterministic stand-in for fuzzing: text made of the characters that matter to
/// the pre-scan and the parsers never panics or overflows, whatever it says.
#[test]
fn arbitrary_text_never_panics() {
    const ALPHABET: &[u8] = b"[]{}.=,\"'#\n\\ab1:/*";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3_000 {
        // Every tenth text is long and mostly openers, to reach past the depth limit.
        let (len, alphabet) = if round % 10 == 0 {
            (3_000, &b"[[[{{.. =a\"'\n#"[..])
        } else {
            ((next() % 120) as usize, ALPHABET)
        };
        let text: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
            .collect();
        let _ = plait_spec::load_str(
            &text,
            std::path::Path::new("/f.toml"),
            plait_spec::Format::Toml,
        );
        let _ = plait_spec::load_str(
            &text,
            std::path::Path::new("/f.json"),
            plait_spec::Format::Json,
        );
    }
}
