//! Classic libpcap capture files (the format tcpdump `-w` writes): a 24-byte global header,
//! then a 16-byte record header per packet. Microsecond timestamps come from the caller's
//! (virtual) clock, so the same seed gives the same file.

use std::io::{self, Read, Write};

/// Magic for microsecond-resolution files, written in our (little-endian) byte order.
pub const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snap length we announce (tcpdump's default, `MAXIMUM_SNAPLEN`).
pub const SNAPLEN: u32 = 262_144;

/// Writes a classic pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    sink: W,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header (version 2.4, UTC, Ethernet) and return the writer.
    pub fn new(mut sink: W) -> io::Result<Self> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&MAGIC_USEC.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay zero.
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        sink.write_all(&header)?;
        Ok(PcapWriter { sink })
    }

    /// Append one record. `captured` are the bytes seen (cut to the snap length);
    /// `orig_len` is the frame's length on the wire, which may be larger (a header-only
    /// capture of a devmem frame whose payload the kernel cannot read).
    pub fn write_packet(&mut self, ts_us: u64, captured: &[u8], orig_len: usize) -> io::Result<()> {
        let incl = captured.len().min(SNAPLEN as usize);
        if orig_len < captured.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pcap: original length shorter than captured bytes",
            ));
        }
        let secs = u32::try_from(ts_us / 1_000_000)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcap: timestamp overflow"))?;
        let orig = u32::try_from(orig_len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcap: length overflow"))?;
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&secs.to_le_bytes());
        record[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        record[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        record[12..16].copy_from_slice(&orig.to_le_bytes());
        self.sink.write_all(&record)?;
        self.sink.write_all(&captured[..incl])
    }

    /// Flush the sink.
    pub fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }

    /// The sink.
    pub fn into_inner(self) -> W {
        self.sink
    }
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapRecord {
    /// Timestamp in microseconds.
    pub ts_us: u64,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Original length on the wire.
    pub orig_len: usize,
}

/// A minimal classic-pcap reader for tests: either byte order, microsecond resolution.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    source: R,
    big_endian: bool,
    snaplen: u32,
    linktype: u32,
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<R: Read> PcapReader<R> {
    /// Read and validate the global header.
    pub fn new(mut source: R) -> io::Result<Self> {
        let mut h = [0u8; 24];
        source.read_exact(&mut h)?;
        let magic = [h[0], h[1], h[2], h[3]];
        let big_endian = if u32::from_le_bytes(magic) == MAGIC_USEC {
            false
        } else if u32::from_be_bytes(magic) == MAGIC_USEC {
            true
        } else {
            return Err(invalid(
                "pcap: bad magic (only classic microsecond pcap is supported)",
            ));
        };
        let mut r = PcapReader {
            source,
            big_endian,
            snaplen: 0,
            linktype: 0,
        };
        r.snaplen = r.u32(&h[16..20]);
        r.linktype = r.u32(&h[20..24]);
        Ok(r)
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    /// The announced snap length.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The link type.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The next record, or `None` at a clean end of file.
    pub fn next_packet(&mut self) -> io::Result<Option<PcapRecord>> {
        let mut h = [0u8; 16];
        let mut got = 0;
        while got < h.len() {
            let n = self.source.read(&mut h[got..])?;
            if n == 0 {
                return if got == 0 {
                    Ok(None)
                } else {
                    Err(invalid("pcap: truncated record header"))
                };
            }
            got += n;
        }
        let secs = u64::from(self.u32(&h[0..4]));
        let usecs = u64::from(self.u32(&h[4..8]));
        let incl = self.u32(&h[8..12]);
        let orig = self.u32(&h[12..16]);
        if incl > self.snaplen.max(SNAPLEN) || orig < incl {
            return Err(invalid("pcap: bad record lengths"));
        }
        let mut data = vec![0u8; incl as usize];
        self.source.read_exact(&mut data)?;
        Ok(Some(PcapRecord {
            ts_us: secs * 1_000_000 + usecs,
            data,
            orig_len: orig as usize,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    #[test]
    fn test_golden_header_and_record() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_packet(3_000_042, &[1, 2, 3], 10).unwrap();
        let bytes = w.into_inner();
        let expected: [u8; 43] = [
            0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
            0x02, 0x00, 0x04, 0x00, // version 2.4
            0, 0, 0, 0, // thiszone
            0, 0, 0, 0, // sigfigs
            0x00, 0x00, 0x04, 0x00, // snaplen 262144
            0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
            0x03, 0, 0, 0, // ts_sec 3
            0x2a, 0, 0, 0, // ts_usec 42
            0x03, 0, 0, 0, // incl_len 3
            0x0a, 0, 0, 0, // orig_len 10
            1, 2, 3, // data
        ];
        assert_eq!(&bytes[..], &expected[..]);
    }

    #[test]
    fn test_round_trip() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_packet(1, &[0xaa; 60], 60).unwrap();
        w.write_packet(2_500_000, &[0xbb; 54], 9000).unwrap();
        let bytes = w.into_inner();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.linktype(), LINKTYPE_ETHERNET);
        assert_eq!(r.snaplen(), SNAPLEN);
        let a = r.next_packet().unwrap().unwrap();
        assert_eq!((a.ts_us, a.data.len(), a.orig_len), (1, 60, 60));
        let b = r.next_packet().unwrap().unwrap();
        assert_eq!((b.ts_us, b.data.len(), b.orig_len), (2_500_000, 54, 9000));
        assert_eq!(r.next_packet().unwrap(), None);
    }

    #[test]
    fn test_rejects_bad_input() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        assert!(w.write_packet(0, &[0; 10], 5).is_err());
        assert!(PcapReader::new(&[0u8; 24][..]).is_err());
        assert!(PcapReader::new(&[0u8; 3][..]).is_err());
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_packet(0, &[0; 10], 10).unwrap();
        let bytes = w.into_inner();
        let mut r = PcapReader::new(&bytes[..bytes.len() - 3]).unwrap();
        assert!(r.next_packet().is_err());
    }
}
