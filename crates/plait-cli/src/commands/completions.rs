//! `plait completions SHELL`: a completion script, generated from the command line's
//! definition, so it knows every subcommand and option.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit;

pub(crate) fn completions(shell: clap_complete::Shell) -> u8 {
    clap_complete::generate(shell, &mut Cli::command(), "plait", &mut std::io::stdout());
    exit::OK
}
