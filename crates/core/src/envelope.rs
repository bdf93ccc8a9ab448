//! The bytes a model is stored as: a small header, then the postcard-encoded model.
//!
//! ```text
//! "SHML" | format version u16 LE | algorithm length u8 | algorithm | checksum u64 LE | body
//! ```
//! The checksum covers the body, so bytes that were truncated or overwritten are reported as
//! damaged (XX001) instead of decoding into a wrong model. The format version is the model
//! kind's own (see [`crate::model::Kind`]); the registry refuses versions newer than it reads.
//! Format version 1 was written by shopml 0.1 and version 2 by shopml 0.2, for every kind.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hash::mix64;

pub const MAGIC: &[u8; 4] = b"SHML";

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub format_version: u16,
    pub algorithm: String,
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64 ^ bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = mix64(h ^ u64::from_le_bytes(w)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    h
}

/// Encodes a model body under an algorithm name and the kind's format version.
pub fn encode<T: Serialize>(algorithm: &str, format_version: u16, body: &T) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(body)
        .map_err(|e| Error::internal(format!("could not encode the {algorithm} model: {e}")))?;
    if algorithm.len() > u8::MAX as usize {
        return Err(Error::internal("algorithm name too long"));
    }
    Ok(wrap(algorithm, format_version, &body))
}

/// The envelope around an encoded body (algorithm names are at most 255 bytes).
pub fn wrap(algorithm: &str, format_version: u16, body: &[u8]) -> Vec<u8> {
    let name = &algorithm.as_bytes()[..algorithm.len().min(u8::MAX as usize)];
    let mut out = Vec::with_capacity(4 + 2 + 1 + name.len() + 8 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&format_version.to_le_bytes());
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&checksum(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Reads and checks the header; returns it and the body.
pub fn open(bytes: &[u8]) -> Result<(Header, &[u8])> {
    let damaged = |what: &str| Error::corrupted(format!("model bytes are damaged: {what}"));
    if bytes.len() < 7 || &bytes[..4] != MAGIC {
        return Err(damaged("not a shopml model (bad magic)"));
    }
    let format_version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if format_version == 0 {
        return Err(damaged("format version 0"));
    }
    let name_len = bytes[6] as usize;
    let rest = &bytes[7..];
    if rest.len() < name_len + 8 {
        return Err(damaged("truncated header"));
    }
    let algorithm = std::str::from_utf8(&rest[..name_len])
        .map_err(|_| damaged("algorithm name is not UTF-8"))?
        .to_string();
    let sum = u64::from_le_bytes(rest[name_len..name_len + 8].try_into().expect("8 bytes"));
    let body = &rest[name_len + 8..];
    if checksum(body) != sum {
        return Err(damaged("checksum mismatch (truncated or overwritten)"));
    }
    Ok((
        Header {
            format_version,
            algorithm,
        },
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = vec![1.5f64, -2.0, 3.25];
        let bytes = encode("linear", 7, &v).unwrap();
        let (header, body) = open(&bytes).unwrap();
        assert_eq!(
            (header.algorithm.as_str(), header.format_version),
            ("linear", 7)
        );
        assert_eq!(postcard::from_bytes::<Vec<f64>>(body).unwrap(), v);
    }

    #[test]
    fn damage_is_detected() {
        let bytes = encode("linear", 2, &vec![1.0f64; 100]).unwrap();
        for cut in [0, 3, 7, 12, 20, bytes.len() - 1] {
            let e = open(&bytes[..cut]).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::DataCorrupted, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x40;
        assert_eq!(
            open(&flipped).unwrap_err().kind,
            crate::ErrorKind::DataCorrupted
        );
    }
}
