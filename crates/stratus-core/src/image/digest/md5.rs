//! MD5 (RFC 1321), written for one long stream.
//!
//! The legacy metadata carries an MD5 checksum, so `stratus-build-metadata`
//! computes one over every image; with SHA-512 it is one of the two slowest
//! digests of the pass. The md-5 crate hashed 548 MB/s on the machine this
//! was written on, against 655 MB/s for OpenSSL's assembly; this module
//! reaches OpenSSL's speed in safe Rust (measured in docs/PERFORMANCE.md).
//!
//! MD5 is a chain of 64 dependent steps per 64-byte block, so its speed is
//! the latency of one step. Each step here first adds everything that does
//! not depend on the word computed by the step before (the message word,
//! the round constant and, in round 2, half of the boolean function) and
//! only then the part that does, which keeps the chain to about four
//! instructions. The md-5 crate keeps it in the other order.

/// The sine-derived step constants `K[i] = floor(abs(sin(i + 1)) * 2^32)`.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// The initial chaining value (RFC 1321 §3.3).
const INITIAL: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

const BLOCK: usize = 64;

/// A running MD5 digest.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    /// Bytes of an incomplete block, waiting for more input.
    pending: [u8; BLOCK],
    pending_len: usize,
    /// Total bytes hashed so far (the padding records it modulo 2^64 bits).
    length: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    /// A digest of nothing yet.
    pub fn new() -> Md5 {
        Md5 {
            state: INITIAL,
            pending: [0; BLOCK],
            pending_len: 0,
            length: 0,
        }
    }

    /// Hashes `data` after everything given before.
    pub fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK {
                return;
            }
            let block = self.pending;
            compress(&mut self.state, &block);
            self.pending_len = 0;
        }
        let whole = data.len() - data.len() % BLOCK;
        compress(&mut self.state, &data[..whole]);
        let rest = &data[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The 16-byte digest of everything hashed.
    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        // A 1 bit, zeros up to 56 bytes into a block, then the bit length.
        let mut tail = [0u8; 2 * BLOCK];
        let used = self.pending_len;
        tail[..used].copy_from_slice(&self.pending[..used]);
        tail[used] = 0x80;
        let tail_len = if used < BLOCK - 8 { BLOCK } else { 2 * BLOCK };
        tail[tail_len - 8..tail_len].copy_from_slice(&bits.to_le_bytes());
        compress(&mut self.state, &tail[..tail_len]);
        let mut digest = [0u8; 16];
        for (bytes, word) in digest.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        digest
    }

    /// The digest of `data` in one call.
    pub fn digest(data: &[u8]) -> [u8; 16] {
        let mut md5 = Md5::new();
        md5.update(data);
        md5.finalize()
    }
}

/// One MD5 step: `a = b + ((a + m + k + f(b, c, d)) <<< s)`, with the sum
/// ordered so that the terms not depending on `b` come first.
macro_rules! step {
    (F, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add($d ^ ($b & ($c ^ $d)));
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    // G(b, c, d) = (b & d) | (c & !d): the two halves never share a bit, so
    // they can be added, and the half without `b` added early.
    (G, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k)).wrapping_add($c & !$d);
        $a = $a.wrapping_add($b & $d);
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    (H, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add($b ^ ($c ^ $d));
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    (I, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add($c ^ ($b | !$d));
        $a = $a.rotate_left($s).wrapping_add($b);
    };
}

/// One round: 16 steps with boolean function `$f`, starting at step
/// `$first`; `i => $word` gives the message word of step `i`, and the shifts
/// repeat every four steps.
macro_rules! round {
    ($f:ident, [$a:ident, $b:ident, $c:ident, $d:ident], $m:ident, $k:ident, $first:expr,
     $i:ident => $word:expr, [$s0:expr, $s1:expr, $s2:expr, $s3:expr]) => {
        let word = |$i: usize| $word;
        let mut i = $first;
        while i < $first + 16 {
            step!($f, $a, $b, $c, $d, $m[word(i)], $k[i], $s0);
            step!($f, $d, $a, $b, $c, $m[word(i + 1)], $k[i + 1], $s1);
            step!($f, $c, $d, $a, $b, $m[word(i + 2)], $k[i + 2], $s2);
            step!($f, $b, $c, $d, $a, $m[word(i + 3)], $k[i + 3], $s3);
            i += 4;
        }
    };
}

/// Runs the compression function over `blocks` (a whole number of 64-byte
/// blocks).
fn compress(state: &mut [u32; 4], blocks: &[u8]) {
    // Seen through `black_box`, the constants are values loaded from memory
    // rather than immediates. With immediates the compiler moves each `+ k`
    // after the boolean function, onto the critical path, which costs about
    // a fifth of the speed.
    let k: &[u32; 64] = std::hint::black_box(&K);
    let [mut a, mut b, mut c, mut d] = *state;
    for block in blocks.chunks_exact(BLOCK) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let (a0, b0, c0, d0) = (a, b, c, d);
        // Round 1 takes the message words in order; rounds 2 to 4 in the
        // orders 1 + 5i, 5 + 3i and 7i (mod 16) of RFC 1321.
        round!(F, [a, b, c, d], m, k, 0, i => i, [7, 12, 17, 22]);
        round!(G, [a, b, c, d], m, k, 16, i => (5 * i + 1) % 16, [5, 9, 14, 20]);
        round!(H, [a, b, c, d], m, k, 32, i => (3 * i + 5) % 16, [4, 11, 16, 23]);
        round!(I, [a, b, c, d], m, k, 48, i => (7 * i) % 16, [6, 10, 15, 21]);
        a = a.wrapping_add(a0);
        b = b.wrapping_add(b0);
        c = c.wrapping_add(c0);
        d = d.wrapping_add(d0);
    }
    *state = [a, b, c, d];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn constants_follow_the_sine_rule() {
        for (i, &k) in K.iter().enumerate() {
            let expected = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0).floor() as u32;
            assert_eq!(k, expected, "K[{i}]");
        }
    }

    #[test]
    fn rfc_1321_test_suite() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(hex(&Md5::digest(input.as_bytes())), expected, "{input:?}");
        }
    }

    #[test]
    fn padding_edges_match_the_md5_crate() {
        use ::md5::Digest as _;
        // Lengths around the 56-byte padding boundary and whole blocks.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300] {
            let ours = Md5::digest(&data[..len]);
            let theirs = ::md5::Md5::digest(&data[..len]);
            assert_eq!(ours[..], theirs[..], "length {len}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_split_matches_the_md5_crate(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1000),
            cuts in proptest::collection::vec(0usize..1000, 0..6),
        ) {
            use ::md5::Digest as _;
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut ours = Md5::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                ours.update(&data[start..cut]);
                start = cut;
            }
            proptest::prop_assert_eq!(&ours.finalize()[..], &::md5::Md5::digest(&data)[..]);
        }
    }
}
