//! Placeholders inside a shell's script: `["sh", "-c", "echo {v}"]` pastes the value into
//! shell code, so a value holding `$(...)`, `;` or a quote runs as commands. A value read
//! from the environment (`"$PLAIT_IN_V"`) or passed after the script (`"$1"`) stays data.

use super::env::input_var;
use super::placeholders::Template;

/// Programs that run the argument after `-c` as a script.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish"];

/// Options of those shells that take the next argument as their value.
const OPTIONS_WITH_VALUE: &[&str] = &["-o", "+o", "-O", "+O", "--rcfile", "--init-file"];

/// A shell's script argument that holds placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellScript {
    /// Where the script is in the argv.
    pub index: usize,
    /// The shell, as the argv names it (`sh`, `/bin/bash`).
    pub shell: String,
    /// The inputs pasted into the script, each once, in order.
    pub placeholders: Vec<ScriptPlaceholder>,
}

/// One input pasted into a shell script, and the variable that holds it safely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptPlaceholder {
    pub name: String,
    /// `PLAIT_IN_<NAME>`.
    pub variable: String,
}

/// The script of `sh -c SCRIPT` (and of `bash`, `zsh` and the like, also behind `env`) if it
/// holds `{name}` placeholders.
pub fn placeholders_in_shell_script(argv: &[String]) -> Option<ShellScript> {
    let (shell, index) = script_index(argv)?;
    let template = Template::parse(std::slice::from_ref(&argv[index]));
    let mut placeholders: Vec<ScriptPlaceholder> = Vec::new();
    for name in template.inputs() {
        if !placeholders.iter().any(|seen| seen.name == name) {
            placeholders.push(ScriptPlaceholder {
                name: name.to_owned(),
                variable: input_var(name),
            });
        }
    }
    (!placeholders.is_empty()).then(|| ShellScript {
        index,
        shell: argv[shell].clone(),
        placeholders,
    })
}

/// Where the shell is: the program, or the first argument of `env` that is neither an option
/// nor a `NAME=value`.
fn shell_index(argv: &[String]) -> Option<usize> {
    let program = argv.first()?;
    if base_name(program) != "env" {
        return Some(0);
    }
    argv.iter()
        .enumerate()
        .skip(1)
        .find(|(_, arg)| !arg.starts_with('-') && !arg.contains('='))
        .map(|(idx, _)| idx)
}

/// Where the shell and its script are: the script is the first operand after the shell's
/// options, if one of them is `-c`.
fn script_index(argv: &[String]) -> Option<(usize, usize)> {
    let shell = shell_index(argv)?;
    if !SHELLS.contains(&base_name(&argv[shell])) {
        return None;
    }
    let mut has_c = false;
    let mut idx = shell + 1;
    while let Some(arg) = argv.get(idx) {
        if arg == "--" {
            idx += 1;
            break;
        }
        let is_option = (arg.starts_with('-') || arg.starts_with('+')) && arg.len() > 1;
        if !is_option {
            break;
        }
        if !arg.starts_with("--") && arg[1..].contains('c') {
            has_c = true;
        }
        idx += if OPTIONS_WITH_VALUE.contains(&arg.as_str()) {
            2
        } else {
            1
        };
    }
    (has_c && idx < argv.len()).then_some((shell, idx))
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(argv: &[&str], expect: Expect) {
        let argv: Vec<String> = argv.iter().map(|arg| (*arg).to_owned()).collect();
        let found = placeholders_in_shell_script(&argv).map(|script| {
            let names: Vec<String> = script
                .placeholders
                .iter()
                .map(|p| format!("{} as {}", p.name, p.variable))
                .collect();
            format!(
                "{} runs argument {}: {}",
                script.shell,
                script.index,
                names.join(", ")
            )
        });
        expect.assert_eq(&found.unwrap_or_else(|| "none".to_owned()));
    }

    #[test]
    fn a_placeholder_in_a_shell_script_is_found() {
        check(
            &["sh", "-c", "echo {v} {n} {v}"],
            expect!["sh runs argument 2: v as PLAIT_IN_V, n as PLAIT_IN_N"],
        );
        check(
            &["/bin/bash", "-euc", "echo {out-dir}"],
            expect!["/bin/bash runs argument 2: out-dir as PLAIT_IN_OUT_DIR"],
        );
        check(
            &["bash", "-o", "pipefail", "-c", "cat {f} | wc -l"],
            expect!["bash runs argument 4: f as PLAIT_IN_F"],
        );
        check(
            &["env", "LC_ALL=C", "zsh", "-c", "sort {f}"],
            expect!["zsh runs argument 4: f as PLAIT_IN_F"],
        );
    }

    #[test]
    fn placeholders_outside_a_shell_script_are_safe() {
        // Positional arguments after the script stay one argument each.
        check(&["sh", "-c", "echo \"$1\"", "sh", "{v}"], expect!["none"]);
        // A script file, not a script.
        check(&["sh", "run.sh", "{v}"], expect!["none"]);
        check(&["echo", "-c", "{v}"], expect!["none"]);
        check(
            &["sh", "-c", "echo \"$PLAIT_IN_V\" ${HOME}"],
            expect!["none"],
        );
        check(&["sh", "-c"], expect!["none"]);
        check(&["env"], expect!["none"]);
    }
}
