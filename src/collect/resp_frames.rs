//! RESP (Redis's protocol, versions 2 and 3) for the checking layer (bounded.rs) under
//! redis-rs: a line is at most `MAX_LINE`, a bulk string at most `MAX_BULK`, and every
//! item an aggregate declares is charged `ITEM_COST` of the budget up front — redis-rs
//! keeps each item as a value, so a declared count, not only the bytes, is what costs
//! memory (`*2800000` is refused from its header, not after 89 MB).

use super::bounded::Scan;

/// The longest line (a simple string, an error, an integer, a header).
pub const MAX_LINE: usize = 64 << 10;
/// The longest bulk string: the cap of every answer.
pub const MAX_BULK: usize = crate::body::MAX_BODY;
/// What one item is charged: about what redis-rs spends on a small value.
pub const ITEM_COST: usize = 64;

#[derive(Default)]
pub struct RespScan {
    /// The line read so far (never more than `MAX_LINE`).
    line: Vec<u8>,
    /// Bytes left of a bulk string, its CRLF included.
    skip: usize,
}

impl RespScan {
    /// The cost of the header `line` (without CRLF), and the bulk bytes it announces.
    fn header(line: &[u8]) -> Result<(usize, usize), String> {
        let bad = || "redis sent a malformed answer".to_string();
        let Some((&kind, rest)) = line.split_first() else {
            return Err(bad());
        };
        let count = || -> Result<i64, String> {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(bad)
        };
        match kind {
            b'$' | b'=' | b'!' => match count()? {
                n if n < 0 => Ok((0, 0)),
                n if n as u64 > MAX_BULK as u64 => Err(format!(
                    "redis declared a string of {n} bytes, more than the {} MiB fas reads; refused",
                    MAX_BULK >> 20
                )),
                n => Ok((0, n as usize + 2)),
            },
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let per = if matches!(kind, b'%' | b'|') { 2 } else { 1 };
                let n = count()?.max(0) as u64;
                let cost = n.saturating_mul(per * ITEM_COST as u64);
                Ok((usize::try_from(cost).unwrap_or(usize::MAX), 0))
            }
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok((0, 0)),
            _ => Err(bad()),
        }
    }
}

impl Scan for RespScan {
    fn scan(&mut self, mut bytes: &[u8]) -> Result<usize, String> {
        let mut cost = bytes.len();
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let end = bytes.iter().position(|&b| b == b'\n');
            let take = end.map_or(bytes.len(), |i| i + 1);
            if self.line.len() + take > MAX_LINE {
                return Err(format!(
                    "redis sent a line longer than {} KiB; refused",
                    MAX_LINE >> 10
                ));
            }
            self.line.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if end.is_some() {
                let line = std::mem::take(&mut self.line);
                let (items, bulk) = Self::header(line.trim_ascii_end())?;
                cost = cost.saturating_add(items);
                self.skip = bulk;
            }
        }
        Ok(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_counts_and_lengths_are_charged_or_refused() {
        let mut s = RespScan::default();
        let answer = b"*2\r\n$3\r\nabc\r\n:5\r\n";
        // Byte by byte, as a slow server sends it.
        let cost: usize = answer.iter().map(|b| s.scan(&[*b]).unwrap()).sum();
        assert_eq!(cost, answer.len() + 2 * ITEM_COST);
        assert!(s.scan(b"*2800000\r\n").unwrap() > 100 << 20);
        assert!(s.scan(b"%3\r\n").unwrap() >= 6 * ITEM_COST);
        let e = s.scan(b"$2147483648\r\n").unwrap_err();
        assert!(e.contains("more than the 8 MiB"), "{e}");
        let mut s = RespScan::default();
        assert!(s.scan(&vec![b'+'; MAX_LINE + 1]).is_err());
        let mut s = RespScan::default();
        assert!(s.scan(b"?what\r\n").is_err());
        let mut s = RespScan::default();
        assert_eq!(s.scan(b"$-1\r\n_\r\n,1.5\r\n"), Ok(14));
    }
}
