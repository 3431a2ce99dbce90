//! Glances' "deflate" bodies: a zlib stream (RFC 1950).
//!
//! Browsers, Home Assistant and Homepage all ask for deflate, so a dashboard
//! has every poll compressed. Glances uses level 6; glint uses level 1: a
//! poll of `/all` and `/all/views` then costs a third less CPU (527–547 µs
//! against 715–793, back to back), its bodies are a little larger (4.9 and
//! 3.5 KB instead of 3.6 and 2.1), and clients only need a valid zlib
//! stream. A fresh compressor allocates and zeroes about 270 KB of state,
//! and those pages, faulted in anew for each response, cost about as much
//! as compressing `/all` itself; so each serving thread keeps one (flate2's
//! encoder, with its 32 KiB staging buffer) and resets it per response.

use std::cell::RefCell;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use crate::text::Text;

thread_local! {
    static ENCODER: RefCell<ZlibEncoder<Vec<u8>>> =
        RefCell::new(ZlibEncoder::new(Vec::new(), Compression::fast()));
}

/// `body` as a zlib stream.
pub fn zlib(body: &Text) -> Vec<u8> {
    ENCODER.with_borrow_mut(|encoder| {
        // `reset` ends the previous stream (already finished, its output
        // taken) and restarts the held state on a new output. Writing into
        // a Vec cannot fail.
        let _ = encoder.reset(Vec::with_capacity(body.len() / 8 + 64));
        let _ = body.write_to(encoder);
        let _ = encoder.try_finish();
        std::mem::take(encoder.get_mut())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::web::Bytes;
    use std::io::Read;

    fn inflate(z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(z).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn pieces_come_out_as_one_zlib_stream_each_time() {
        let body = b"{\"total\":1.0}".repeat(10);
        // In two pieces, as /all comes.
        let mut text = Text::from(Bytes::copy_from_slice(&body[..7]));
        text.push(Bytes::copy_from_slice(&body[7..]));
        let z = zlib(&text);
        // A zlib header: deflate with a 32 KB window, and its check bits.
        assert_eq!(z[0], 0x78);
        assert_eq!(u16::from_be_bytes([z[0], z[1]]) % 31, 0);
        assert_eq!(inflate(&z), body);
        // The held state starts afresh: the same text, the same stream.
        assert_eq!(zlib(&text), z);
    }

    #[test]
    fn long_incompressible_and_empty_bodies_round_trip() {
        // Pseudo-random bytes compress to more than the first guess of room.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let z = zlib(&Text::from(Bytes::from(noise.clone())));
        assert!(z.len() > noise.len(), "stored blocks: {}", z.len());
        assert_eq!(inflate(&z), noise);
        assert_eq!(inflate(&zlib(&Text::default())), b"");
    }
}
