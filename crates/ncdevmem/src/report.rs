//! How ncdevmem talks: `pr_err()` lines, strerror text, and YNL's error strings.

use std::io::Write;

/// glibc's `strerror()` text for `errno`, from the one table in `uapi::errno`.
pub fn strerror(errno: i32) -> String {
    uapi::errno::strerror(errno).to_string()
}

/// Kernel: `pr_err()` in ncdevmem.c: `ncdevmem: <msg>[: <strerror(errno)>]`. The C
/// code appends whatever `errno` holds; here the caller says which errno is meant.
pub fn pr_err(w: &mut dyn Write, msg: &str, errno: Option<i32>) {
    let _ = match errno {
        Some(e) if e != 0 => writeln!(w, "ncdevmem: {msg}: {}", strerror(e)),
        _ => writeln!(w, "ncdevmem: {msg}"),
    };
}

/// The text YNL's C library keeps in `ys->err.msg` for a failed request: the kernel's
/// extack message in quotes, or the transport failure.
pub fn ynl_msg(e: &devmem::Error) -> String {
    match e {
        devmem::Error::Netlink(n) => match n.msg.as_deref() {
            Some(m) => format!("Kernel error: '{m}'"),
            None => format!("Kernel error: {}", strerror(n.errno)),
        },
        other => other.to_string(),
    }
}

/// The errno a failed request leaves behind (what `perror()` then prints).
pub fn errno_of(e: &devmem::Error) -> Option<i32> {
    e.errno()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pr_err_appends_strerror() {
        let mut v = Vec::new();
        pr_err(&mut v, "Failed to bind", Some(95));
        pr_err(&mut v, "client exited", None);
        pr_err(&mut v, "zero errno", Some(0));
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "ncdevmem: Failed to bind: Operation not supported\n\
             ncdevmem: client exited\nncdevmem: zero errno\n"
        );
        assert_eq!(strerror(22), "Invalid argument");
    }
}
