//! Diagnostics as the CLI renders them: through `miette`, with the file's text.

use std::path::Path;

use expect_test::expect;
use plait_spec::{Format, SpecError, load_str};

#[test]
fn diagnostics_carry_source_and_labels_for_miette() {
    let text = r#"
[tasks.a]
command = ["a"]
provides = { x = "int" }
[tasks.b]
command = ["b"]
provides = { x = "int" }
[tasks.c]
command = ["c"]
requires = { x = "int" }
"#;
    let Err(SpecError::Invalid { diagnostics }) =
        load_str(text, Path::new("flows/pick.toml"), Format::Toml)
    else {
        panic!("the workflow should be invalid");
    };
    let mut out = String::new();
    for diagnostic in &diagnostics {
        miette::NarratableReportHandler::new()
            .render_report(&mut out, diagnostic)
            .unwrap();
    }
    expect![[r#"
        flows/pick.toml:10:14: error[ambiguous-provider]: task `c` requires `x`, which `a` and `b` both provide
          help: a value has exactly one provider: rename one of the outputs (`rebind`)
            Diagnostic severity: error
        Begin snippet for flows/pick.toml starting at line 3, column 1

        snippet line 3: command = ["a"]
        snippet line 4: provides = { x = "int" }
            label at line 4, column 14: `a` provides `x`
        snippet line 5: [tasks.b]
        snippet line 6: command = ["b"]
        snippet line 7: provides = { x = "int" }
            label at line 7, column 14: `b` provides `x`
        snippet line 8: [tasks.c]
            label at line 8, columns 10 to 9: `c` requires `x`
        Begin snippet for flows/pick.toml starting at line 9, column 1

        snippet line 9: command = ["c"]
        snippet line 10: requires = { x = "int" }
            label at line 10, column 14: `c` requires `x`
        diagnostic help: a value has exactly one provider: rename one of the outputs (`rebind`)
        diagnostic code: ambiguous-provider
    "#]]
    .assert_eq(&out);
}

/// Results cross threads (the CLI loads on one, renders on another; a server loads many).
#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<plait_spec::Loaded>();
    send_sync::<plait_spec::FileDiagnostic>();
    send_sync::<plait_spec::SpecError>();
    send_sync::<plait_spec::Format>();
}
