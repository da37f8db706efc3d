//! `nkdevmem demo [--driver D]`: the cover letter's story on the emulator, told by
//! emulated processes (ncdevmem, socat) on the nk_devmem topology.

use std::process::ExitCode;

use selftests::config::Driver;

/// Demo options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// NIC driver profile: bnxt, gve, mlx5e, fbnic.
    #[arg(long, default_value = "bnxt")]
    pub driver: String,
}

/// Prints the report; exit 1 if the story did not unfold as the series describes.
pub fn run(a: Args) -> ExitCode {
    let driver = match Driver::parse(&a.driver) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("nkdevmem demo: {e}");
            return ExitCode::from(2);
        }
    };
    match selftests::demo::run(driver) {
        Ok(r) => {
            print!("{}", r.text);
            match r.check() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nkdevmem demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("nkdevmem demo: {e}");
            ExitCode::FAILURE
        }
    }
}
