//! Arbitrary datagrams through every client-side decoder: the message walker, the
//! genl header, attribute recursion, NLMSG_ERROR/DONE decoding, the controller parser
//! and the request tracker. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlink::attr::Attr;
use netlink::client::{Request, parse_done, parse_error};
use netlink::family::ctrl::parse_family;
use netlink::msg::messages;

/// Walks nests to the bottom, reading every attribute with every getter.
fn walk(a: &Attr<'_>, depth: usize) {
    let _ = (
        a.u8(),
        a.u16(),
        a.u32(),
        a.u64(),
        a.s32(),
        a.uint(),
        a.sint(),
        a.str(),
    );
    if depth < 32 {
        for inner in a.attrs().flatten() {
            walk(&inner, depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for m in messages(data).flatten() {
        if let Ok((_, attrs)) = m.genl_attrs() {
            for a in attrs.flatten() {
                walk(&a, 0);
            }
        }
        let _ = parse_error(m.hdr.nlmsg_flags, m.payload);
        let _ = parse_done(m.hdr.nlmsg_flags, m.payload);
        let _ = parse_family(&m);
    }
    // The tracker, for a do and a dump keyed on the first message's seq.
    let seq = data
        .get(8..12)
        .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
    for (dump, ack) in [(false, false), (false, true), (true, false)] {
        let mut r = Request::new(seq, dump, ack);
        let _ = r.handle_datagram(data);
    }
});
