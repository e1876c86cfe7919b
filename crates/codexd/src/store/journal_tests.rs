//! Tests of the journaled snapshot: replay, repair, faults injected on the write path, and
//! compaction in the background.

use super::*;

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Sum {
    total: i64,
    ops: u64,
}

impl State for Sum {
    type Op = i64;
    fn apply(&mut self, op: i64) {
        self.total += op;
        self.ops += 1;
    }
}

fn open(p: &Path) -> (Journaled<Sum>, Recovery) {
    Journaled::<Sum>::open(p.to_path_buf(), 1 << 20).unwrap()
}

#[test]
fn appends_survive_reopen_without_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    for i in 1..=10 {
        j.append(i, false).unwrap();
    }
    drop(j); // like a crash: no compaction, no sync
    assert!(!p.exists());
    let (j, rec) = open(&p);
    assert_eq!(j.state(), &Sum { total: 55, ops: 10 });
    assert_eq!(rec.replayed, 10);
}

#[test]
fn compaction_then_stale_journal_is_not_applied_twice() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(5, false).unwrap();
    j.append(7, false).unwrap();
    let journal = std::fs::read(journal_path(&p)).unwrap();
    j.compact().unwrap();
    drop(j);
    // Crash between snapshot rename and journal truncation: the old journal is back.
    std::fs::write(journal_path(&p), &journal).unwrap();
    let (j, rec) = open(&p);
    assert_eq!(j.state(), &Sum { total: 12, ops: 2 });
    assert_eq!(rec.replayed, 0);
}

#[test]
fn torn_journal_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, false).unwrap();
    j.append(2, false).unwrap();
    drop(j);
    let jp = journal_path(&p);
    let mut bytes = std::fs::read(&jp).unwrap();
    bytes.extend_from_slice(b"{\"seq\":3,\"op\":");
    std::fs::write(&jp, &bytes).unwrap();
    let (mut j, rec) = open(&p);
    assert_eq!(j.state().total, 3);
    assert!(rec.torn_bytes > 0);
    j.append(4, false).unwrap();
    drop(j);
    assert_eq!(open(&p).0.state().total, 7);
}

#[test]
fn corrupt_snapshot_is_moved_aside_and_journal_still_applies() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    std::fs::write(&p, b"{ this is not json").unwrap();
    std::fs::write(
        journal_path(&p),
        b"{\"seq\":1,\"op\":40}\n{\"seq\":2,\"op\":2}\n",
    )
    .unwrap();
    let (j, rec) = open(&p);
    assert_eq!(j.state().total, 42);
    let moved = rec.snapshot_moved_to.unwrap();
    assert_eq!(std::fs::read(&moved).unwrap(), b"{ this is not json");
    // What was recovered is already durable in a fresh snapshot.
    drop(j);
    std::fs::remove_file(journal_path(&p)).ok();
    assert_eq!(open(&p).0.state().total, 42);
}

#[test]
fn garbage_mid_journal_is_skipped_and_the_journal_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    std::fs::write(
        journal_path(&p),
        b"{\"seq\":1,\"op\":1}\nGARBAGE\n{\"seq\":2,\"op\":2}\n",
    )
    .unwrap();
    let (j, rec) = open(&p);
    assert_eq!(j.state().total, 3);
    assert_eq!(rec.skipped, 1);
    assert!(rec.journal_moved_to.unwrap().exists());
}

#[test]
fn journal_is_folded_once_larger_than_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = Journaled::<Sum>::open(p.clone(), 64).unwrap();
    for i in 0..100 {
        j.append(i, false).unwrap();
    }
    assert!(p.exists(), "snapshot written by compaction");
    let jlen = std::fs::metadata(journal_path(&p))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(jlen <= std::fs::metadata(&p).unwrap().len().max(64) + 32);
    drop(j);
    assert_eq!(open(&p).0.state().total, (0..100).sum::<i64>());
}

#[test]
fn a_failed_sync_does_not_hand_its_seq_to_the_next_op() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, true).unwrap();
    j.journal
        .faults
        .syncs
        .store(1, std::sync::atomic::Ordering::SeqCst);
    assert!(j.append(2, true).is_err());
    assert_eq!(j.state(), &Sum { total: 1, ops: 1 });
    j.append(3, true).unwrap();
    drop(j);
    // The acknowledged 3 is back, the failed 2 is not.
    assert_eq!(open(&p).0.state(), &Sum { total: 4, ops: 2 });
}

#[test]
fn a_failed_compaction_does_not_fail_the_op_that_was_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = Journaled::<Sum>::open(p.clone(), 64).unwrap();
    // A folder where the snapshot goes: every compaction fails, as on a broken disk.
    std::fs::create_dir(&p).unwrap();
    for i in 1..=20 {
        j.append(i, true).unwrap();
    }
    assert_eq!(j.state().total, 210);
    drop(j);
    std::fs::remove_dir(&p).unwrap();
    assert_eq!(open(&p).0.state().total, 210);
}

/// `Sum` with a copy for background compaction.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Copied {
    total: i64,
    ops: u64,
}

impl State for Copied {
    type Op = i64;
    fn apply(&mut self, op: i64) {
        self.total += op;
        self.ops += 1;
    }
    fn detach(&self) -> Option<Detached> {
        let copy = self.clone();
        Some(Box::new(move |w| {
            serde_json::to_writer(w, &copy).map_err(std::io::Error::other)
        }))
    }
}

fn set(counter: &std::sync::atomic::AtomicU32, n: u32) {
    counter.store(n, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn a_full_disk_fails_the_op_and_leaves_no_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, true).unwrap();
    set(&j.journal.faults.writes, 1);
    j.journal
        .faults
        .short
        .store(5, std::sync::atomic::Ordering::SeqCst);
    assert!(j.append(2, true).is_err());
    assert_eq!(j.state().total, 1);
    j.append(3, true).unwrap();
    drop(j);
    let (j, rec) = open(&p);
    assert_eq!(j.state(), &Sum { total: 4, ops: 2 });
    assert_eq!((rec.skipped, rec.torn_bytes), (0, 0));
}

#[test]
fn a_failed_sync_whose_cut_fails_too_is_cut_before_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, true).unwrap();
    set(&j.journal.faults.syncs, 1);
    set(&j.journal.faults.cuts, 1);
    assert!(j.append(2, true).is_err());
    // Still unable to cut: nothing is appended behind the failed line.
    set(&j.journal.faults.cuts, 1);
    assert!(j.append(3, true).is_err());
    j.append(4, true).unwrap();
    drop(j);
    assert_eq!(open(&p).0.state(), &Sum { total: 5, ops: 2 });
}

#[test]
fn an_empty_journal_beside_a_snapshot_written_with_a_header_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, false).unwrap();
    j.compact().unwrap();
    j.append(2, false).unwrap();
    drop(j);
    let (_, rec) = open(&p);
    assert!(!rec.journal_emptied);
    // Damage: the journal loses its content (the 2).
    std::fs::write(journal_path(&p), b"").unwrap();
    let (j, rec) = open(&p);
    assert!(rec.journal_emptied);
    assert_eq!(j.state().total, 1);
    // Reported once: the journal has its header again.
    drop(j);
    assert!(!open(&p).1.journal_emptied);
    std::fs::remove_file(journal_path(&p)).unwrap();
    assert!(open(&p).1.journal_emptied);
}

#[test]
fn an_empty_journal_with_no_snapshot_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    assert!(!open(&p).1.journal_emptied, "a new home is not damage");
    std::fs::write(journal_path(&p), b"").unwrap();
    assert!(open(&p).1.journal_emptied);
}

#[test]
fn a_journal_continuing_a_later_snapshot_reports_the_changes_lost() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = open(&p);
    j.append(1, false).unwrap();
    j.compact().unwrap();
    let old = std::fs::read(&p).unwrap();
    j.append(2, false).unwrap();
    j.compact().unwrap();
    j.append(4, false).unwrap();
    drop(j);
    // An older snapshot put back (a restored backup): change 2 is in neither file.
    std::fs::write(&p, old).unwrap();
    let (j, rec) = open(&p);
    assert_eq!(rec.lost_up_to, Some(2));
    assert_eq!(j.state().total, 5);
}

#[test]
fn appends_go_on_while_a_snapshot_is_written_and_survive_a_crash_at_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = Journaled::<Copied>::open(p.clone(), 64).unwrap();
    let (release, hold) = std::sync::mpsc::channel();
    *j.journal.faults.hold.lock().unwrap() = Some(hold);
    let mut total = 0;
    let mut n = 0;
    while !j.compacting() {
        n += 1;
        total += n;
        j.append(n, true).unwrap();
    }
    let reopen = || Journaled::<Copied>::open(p.clone(), 1 << 20).unwrap().0;
    // The snapshot is held: appends go on, and a crash now keeps every acknowledged op.
    for _ in 0..5 {
        n += 1;
        total += n;
        j.append(n, true).unwrap();
    }
    assert!(j.compacting());
    assert_eq!(reopen().state().total, total);
    release.send(()).unwrap();
    // Written but not yet taken in (the journal still holds the old ops): a crash now
    // applies nothing twice.
    while std::fs::metadata(&p).is_err() {
        std::thread::yield_now();
    }
    j.finish_compaction();
    assert!(!j.compacting());
    let journal = std::fs::read_to_string(journal_path(&p)).unwrap();
    assert_eq!(
        journal.lines().count(),
        6,
        "header and the 5 later ops: {journal}"
    );
    assert_eq!(reopen().state().total, total);
    n += 1;
    total += n;
    j.append(n, true).unwrap();
    drop(j);
    assert_eq!(
        reopen().state(),
        &Copied {
            total,
            ops: n as u64
        }
    );
}

#[test]
fn a_failed_background_compaction_keeps_the_journal_and_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    let (mut j, _) = Journaled::<Copied>::open(p.clone(), 64).unwrap();
    set(&j.journal.faults.snapshots, 1);
    let mut n = 0;
    while !j.compacting() {
        n += 1;
        j.append(n, true).unwrap();
    }
    j.finish_compaction();
    assert!(!p.exists());
    n += 1;
    j.append(n, true).unwrap();
    assert!(!j.compacting(), "not retried on the next append");
    // An explicit compaction (as at shutdown) tries again.
    j.compact().unwrap();
    drop(j);
    let (j, rec) = Journaled::<Copied>::open(p.clone(), 64).unwrap();
    assert_eq!(j.state().total, n * (n + 1) / 2);
    assert_eq!(rec.replayed, 0);
}

#[test]
fn a_rebuild_lands_in_the_snapshot_that_replaces_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    std::fs::write(&p, b"{\"format\":1,\"seq\":9,").unwrap();
    std::fs::write(journal_path(&p), b"{\"seq\":10,\"op\":2}\n").unwrap();
    let (j, rec) = Journaled::<Sum>::open_rebuilding(p.clone(), 1 << 20, |s, rec| {
        assert!(rec.snapshot_moved_to.is_some());
        Some(Sum {
            total: s.total + 40,
            ops: s.ops + 1,
        })
    })
    .unwrap();
    assert_eq!(j.state().total, 42);
    assert!(rec.snapshot_moved_to.is_some());
    drop(j);
    // Durable at once, and not rebuilt twice.
    let (j, rec) = Journaled::<Sum>::open_rebuilding(p.clone(), 1 << 20, |_, _| panic!()).unwrap();
    assert_eq!((j.state().total, rec.snapshot_moved_to), (42, None));
}

proptest::proptest! {
    #![proptest_config(crate::store::fuzz_config())]

    /// A damaged snapshot or journal never panics the loader nor stops it: what does not
    /// parse is moved aside byte for byte, and loading again finds nothing more to repair.
    #[test]
    fn fuzz_journaled_open(
        damage in crate::store::fuzz::damage(),
        in_snapshot in proptest::bool::ANY,
        ops in 1i64..20,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let (mut j, _) = open(&p);
        for i in 1..=ops {
            j.append(i, false).unwrap();
            if i == (ops + 1) / 2 {
                j.compact().unwrap();
            }
        }
        drop(j);
        let target = if in_snapshot { p.clone() } else { journal_path(&p) };
        let damaged = crate::store::fuzz::apply(&std::fs::read(&target).unwrap(), &damage);
        std::fs::write(&target, &damaged).unwrap();
        let (j, rec) = Journaled::<Sum>::open(p.clone(), 1 << 20).unwrap();
        for moved in [&rec.snapshot_moved_to, &rec.journal_moved_to].into_iter().flatten() {
            proptest::prop_assert_eq!(std::fs::read(moved).unwrap(), damaged.clone());
        }
        let state = j.state().total;
        drop(j);
        let (j, again) = Journaled::<Sum>::open(p.clone(), 1 << 20).unwrap();
        proptest::prop_assert_eq!(j.state().total, state);
        proptest::prop_assert!(again.snapshot_moved_to.is_none() && again.journal_moved_to.is_none());
        proptest::prop_assert!(!again.journal_emptied && again.torn_bytes == 0);
    }

    /// Arbitrary bytes as a snapshot and a journal.
    #[test]
    fn fuzz_journaled_open_arbitrary(
        snapshot in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        journal in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, &snapshot).unwrap();
        std::fs::write(journal_path(&p), &journal).unwrap();
        let (j, _) = Journaled::<Sum>::open(p.clone(), 1 << 20).unwrap();
        let state = j.state().total;
        drop(j);
        proptest::prop_assert_eq!(open(&p).0.state().total, state);
    }
}
