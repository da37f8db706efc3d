//! The command-line tools the selftests (and ncdevmem) run, as emulated programs.
//!
//! Each tool takes its argv and the emulated kernel and answers with what the real
//! tool would print and its exit status. Only the invocations the selftests use are
//! implemented; anything else is a usage error, as the real tool would report it.

pub mod coreutils;
pub mod ethtool;
pub mod sh;
pub mod shell;
pub mod socat;

/// What a finished command left: exit status, stdout, stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdOutput {
    /// Exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CmdOutput {
    /// Success with `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Self {
        CmdOutput {
            status: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// Failure with status `status` and `stderr`.
    pub fn err(status: i32, stderr: impl Into<String>) -> Self {
        CmdOutput {
            status,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }
}

/// Splits a command line into words the way `sh` would for the simple commands the
/// tests run: blanks separate words, redirections (`>&2`, `2>&1`, `>/dev/null`) are
/// dropped, and single or double quotes group.
pub fn split_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for ch in cmd.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                in_word = true;
            }
            None if ch.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(ch);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words.retain(|w| !is_redirection(w));
    words
}

fn is_redirection(w: &str) -> bool {
    let w = w.trim_start_matches(|c: char| c.is_ascii_digit());
    w.starts_with('>') || w.starts_with('<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_redirections() {
        assert_eq!(
            split_words("ethtool -X eth0 equal 1 >&2"),
            vec!["ethtool", "-X", "eth0", "equal", "1"]
        );
        assert_eq!(
            split_words("ethtool -N eth0 flow-type tcp6   dst-ip  2001:db8::1 2>&1"),
            vec![
                "ethtool",
                "-N",
                "eth0",
                "flow-type",
                "tcp6",
                "dst-ip",
                "2001:db8::1"
            ]
        );
        assert_eq!(split_words("echo 'a b' \"c\""), vec!["echo", "a b", "c"]);
    }
}
