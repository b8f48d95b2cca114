//! Reading a command's outputs from the JSON object it printed on stdout.

use plait_core::{Outputs, Port, TaskError};

/// How much of stdout an error message quotes.
const EXCERPT_CHARS: usize = 120;

/// Makes relative `file` outputs absolute, against the directory the command ran in: a
/// relative path means something else to a task with another working directory, and to the
/// store that keeps the file for the cache.
pub(crate) fn anchor_files(outputs: Outputs, workdir: Option<&std::path::Path>) -> Outputs {
    let mut anchor = |path: &std::path::Path| {
        if path.is_absolute() {
            return path.to_path_buf();
        }
        let path = match workdir {
            Some(dir) => dir.join(path),
            None => path.to_path_buf(),
        };
        std::path::absolute(&path).unwrap_or(path)
    };
    outputs
        .iter()
        .map(|(name, value)| (name.to_owned(), value.map_files(&mut anchor)))
        .collect()
}

/// Reads each declared output from stdout, which must be one JSON object holding exactly the
/// declared names. With nothing declared, stdout is not read at all (it may be a log).
///
/// Every error is permanent: the same command given the same inputs prints the same thing.
pub(crate) fn parse(stdout: &[u8], provides: &[Port]) -> Result<Outputs, TaskError> {
    if provides.is_empty() {
        return Ok(Outputs::new());
    }
    let fail = |problem: String| TaskError::permanent(format!("{problem}; {}", excerpt(stdout)));
    let expected = || {
        let names: Vec<String> = provides
            .iter()
            .map(|port| format!("`{}`", port.name))
            .collect();
        format!("print the outputs {} as one JSON object", names.join(", "))
    };
    let json: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|error| fail(format!("stdout is not JSON ({error}): {}", expected())))?;
    let serde_json::Value::Object(object) = json else {
        return Err(fail(format!(
            "stdout is a JSON {}, not an object: {}",
            json_kind(&json),
            expected()
        )));
    };
    // An undeclared key first: it is most often a misspelt declared one, which also shows as
    // missing, and the misspelling is the more useful message.
    if let Some(name) = object
        .keys()
        .find(|name| !provides.iter().any(|port| *port.name == **name))
    {
        return Err(fail(format!(
            "printed output `{name}`, which the task does not declare in `provides`"
        )));
    }
    let mut outputs = Outputs::with_capacity(provides.len());
    for port in provides {
        let json = object
            .get(&*port.name)
            .ok_or_else(|| fail(format!("did not print declared output `{}`", port.name)))?;
        let value = port
            .ty
            .value_from_json(json)
            .map_err(|mismatch| fail(format!("output `{}`: {mismatch}", port.name)))?;
        outputs.insert(port.name.clone(), value);
    }
    Ok(outputs)
}

fn json_kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The start of stdout on one line, for messages: `stdout was `...``.
fn excerpt(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return "stdout was empty".to_owned();
    }
    let line = words.join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("stdout began `{}`", &line[..end]),
        None => format!("stdout was `{line}`"),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use plait_core::ValueType;

    use super::*;

    fn check(stdout: &str, expect: Expect) {
        let provides = [
            Port::new("n", ValueType::Int),
            Port::new("path", ValueType::File),
            Port::new("doc", ValueType::Json),
        ];
        let actual = match parse(stdout.as_bytes(), &provides) {
            Ok(outputs) => format!("{:?}", outputs.iter().collect::<Vec<_>>()),
            Err(error) => format!("{} ({:?})", error.message(), error.kind()),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn reads_declared_outputs_in_order() {
        check(
            "\n  {\"doc\": [1, {\"a\": null}], \"path\": \"out/a b.txt\", \"n\": 3}\n\n",
            expect![[r#"[("n", 3), ("path", "out/a b.txt"), ("doc", [1,{"a":null}])]"#]],
        );
    }

    #[test]
    fn stdout_that_is_not_an_object() {
        check(
            "building...\ndone",
            expect![
                "stdout is not JSON (expected value at line 1 column 1): print the outputs `n`, `path`, `doc` as one JSON object; stdout was `building... done` (Permanent)"
            ],
        );
        check(
            "[1, 2]",
            expect![
                "stdout is a JSON array, not an object: print the outputs `n`, `path`, `doc` as one JSON object; stdout was `[1, 2]` (Permanent)"
            ],
        );
        check(
            "",
            expect![
                "stdout is not JSON (EOF while parsing a value at line 1 column 0): print the outputs `n`, `path`, `doc` as one JSON object; stdout was empty (Permanent)"
            ],
        );
    }

    #[test]
    fn outputs_missing_mistyped_or_undeclared() {
        check(
            r#"{"n": 3, "path": "p"}"#,
            expect![[
                r#"did not print declared output `doc`; stdout was `{"n": 3, "path": "p"}` (Permanent)"#
            ]],
        );
        check(
            r#"{"n": "3", "path": "p", "doc": 1}"#,
            expect![[
                r#"output `n`: expected int, found string; stdout was `{"n": "3", "path": "p", "doc": 1}` (Permanent)"#
            ]],
        );
        check(
            r#"{"n": 3, "pth": "p", "doc": 1}"#,
            expect![[
                r#"printed output `pth`, which the task does not declare in `provides`; stdout was `{"n": 3, "pth": "p", "doc": 1}` (Permanent)"#
            ]],
        );
    }

    #[test]
    fn a_list_output_is_read_from_an_array() {
        let provides = [
            Port::new("names", ValueType::list(ValueType::String)),
            Port::new("files", ValueType::list(ValueType::File)),
        ];
        let outputs = parse(
            br#"{"names": ["a", "b"], "files": ["x.txt", "/abs"]}"#,
            &provides,
        )
        .unwrap();
        expect![[r#"[("names", ["a","b"]), ("files", ["x.txt","/abs"])]"#]]
            .assert_eq(&format!("{:?}", outputs.iter().collect::<Vec<_>>()));
        let anchored = anchor_files(outputs, Some(std::path::Path::new("/work")));
        expect![[r#"["/work/x.txt","/abs"]"#]]
            .assert_eq(&format!("{:?}", anchored.get("files").unwrap()));
        let error = parse(br#"{"names": ["a", 2], "files": []}"#, &provides).unwrap_err();
        expect![[r#"output `names`: element [1]: expected string, found int; stdout was `{"names": ["a", 2], "files": []}`"#]]
            .assert_eq(error.message());
    }

    #[test]
    fn long_stdout_is_cut_in_messages() {
        let long = format!("{{\"n\": \"{}\"}}", "é".repeat(500));
        let error = parse(long.as_bytes(), &[Port::new("n", ValueType::Int)]).unwrap_err();
        expect![[r#"output `n`: expected int, found string; stdout began `{"n": "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé`"#]]
            .assert_eq(error.message());
    }

    #[test]
    fn without_outputs_stdout_is_ignored() {
        assert!(parse(b"any log", &[]).unwrap().is_empty());
    }
}
