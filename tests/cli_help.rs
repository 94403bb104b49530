//! Every command and every flag says what it is in `--help` (a flag without a
//! description is a question a new user has to ask someone).

use clap::CommandFactory;

#[test]
fn every_command_and_flag_has_a_description() {
    let cli = fas::cli::Cli::command();
    let mut missing = Vec::new();
    for cmd in cli.get_subcommands() {
        if cmd.get_about().is_none() {
            missing.push(format!("fas {}", cmd.get_name()));
        }
        for arg in cmd.get_arguments() {
            if arg.get_id() == "help" || arg.get_id() == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("fas {} {}", cmd.get_name(), arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "no description: {missing:?}");
    let serve = cli.find_subcommand("serve").unwrap();
    let after = serve
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(
        after.contains("FAS_APP_NAME") && after.contains("\"Configuration\""),
        "serve --help must point to the FAS_* list: {after}"
    );
}
