//! The environment a command runs in: `PLAIT_IN_<NAME>` per input and the run's identity.

use plait_core::{Inputs, Port, TaskContext, TaskError};

use super::files::file_var;

/// The longest input given as `PLAIT_IN_<NAME>`. Linux refuses to start a process with any
/// one variable over 128 KiB (and all of them and the arguments together over a quarter of
/// the stack limit); a longer input fails the task before it starts, unless the task keeps
/// its inputs out of the environment (`env = false`): such a value is read from stdin or
/// from its file.
pub(crate) const MAX_ENV_VALUE_BYTES: usize = 64 * 1024;

/// The variables plait sets per task. Inherited copies (from a command that itself runs
/// plait) are removed so a child never mistakes its parent's inputs for its own.
const PER_TASK_PREFIX: &str = "PLAIT_IN_";
pub(crate) const RESULT_VAR: &str = "PLAIT_RESULT";
pub(crate) const ERROR_VAR: &str = "PLAIT_ERROR";

/// `PLAIT_IN_` and the name upper-cased, every character but an ASCII letter or digit as `_`.
pub(crate) fn input_var(name: &str) -> String {
    let mangled: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    format!("{PER_TASK_PREFIX}{mangled}")
}

/// Inputs whose names map to the same variable, or one's variable to the other's file
/// variable (`x_file` and `x`): the child could see only one of them.
pub(crate) fn collisions(requires: &[Port]) -> Vec<String> {
    let mut problems = Vec::new();
    for (idx, port) in requires.iter().enumerate() {
        let var = input_var(&port.name);
        if let Some(earlier) = requires[..idx]
            .iter()
            .find(|earlier| input_var(&earlier.name) == var)
        {
            problems.push(format!(
                "inputs `{}` and `{}` both map to environment variable `{var}`: rename one",
                earlier.name, port.name
            ));
        }
        if let Some(other) = requires.iter().find(|other| file_var(&other.name) == var) {
            problems.push(format!(
                "input `{}` maps to environment variable `{var}`, which names the file of input `{}`: rename one",
                port.name, other.name
            ));
        }
    }
    problems
}

/// The variables a command gets on top of the inherited environment: the spec's own, then
/// plait's, which win over a spec that sets the same name (the inputs' files' variables are
/// added after them). With `inputs_in_env` false, the inputs are not among them. `texts` are
/// the inputs' text forms, in their order.
pub(crate) fn task_env(
    spec_env: &[(String, String)],
    ctx: &TaskContext,
    inputs: &Inputs,
    texts: &[String],
    inputs_in_env: bool,
) -> Result<Vec<(String, String)>, TaskError> {
    let mut env = spec_env.to_vec();
    env.extend([
        ("PLAIT_TASK".to_owned(), ctx.task().to_owned()),
        ("PLAIT_RUN_ID".to_owned(), ctx.run_id().to_owned()),
        ("PLAIT_ATTEMPT".to_owned(), ctx.attempt().to_string()),
        ("PLAIT_IDEMPOTENCY_KEY".to_owned(), ctx.idempotency_key()),
    ]);
    if !inputs_in_env {
        return Ok(env);
    }
    for ((name, _), text) in inputs.iter().zip(texts) {
        let variable = input_var(name);
        if text.len() > MAX_ENV_VALUE_BYTES {
            return Err(TaskError::permanent(format!(
                "input `{name}` is {} bytes, too long for environment variable `{variable}` \
                 (at most {MAX_ENV_VALUE_BYTES}): read it from stdin or from the file \
                 `${}` names, and set `env = false` on the task to keep its inputs out \
                 of the environment",
                text.len(),
                file_var(name),
            )));
        }
        env.push((variable, text.clone()));
    }
    Ok(env)
}

/// Inherited variables that belong to another task (see [`PER_TASK_PREFIX`]).
pub(crate) fn inherited_task_vars() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(PER_TASK_PREFIX) || name == RESULT_VAR || name == ERROR_VAR)
        .collect()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use plait_core::ValueType;

    use super::*;

    #[test]
    fn names_are_upper_cased_and_mangled() {
        let names = ["x", "out_dir", "max-size", "a.b c", "été2"].map(input_var);
        expect![[r#"["PLAIT_IN_X", "PLAIT_IN_OUT_DIR", "PLAIT_IN_MAX_SIZE", "PLAIT_IN_A_B_C", "PLAIT_IN__T_2"]"#]]
            .assert_eq(&format!("{names:?}"));
    }

    #[test]
    fn names_that_collide_are_problems() {
        let ports = ["max-size", "n", "max_size", "MAX.SIZE", "n-file"]
            .map(|name| Port::new(name, ValueType::Int));
        expect![[r#"
            inputs `max-size` and `max_size` both map to environment variable `PLAIT_IN_MAX_SIZE`: rename one
            inputs `max-size` and `MAX.SIZE` both map to environment variable `PLAIT_IN_MAX_SIZE`: rename one
            input `n-file` maps to environment variable `PLAIT_IN_N_FILE`, which names the file of input `n`: rename one"#]]
        .assert_eq(&collisions(&ports).join("\n"));
    }
}
