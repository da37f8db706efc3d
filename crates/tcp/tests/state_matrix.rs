//! Snapshot of the declared state × event matrix (s2n-quic style): any change to the state
//! machine shows up as a diff of `tests/snapshots/state_matrix.txt`.

#[test]
fn state_event_matrix_matches_snapshot() {
    let want = include_str!("snapshots/state_matrix.txt");
    let got = tcp::state::render_matrix();
    assert_eq!(got, want, "state matrix changed; new matrix:\n{got}");
}
