//! `plait check FILE`: validation only.

use std::path::Path;

use crate::exit;

pub(crate) fn check(file: &Path) -> u8 {
    match super::load(file) {
        Ok(loaded) => {
            let plan = &loaded.plan;
            eprintln!(
                "`{}` is valid: {} task(s), {} input(s), {} output(s)",
                file.display(),
                plan.n_tasks(),
                plan.inputs().len(),
                plan.outputs().len()
            );
            exit::OK
        }
        Err(code) => code,
    }
}
