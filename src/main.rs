//! The `fas` command: a thin CLI over the library (see src/cli).

fn main() {
    std::process::exit(fas::cli::run());
}
