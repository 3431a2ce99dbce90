//! TCP socket states through the kernel's sock_diag netlink interface, as
//! `ss` gets them.
//!
//! The kernel answers both /proc/net/tcp and a sock_diag dump by walking
//! every bucket of the TCP established hash, a table sized by RAM (262 144
//! buckets on the 24 GB development VM). Through /proc one read of one
//! table cost 4.5 ms there, and psutil reads two per tick; one sock_diag
//! dump filtered to the four counted states cost 0.15 ms back to back and
//! 0.23 ms every 0.5 s. The dump uses the original `TCPDIAG_GETSOCK`
//! request, still served by every kernel, because it alone dumps IPv4 and
//! IPv6 in one walk (the newer request takes one family at a time: twice
//! the walk).

use std::io::{self, Read};

use socket2::{Domain, Protocol, Socket, Type};

use super::connections::TcpStates;

const NETLINK_SOCK_DIAG: i32 = 4;
/// The request and answer message type: `TCPDIAG_GETSOCK`.
const TCPDIAG_GETSOCK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HEADER_LEN: usize = 16;

/// Kernel TCP state numbers (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 1;
const TCP_SYN_SENT: u8 = 2;
const TCP_SYN_RECV: u8 = 3;
const TCP_LISTEN: u8 = 10;
const COUNTED_STATES: u32 = 1 << TCP_ESTABLISHED | 1 << TCP_SYN_SENT | 1 << TCP_SYN_RECV | 1 << TCP_LISTEN;

/// Room for one answer batch: the kernel sizes its first batch to a page
/// and the next ones to the reader's buffer, at most 32 KiB less its own
/// overhead, so this holds any batch whatever the number of sockets.
const RECEIVE_BUFFER: usize = 32 * 1024;

/// The kernel answers at once; a wait this long means something is wrong,
/// and the collecting thread must not hang on it.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A sock_diag socket and its receive buffer, kept between refreshes.
pub struct SockDiag {
    socket: Socket,
    buf: Vec<u8>,
}

impl SockDiag {
    pub fn open() -> io::Result<SockDiag> {
        SockDiag::over(Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(NETLINK_SOCK_DIAG)),
        )?)
    }

    /// Dumps through `socket` (tests give other sockets, to make a dump
    /// fail or never answer).
    fn over(socket: Socket) -> io::Result<SockDiag> {
        socket.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(SockDiag {
            socket,
            buf: vec![0u8; RECEIVE_BUFFER],
        })
    }

    /// One whose every dump fails at once (its socket is an unconnected
    /// UDP socket: `send` has nowhere to go), to reach the callers' fallback.
    #[cfg(test)]
    pub fn failing() -> SockDiag {
        SockDiag::over(Socket::new(Domain::IPV4, Type::DGRAM, None).expect("a UDP socket"))
            .expect("its read timeout set")
    }

    /// Count the IPv4 and IPv6 TCP sockets in the states the plugin
    /// reports. After an error the socket may hold the rest of an answer:
    /// drop it.
    pub fn tcp_states(&mut self) -> io::Result<TcpStates> {
        self.socket.send(&dump_request())?;
        let mut states = TcpStates::default();
        loop {
            let len = (&self.socket).read(&mut self.buf)?;
            if len == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if count_batch(&self.buf[..len], &mut states)? == Batch::Done {
                return Ok(states);
            }
        }
    }
}

/// The dump request: struct nlmsghdr, then struct inet_diag_req (60
/// bytes) with its family left AF_UNSPEC (both), its socket id zeroed (any
/// socket) and the states to report.
fn dump_request() -> [u8; 76] {
    let mut msg = [0u8; 76];
    msg[0..4].copy_from_slice(&76u32.to_ne_bytes());
    msg[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    msg[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    // 8: sequence and port id, 16: family, address lengths, extensions,
    // 20: the socket id (48 bytes), 68: the states, 72: unused
    msg[68..72].copy_from_slice(&COUNTED_STATES.to_ne_bytes());
    msg
}

#[derive(Debug, PartialEq)]
enum Batch {
    More,
    Done,
}

/// Add the sockets of one received batch of netlink messages to `states`.
/// Each message is a struct inet_diag_msg whose second byte is the state.
fn count_batch(mut batch: &[u8], states: &mut TcpStates) -> io::Result<Batch> {
    let malformed = || io::Error::new(io::ErrorKind::InvalidData, "malformed sock_diag answer");
    while !batch.is_empty() {
        let header = batch.get(..NLMSG_HEADER_LEN).ok_or_else(malformed)?;
        let len = u32::from_ne_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let kind = u16::from_ne_bytes(header[4..6].try_into().expect("2 bytes"));
        // A length under the header's is malformed too (`get` of an
        // inverted range is None), so each turn moves on.
        let payload = batch.get(NLMSG_HEADER_LEN..len).ok_or_else(malformed)?;
        match kind {
            NLMSG_DONE => return Ok(Batch::Done),
            NLMSG_ERROR => {
                let code = payload.get(..4).ok_or_else(malformed)?;
                let code = i32::from_ne_bytes(code.try_into().expect("4 bytes"));
                return Err(io::Error::from_raw_os_error(-code));
            }
            TCPDIAG_GETSOCK => match *payload.get(1).ok_or_else(malformed)? {
                TCP_LISTEN => states.listen += 1,
                TCP_ESTABLISHED => states.established += 1,
                TCP_SYN_SENT => states.syn_sent += 1,
                TCP_SYN_RECV => states.syn_recv += 1,
                _ => {}
            },
            _ => {}
        }
        // Messages are aligned on 4 bytes; the last one may end the batch
        // without its padding.
        let aligned = len.div_ceil(4) * 4;
        batch = &batch[aligned.min(batch.len())..];
    }
    Ok(Batch::More)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A netlink message of `kind` with `payload`, padded to 4 bytes.
    fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = NLMSG_HEADER_LEN + payload.len();
        let mut m = (len as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(payload);
        m.resize(len.div_ceil(4) * 4, 0);
        m
    }

    /// A struct inet_diag_msg (72 bytes) for a socket in `state`.
    fn socket_in(state: u8) -> Vec<u8> {
        let mut msg = vec![0u8; 72];
        msg[0] = libc::AF_INET as u8;
        msg[1] = state;
        message(TCPDIAG_GETSOCK, &msg)
    }

    #[test]
    fn a_dump_that_never_answers_is_an_error_after_the_timeout() {
        // A UDP socket whose peer on loopback never answers: the request
        // goes out, and no answer comes back.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("a UDP socket");
        socket
            .connect(&silent.local_addr().expect("address").into())
            .expect("connect");
        let mut diag = SockDiag::over(socket).expect("a timeout");
        let (done, waited) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let _ = done.send((diag.tcp_states(), started.elapsed()));
        });
        let (answer, after) = waited
            .recv_timeout(READ_TIMEOUT * 5)
            .expect("the dump ends within five timeouts");
        let kind = answer.expect_err("no answer is an error").kind();
        assert!(
            matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
            "{kind:?}"
        );
        assert!(after >= READ_TIMEOUT / 2, "gave up after {after:?}: not by the timeout");
        drop(silent);
    }

    #[test]
    fn a_batch_counts_the_four_states_and_ends_at_done() {
        let mut batch = Vec::new();
        for state in [TCP_LISTEN, TCP_LISTEN, TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, 6] {
            batch.extend(socket_in(state));
        }
        let mut states = TcpStates::default();
        assert_eq!(count_batch(&batch, &mut states).unwrap(), Batch::More);
        assert_eq!(
            states,
            TcpStates {
                listen: 2,
                established: 1,
                syn_sent: 1,
                syn_recv: 1
            }
        );
        batch.extend(message(NLMSG_DONE, &[0; 4]));
        batch.extend(socket_in(TCP_LISTEN)); // after DONE: not counted
        let mut states = TcpStates::default();
        assert_eq!(count_batch(&batch, &mut states).unwrap(), Batch::Done);
        assert_eq!(states.listen, 2);
    }

    #[test]
    fn an_error_message_and_truncated_batches_are_errors() {
        let error = message(NLMSG_ERROR, &(-libc::EACCES).to_ne_bytes());
        let err = count_batch(&error, &mut TcpStates::default()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));

        let whole = socket_in(TCP_LISTEN);
        for cut in [3, NLMSG_HEADER_LEN + 1, whole.len() - 1] {
            let err = count_batch(&whole[..cut], &mut TcpStates::default()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "cut at {cut}");
        }
        let mut zero_length = message(TCPDIAG_GETSOCK, &[]);
        zero_length[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(count_batch(&zero_length, &mut TcpStates::default()).is_err());
    }

    #[test]
    fn the_request_asks_a_dump_of_both_families_in_the_counted_states() {
        let r = dump_request();
        assert_eq!(&r[..4], &(r.len() as u32).to_ne_bytes());
        assert_eq!(&r[4..6], &18u16.to_ne_bytes());
        assert_eq!(&r[6..8], &0x301u16.to_ne_bytes());
        assert_eq!(r[16], libc::AF_UNSPEC as u8);
        // LISTEN (10), SYN_RECV (3), SYN_SENT (2), ESTABLISHED (1)
        assert_eq!(&r[68..72], &0x40eu32.to_ne_bytes());
        assert!(r[8..68].iter().chain(&r[72..]).all(|&b| b == 0));
    }

    fn from_proc_tables() -> TcpStates {
        let tcp = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        let tcp6 = std::fs::read_to_string("/proc/net/tcp6").ok();
        TcpStates::parse(&tcp, tcp6.as_deref()).expect("well-formed tables")
    }

    #[test]
    fn the_host_dump_agrees_with_proc_net_tcp_and_sees_our_sockets() {
        // 64 connections: 128 established sockets, an answer of several
        // batches (the first one is a page).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let pairs: Vec<_> = (0..64)
            .map(|_| {
                let client = std::net::TcpStream::connect(listener.local_addr().unwrap());
                (client.unwrap(), listener.accept().unwrap())
            })
            .collect();
        let listener6 = std::net::TcpListener::bind("[::1]:0"); // absent without IPv6
        // One socket for every dump, as the plugin holds it.
        let mut diag = SockDiag::open().expect("sock_diag socket");
        let dumped = diag.tcp_states().expect("sock_diag dump");
        let our_listeners = 1 + listener6.is_ok() as u64;
        assert!(dumped.listen >= our_listeners, "{dumped:?}");
        assert!(dumped.established >= 2 * pairs.len() as u64, "{dumped:?}");
        // Other tests open and close sockets meanwhile: compare only when
        // the tables did not change around the dump.
        let agreed = (0..50).any(|_| {
            let before = from_proc_tables();
            let dumped = diag.tcp_states().expect("sock_diag dump");
            before == dumped && from_proc_tables() == before
        });
        assert!(agreed, "sock_diag never matched a steady /proc/net/tcp{{,6}}");
    }
}
