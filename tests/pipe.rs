//! `pipe` / `Connection`: boundaries, concurrent writers, big messages, passing ends
//! between processes, disconnection and limits.

mod common;

use common::bounded;
use forkpool::{Connection, Error, Process, pipe, pipe_oneway};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn messages_keep_their_boundaries_both_ways() {
    let (a, b) = pipe::<Vec<u8>>().unwrap();
    a.send(&vec![1, 2]).unwrap();
    a.send(&vec![]).unwrap();
    b.send(&vec![3]).unwrap();
    assert_eq!(b.recv().unwrap(), [1, 2]);
    assert_eq!(b.recv().unwrap(), Vec::<u8>::new());
    assert_eq!(a.recv().unwrap(), [3]);
    assert!(!a.poll(Duration::ZERO).unwrap());
    assert!(matches!(
        a.recv_timeout(Duration::from_millis(10)),
        Err(Error::Timeout)
    ));
}

#[test]
fn bytes_round_trip() {
    let (a, b) = pipe::<()>().unwrap();
    a.send_bytes(b"raw").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"raw");
}

#[test]
fn sixteen_mib_message_round_trips() {
    let (a, b) = pipe::<Vec<u8>>().unwrap();
    let big: Vec<u8> = (0..16 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let expect = big.clone();
    let sender = std::thread::spawn(move || a.send(&big));
    let got = bounded(LIMIT, move || b.recv()).unwrap();
    sender.join().unwrap().unwrap();
    assert_eq!(got, expect);
}

#[test]
fn five_processes_share_one_end_without_interleaving() {
    let (rx, tx) = pipe::<(u32, u32, Vec<u8>)>().unwrap();
    let writers: Vec<_> = (0..5u32)
        .map(|w| {
            let tx = tx.clone();
            Process::spawn(move || {
                for i in 0..1000u32 {
                    let len = 1024 + ((i * 7919 + w * 31) % (7 * 1024)) as usize;
                    tx.send(&(w, i, vec![(w * 13 + i) as u8; len])).unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    drop(tx);
    let counts = bounded(LIMIT, move || {
        let mut next = [0u32; 5];
        for _ in 0..5000 {
            let (w, i, body) = rx.recv().unwrap();
            assert_eq!(i, next[w as usize], "messages of one writer stay in order");
            assert!(
                body.iter().all(|&b| b == (w * 13 + i) as u8),
                "message arrived whole"
            );
            assert!((1024..8 * 1024).contains(&body.len()));
            next[w as usize] += 1;
        }
        next
    });
    assert_eq!(counts, [1000; 5]);
    for p in writers {
        p.join().unwrap();
    }
}

#[test]
fn a_connection_sent_through_a_connection_works_in_the_receiver() {
    let (ctl_parent, ctl_child) = pipe::<Connection<String>>().unwrap();
    let (data_parent, data_child) = pipe::<String>().unwrap();
    let p = Process::spawn(move || {
        let conn = ctl_child.recv().unwrap();
        conn.send(&"hello through a passed end".to_string())
            .unwrap();
        conn.recv().unwrap()
    })
    .unwrap();
    ctl_parent.send(&data_child).unwrap();
    drop(data_child);
    assert_eq!(
        bounded(LIMIT, {
            let d = data_parent.clone();
            move || d.recv()
        })
        .unwrap(),
        "hello through a passed end"
    );
    data_parent.send(&"reply".to_string()).unwrap();
    assert_eq!(bounded(LIMIT, move || p.join()).unwrap(), "reply");
}

#[test]
fn eof_after_the_peer_exits() {
    let (a, b) = pipe::<u8>().unwrap();
    let p = Process::spawn(move || {
        b.send(&1).unwrap();
    })
    .unwrap();
    bounded(LIMIT, move || p.join()).unwrap();
    assert_eq!(a.recv().unwrap(), 1);
    assert!(matches!(a.recv(), Err(Error::Disconnected)));
    assert!(a.poll(Duration::ZERO).unwrap(), "poll reports the end");
}

#[test]
fn send_to_a_closed_peer_is_disconnected_not_sigpipe() {
    let (a, b) = pipe::<u8>().unwrap();
    drop(b);
    assert!(matches!(a.send(&1), Err(Error::Disconnected)));
}

#[test]
fn oversize_messages_are_refused_on_both_sides() {
    let (a, b) = pipe::<Vec<u8>>().unwrap();
    a.set_max_message(1024);
    assert!(matches!(
        a.send(&vec![0; 4096]),
        Err(Error::MessageTooLarge { max: 1024, .. })
    ));
    b.set_max_message(100);
    a.set_max_message(1 << 20);
    a.send(&vec![0; 4096]).unwrap();
    assert!(matches!(b.recv(), Err(Error::Protocol(_))));
}

#[test]
fn one_way_pipe_refuses_the_wrong_direction() {
    let (r, w) = pipe_oneway::<u8>().unwrap();
    w.send(&5).unwrap();
    assert_eq!(r.recv().unwrap(), 5);
    assert!(r.send(&1).is_err());
}

#[test]
fn wrong_type_is_a_decode_error() {
    let (a, b) = pipe::<String>().unwrap();
    a.send_bytes(&[0xff, 0xff, 0xff]).unwrap();
    assert!(matches!(b.recv(), Err(Error::Decode(_))));
}

#[test]
fn pipe_and_process_leave_no_fd_or_zombie() {
    let checker = Process::spawn(|| {
        let me = std::process::id();
        let (fds, kids) = (common::open_fds(), common::children_of(me));
        {
            let (a, b) = pipe::<u32>().unwrap();
            let p = Process::spawn(move || b.send(&9).unwrap()).unwrap();
            assert_eq!(a.recv().unwrap(), 9);
            p.join().unwrap();
        }
        (fds == common::open_fds(), kids == common::children_of(me))
    })
    .unwrap();
    assert_eq!(
        bounded(LIMIT, move || checker.join()).unwrap(),
        (true, true)
    );
}

fn greet_both(conns: Vec<Connection<String>>, name: String) -> usize {
    for (k, c) in conns.iter().enumerate() {
        c.send(&format!("{name} {k}")).unwrap();
    }
    conns.len()
}

/// Several ends in one value (and in each task of a chunk) each reach their own place.
#[test]
fn several_connections_in_one_value_keep_their_places() {
    let pool = forkpool::Pool::new(2).unwrap();
    let ends: Vec<_> = (0..4).map(|_| pipe::<String>().unwrap()).collect();
    let (mine, theirs): (Vec<_>, Vec<_>) = ends.into_iter().unzip();
    let mut theirs = theirs.into_iter();
    let tasks: Vec<_> = (0..2)
        .map(|t| {
            (
                theirs.by_ref().take(2).collect::<Vec<_>>(),
                format!("task {t}"),
            )
        })
        .collect();
    let sent = bounded(LIMIT, move || pool.starmap_chunked(greet_both, tasks, 2)).unwrap();
    assert_eq!(sent, [2, 2]);
    let got: Vec<String> = mine.iter().map(|c| c.recv().unwrap()).collect();
    assert_eq!(got, ["task 0 0", "task 0 1", "task 1 0", "task 1 1"]);
}
