//! memfd-backed shared memory, mapped once into this process.
//!
//! This is the backing store of an emulated dmabuf and of the udmabuf a real-kernel run exports:
//! the same bytes are visible to every process holding the memfd. Because another process may
//! write the mapping at any moment, no `&[u8]` into it is ever handed out; all access copies
//! through the raw mapping pointer.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::{self, NonNull};

use crate::sys::cvt;

/// Bytes one `memcpy` call moves in a bulk copy of payload ([`SharedMem::read_append`], the
/// NIC's TX gather; the emulator's recvmsg copy): glibc switches copies of a page and more to
/// `rep movsb`, which some CPUs (AMD Zen 3 among them) run well below their vector-copy speed
/// when source and destination alignments differ, as payload behind a frame's headers does.
pub const COPY_CHUNK: usize = 2048;

/// An access outside the mapping: `offset + len` runs past `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds {
    /// First byte asked for.
    pub offset: usize,
    /// Number of bytes asked for.
    pub len: usize,
    /// Size of the mapping.
    pub size: usize,
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "range {}+{} out of bounds of {}-byte shared memory",
            self.offset, self.len, self.size
        )
    }
}

impl std::error::Error for OutOfBounds {}

/// A memfd and its one shared read-write mapping.
///
/// `Send` (the mapping belongs to the process, any thread may use it) but not `Sync`: two
/// threads copying into the same bytes through `&self` would race with no ordering at all.
/// Cross-process writers are outside Rust's model anyway; callers order them with their own
/// protocol (as ncdevmem does with `DMA_BUF_IOCTL_SYNC` brackets).
pub struct SharedMem {
    fd: OwnedFd,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is process-wide memory, not tied to the creating thread; the raw pointer
// is only dereferenced inside bounds-checked copies. Not `Sync`: see the type docs.
unsafe impl Send for SharedMem {}

impl SharedMem {
    /// Creates a `len`-byte memfd named `name` and maps it.
    ///
    /// Syscalls, in the order ncdevmem's udmabuf provider uses them:
    /// - `memfd_create(MFD_ALLOW_SEALING | MFD_CLOEXEC)`: anonymous, fd-passable memory that
    ///   udmabuf accepts (it requires a memfd) and that does not leak into exec'd children;
    /// - `fcntl(F_ADD_SEALS, F_SEAL_SHRINK)`: udmabuf refuses memfds that could shrink, and a
    ///   shrink under a live mapping would turn our copies into SIGBUS;
    /// - `ftruncate(len)`: sizes the file sparsely, so even 1 GiB costs no pages until touched;
    /// - `mmap(MAP_SHARED, PROT_READ | PROT_WRITE)`: one mapping whose stores every other mapper
    ///   of the memfd sees. No `MAP_POPULATE`, again so that creation does not touch pages.
    pub fn new(name: &str, len: usize) -> io::Result<Self> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared memory length must be non-zero (mmap rejects 0)",
            ));
        }
        let cname = CString::new(name).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "memfd name contains a NUL byte",
            )
        })?;
        let size = libc::off_t::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length exceeds off_t"))?;
        // SAFETY: `cname` is a valid NUL-terminated string for the duration of the call.
        let raw = cvt(unsafe {
            libc::memfd_create(cname.as_ptr(), libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC)
        })?;
        // SAFETY: memfd_create just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: F_ADD_SEALS takes an int seal mask; `fd` is live.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) })?;
        // SAFETY: plain syscall on a live descriptor.
        cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), size) })?;
        Self::map(fd, len)
    }

    /// Maps an existing memfd received from another process (e.g. over SCM_RIGHTS).
    ///
    /// The size comes from `fstat`. Before mapping we make sure `F_SEAL_SHRINK` is set (adding
    /// it if the sender did not): without it the other side could truncate the file and our
    /// copies would fault with SIGBUS. A descriptor that cannot be sealed (not a memfd, or
    /// `F_SEAL_SEAL` already set without `F_SEAL_SHRINK`) is refused with the kernel's errno.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        // SAFETY: F_GET_SEALS takes no argument.
        let seals = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })?;
        if seals & libc::F_SEAL_SHRINK == 0 {
            // SAFETY: F_ADD_SEALS takes an int seal mask; `fd` is live.
            cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) })?;
        }
        // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid, writable `stat` buffer.
        cvt(unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) })?;
        let len = usize::try_from(st.st_size).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidData, "memfd reports a negative size")
        })?;
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "memfd is empty; nothing to map",
            ));
        }
        Self::map(fd, len)
    }

    /// Kernel: `mmap(2)` with `MAP_SHARED`; see [`SharedMem::new`].
    fn map(fd: OwnedFd, len: usize) -> io::Result<Self> {
        // SAFETY: we ask for a fresh mapping (addr NULL) of a live fd; no existing memory is
        // affected. The result is checked against MAP_FAILED before use.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a NULL mapping"))?;
        Ok(Self { fd, ptr, len })
    }

    /// Size of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a zero-length mapping cannot be created.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The memfd, to pass to udmabuf or to another process.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Checks `offset..offset + len` lies inside the mapping.
    fn check(&self, offset: usize, len: usize) -> Result<(), OutOfBounds> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(OutOfBounds {
                offset,
                len,
                size: self.len,
            }),
        }
    }

    /// Copies `dst.len()` bytes starting at `offset` out of the shared memory.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), OutOfBounds> {
        self.check(offset, dst.len())?;
        // SAFETY: the range was bounds-checked against the live mapping; `dst` is a distinct
        // Rust buffer, so source and destination cannot overlap.
        unsafe {
            ptr::copy_nonoverlapping(self.ptr.as_ptr().add(offset), dst.as_mut_ptr(), dst.len());
        }
        Ok(())
    }

    /// Appends `len` bytes starting at `offset` to `out`, copying straight into its spare
    /// capacity (no zero-fill first: [`read_at`](Self::read_at) into a resized `Vec` writes
    /// every byte twice). Inlined into its callers (the TX gather, the recvmsg copy), which
    /// then skip a call and the `Result` round trip per copy.
    #[inline]
    pub fn read_append(
        &self,
        offset: usize,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), OutOfBounds> {
        self.check(offset, len)?;
        out.reserve(len);
        let start = out.len();
        // SAFETY: the source range was bounds-checked against the live mapping; reserve()
        // left at least `len` bytes of spare capacity after `start`, which the copy fully
        // initialises before set_len exposes them; the buffers are distinct.
        unsafe {
            let src = self.ptr.as_ptr().add(offset);
            let dst = out.as_mut_ptr().add(start);
            // In COPY_CHUNK pieces: see COPY_CHUNK.
            let mut done = 0;
            while done < len {
                let n = (len - done).min(COPY_CHUNK);
                ptr::copy_nonoverlapping(src.add(done), dst.add(done), n);
                done += n;
            }
            out.set_len(start + len);
        }
        Ok(())
    }

    /// Copies `src` into the shared memory at `offset`.
    pub fn write_at(&self, offset: usize, src: &[u8]) -> Result<(), OutOfBounds> {
        self.check(offset, src.len())?;
        // SAFETY: bounds-checked range of a PROT_WRITE mapping; `src` is a distinct buffer.
        unsafe {
            ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(offset), src.len());
        }
        Ok(())
    }

    /// Sets `len` bytes at `offset` to `byte`.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<(), OutOfBounds> {
        self.check(offset, len)?;
        // SAFETY: bounds-checked range of a PROT_WRITE mapping.
        unsafe { ptr::write_bytes(self.ptr.as_ptr().add(offset), byte, len) };
        Ok(())
    }
}

impl AsFd for SharedMem {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for SharedMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMem")
            .field("fd", &self.fd.as_raw_fd())
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping created in `map`, and no reference
        // into it exists (we never hand out borrows), so unmapping cannot dangle anything.
        // munmap of a valid mapping cannot fail; the memfd closes after this via OwnedFd.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_two_mappings_of_one_memfd() {
        let a = SharedMem::new("shm-test", 8192).expect("memfd");
        let b = SharedMem::from_fd(a.as_fd().try_clone_to_owned().expect("dup")).expect("map");
        assert_eq!(b.len(), 8192);
        a.write_at(4090, b"hello, devmem").expect("in bounds");
        let mut got = [0u8; 13];
        b.read_at(4090, &mut got).expect("in bounds");
        assert_eq!(&got, b"hello, devmem");
        // And the other way round, through fill.
        b.fill(100, 3, 0xab).expect("in bounds");
        let mut got = [0u8; 5];
        a.read_at(99, &mut got).expect("in bounds");
        assert_eq!(got, [0, 0xab, 0xab, 0xab, 0]);
    }

    #[test]
    fn out_of_bounds_is_an_error_not_a_fault() {
        let m = SharedMem::new("shm-oob", 4096).expect("memfd");
        let oob = OutOfBounds {
            offset: 4090,
            len: 7,
            size: 4096,
        };
        assert_eq!(m.write_at(4090, &[1; 7]), Err(oob));
        assert_eq!(m.read_at(4090, &mut [0; 7]), Err(oob));
        assert_eq!(m.fill(4090, 7, 1), Err(oob));
        assert!(m.fill(usize::MAX, 2, 1).is_err(), "overflowing offset");
        assert_eq!(m.fill(4096, 0, 1), Ok(()), "empty range at the end is fine");
        assert_eq!(m.write_at(4089, &[9; 7]), Ok(()));
    }

    #[test]
    fn one_gib_is_sparse_and_cheap() {
        let m = SharedMem::new("shm-1g", 1 << 30).expect("1 GiB memfd");
        assert_eq!(m.len(), 1 << 30);
        m.write_at((1 << 30) - 4, &[1, 2, 3, 4])
            .expect("last bytes");
        let mut got = [0u8; 4];
        m.read_at((1 << 30) - 4, &mut got).expect("last bytes");
        assert_eq!(got, [1, 2, 3, 4]);
    }

    #[test]
    fn from_fd_seals_and_rejects_non_memfd() {
        let m = SharedMem::new("shm-seal", 4096).expect("memfd");
        // SAFETY: F_GET_SEALS takes no argument.
        let seals = unsafe { libc::fcntl(m.as_fd().as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals & libc::F_SEAL_SHRINK, libc::F_SEAL_SHRINK);
        let file = std::fs::File::open("/proc/self/exe").expect("exe");
        assert!(
            SharedMem::from_fd(file.into()).is_err(),
            "regular file has no seals"
        );
        assert!(SharedMem::new("bad\0name", 4096).is_err());
        assert!(SharedMem::new("zero", 0).is_err());
    }
}
