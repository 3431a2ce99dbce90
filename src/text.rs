//! A response body kept as shared pieces of text.
//!
//! `/all` and `/all/views` are every plugin's text between a few separators.
//! Copying them into one buffer per update, and then into actix's write
//! buffer as one 145 KB chunk, cost page faults and an `munmap` for each of
//! the two fresh buffers on every dashboard poll (14 % of the HTTP thread's
//! CPU in a profile with a dashboard open). As pieces, the texts are not
//! copied until actix writes them, and actix takes them a slice at a time,
//! so its write buffer stays small enough to be reused from the heap. Short
//! texts are still joined, once per update (see [`ONE_PIECE`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// At most this much is handed to actix at a time: it writes its buffer
/// out once it holds 32 KiB, so the buffer never grows past about 48 KiB.
/// (Writing at 64 KiB sends `/all/views` in three writes instead of five,
/// but the buffer then doubles to 128 KiB, glibc's mmap threshold: the
/// dashboard cost 5 % more in four paired 40 s runs.)
const SLICE: usize = 16 * 1024;

/// A text up to this long is better sent as one piece, in one write: a
/// single piece skips the streaming machinery (a boxed body, a poll per
/// piece), which cost `/all` 10 % of its requests per second under load,
/// and a text sent in two writes costs the client a second wakeup and
/// read. At 32 KiB, `/all` (27 KB here, plus about 250 bytes a process)
/// crossed the limit as processes came and went. A single piece is copied
/// into actix's buffer whole, whatever its size, and written at once.
pub const ONE_PIECE: usize = 64 * 1024;

/// A text made of pieces, sent one after the other.
#[derive(Debug, Clone, Default)]
pub struct Text {
    /// Not yet handed to actix.
    pieces: VecDeque<Bytes>,
    len: usize,
    /// The compressed text, shared by every copy of a [`Text::kept`] one.
    compressed: Option<Arc<OnceLock<Bytes>>>,
}

impl Text {
    /// The same text, to be kept and answered many times: its compressed
    /// form is then made once, by the first request that asks for it, and
    /// shared by every copy (clients asking for deflate do not each pay
    /// for compressing the same update).
    pub fn kept(mut self) -> Text {
        self.compressed = Some(Arc::default());
        self
    }

    /// The text compressed by `compress`, once per kept text.
    pub fn compressed(&self, compress: impl FnOnce(&Text) -> Vec<u8>) -> Bytes {
        match &self.compressed {
            Some(cell) => cell.get_or_init(|| Bytes::from(compress(self))).clone(),
            None => Bytes::from(compress(self)),
        }
    }

    pub fn push(&mut self, piece: Bytes) {
        self.len += piece.len();
        self.pieces.push_back(piece);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every piece one after the other.
    pub fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        self.pieces.iter().try_for_each(|piece| out.write_all(piece))
    }

    /// The same text as one piece if it is short (see [`ONE_PIECE`]).
    pub fn joined_if_short(self) -> Text {
        match self.pieces.len() > 1 && self.len <= ONE_PIECE {
            true => Text {
                compressed: self.compressed.clone(),
                ..Text::from(self.to_bytes())
            },
            false => self,
        }
    }

    /// The whole text in one buffer (a copy unless it is one piece).
    pub fn to_bytes(&self) -> Bytes {
        match self.pieces.as_slices() {
            ([one], []) => one.clone(),
            _ => {
                let mut whole = Vec::with_capacity(self.len);
                self.pieces.iter().for_each(|piece| whole.extend_from_slice(piece));
                Bytes::from(whole)
            }
        }
    }
}

impl From<Bytes> for Text {
    fn from(piece: Bytes) -> Text {
        let mut text = Text::default();
        text.push(piece);
        text
    }
}

impl MessageBody for Text {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len as u64)
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Infallible>>> {
        let pieces = &mut self.get_mut().pieces;
        while let Some(piece) = pieces.front_mut() {
            if piece.len() > SLICE {
                return Poll::Ready(Some(Ok(piece.split_to(SLICE))));
            }
            match pieces.pop_front() {
                Some(piece) if !piece.is_empty() => return Poll::Ready(Some(Ok(piece))),
                _ => {}
            }
        }
        Poll::Ready(None)
    }

    /// A short text of one piece goes out as plain bytes (actix's fast path).
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        match self.pieces.as_slices() {
            ([one], []) if one.len() <= ONE_PIECE => Ok(one.clone()),
            _ => Err(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut text: Text) -> Vec<Bytes> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(Ok(chunk))) = Pin::new(&mut text).poll_next(&mut cx) {
            out.push(chunk);
        }
        out
    }

    #[test]
    fn pieces_go_out_in_order_and_large_ones_in_slices() {
        let mut text = Text::from(Bytes::from_static(b"{"));
        text.push(Bytes::new());
        text.push(Bytes::from(vec![b'x'; 2 * SLICE + 5]));
        text.push(Bytes::from_static(b"}"));
        assert_eq!(text.size(), BodySize::Sized(2 * SLICE as u64 + 7));
        let whole = text.to_bytes();
        let chunks = drain(text);
        let lengths: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(lengths, [1, SLICE, SLICE, 5, 1]);
        assert_eq!(chunks.concat(), whole);
    }

    #[test]
    fn only_a_small_single_piece_takes_the_fast_path() {
        let small = Text::from(Bytes::from_static(b"[]"));
        assert_eq!(small.try_into_bytes().unwrap(), "[]");
        assert!(Text::from(Bytes::from(vec![0; ONE_PIECE])).try_into_bytes().is_ok());
        assert!(
            Text::from(Bytes::from(vec![0; ONE_PIECE + 1]))
                .try_into_bytes()
                .is_err()
        );
        let mut two = Text::from(Bytes::from_static(b"{"));
        two.push(Bytes::from_static(b"}"));
        assert_eq!(two.to_bytes(), "{}");
        assert!(two.clone().try_into_bytes().is_err());
        assert_eq!(two.joined_if_short().try_into_bytes().unwrap(), "{}");
        // `/all` on a host with a few dozen processes more than this VM's:
        // past 32 KiB, still one piece (which actix writes at once).
        let mut all = Text::from(Bytes::from_static(b"{"));
        (0..40).for_each(|_| all.push(Bytes::from(vec![b'x'; 1000])));
        let whole = all.joined_if_short().try_into_bytes().map(|b| b.len());
        assert!(matches!(whole, Ok(40_001)), "one piece, the fast path");
        let mut long = Text::from(Bytes::from(vec![b'x'; ONE_PIECE]));
        long.push(Bytes::from_static(b"}"));
        assert!(long.joined_if_short().try_into_bytes().is_err(), "stays in pieces");
    }

    #[test]
    fn a_kept_text_is_compressed_once_for_all_its_copies() {
        let calls = std::cell::Cell::new(0);
        let compress = |t: &Text| {
            calls.set(calls.get() + 1);
            t.to_bytes().to_ascii_uppercase()
        };
        let mut kept = Text::from(Bytes::from_static(b"{"));
        kept.push(Bytes::from_static(b"}"));
        let kept = kept.kept().joined_if_short();
        let copy = kept.clone();
        assert_eq!(kept.compressed(compress), "{}");
        assert_eq!(copy.compressed(compress), "{}");
        assert_eq!(calls.get(), 1, "the copy shares the first one's");
        let fresh = Text::from(Bytes::from_static(b"x"));
        fresh.compressed(compress);
        fresh.clone().compressed(compress);
        assert_eq!(calls.get(), 3, "a text not kept is compressed each time");
        assert!(
            kept.kept().compressed(|_| b"new".to_vec()) == "new",
            "kept anew: a new cell"
        );
    }
}
