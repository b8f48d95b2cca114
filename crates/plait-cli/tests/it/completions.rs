//! `plait completions SHELL`: completion scripts that know every subcommand.

use crate::support::{Scratch, plait};

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    let dir = Scratch::new();
    for (shell, marker) in [
        ("bash", "complete -F _plait"),
        ("zsh", "#compdef plait"),
        ("fish", "complete -c plait"),
    ] {
        let run = plait(&dir.path(), &["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains(marker), "{shell}:\n{}", run.stdout);
        for subcommand in [
            "run",
            "check",
            "resume",
            "runs",
            "show",
            "explain",
            "cache",
            "graph",
            "completions",
        ] {
            assert!(
                run.stdout.contains(subcommand),
                "{shell} completes `{subcommand}`"
            );
        }
        assert!(run.stdout.contains("no-cache"), "{shell} completes options");
    }
}

#[test]
fn completions_for_an_unknown_shell_is_bad_input() {
    let run = plait(&Scratch::new().path(), &["completions", "csh"]);
    run.expect_code(2);
    assert!(run.stderr.contains("possible values"), "{}", run.stderr);
}

/// A command that only prints stops quietly when its reader has gone, as with `| head`: no
/// panic about a broken pipe.
#[test]
fn a_printing_command_ends_quietly_when_its_reader_has_gone() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    // Gone before plait writes anything.
    drop(reader);
    let output = crate::support::command(&Scratch::new().path(), &["completions", "bash"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(13),
        "ended by SIGPIPE: {:?}\n{stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
