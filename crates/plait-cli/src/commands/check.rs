//! `plait check FILE`: validation only.

use std::path::Path;

use plait_spec::SpecError;

use crate::exit;
use crate::render::json::{self, CheckView};

pub(crate) fn check(file: &Path, as_json: bool) -> u8 {
    if as_json {
        return check_json(file);
    }
    match super::load_showing(file, usize::MAX) {
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

/// Every problem as one JSON object on stdout; exit 2 only if one is an error.
fn check_json(file: &Path) -> u8 {
    let view = match plait_spec::load_path(file) {
        Ok(loaded) => CheckView::from_diagnostics(&loaded.warnings),
        Err(SpecError::Invalid { diagnostics }) => CheckView::from_diagnostics(&diagnostics),
        Err(error @ SpecError::Read { .. }) => CheckView::unreadable(file, &error),
    };
    json::print(&view);
    match view.has_errors() {
        true => exit::BAD_INPUT,
        false => exit::OK,
    }
}
