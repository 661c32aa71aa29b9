//! The `zkoracle` command-line program.

mod cmd;

fn main() -> std::process::ExitCode {
    cmd::run()
}
