//! The bytes a model is stored as: a small header, then the postcard-encoded model.
//!
//! ```text
//! "SHML" | format version u16 LE | algorithm length u8 | algorithm | checksum u64 LE | body
//! ```
//! The checksum covers the body, so bytes that were truncated or overwritten are reported as
//! damaged (XX001) instead of decoding into a wrong model. A model written by a newer format
//! version is refused with the version it needs.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;

pub const MAGIC: &[u8; 4] = b"SHML";
/// The newest format this build writes and reads.
/// Version 2 (shopml 0.2) stores the feature preparation with linear models.
pub const FORMAT_VERSION: u16 = 2;

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

/// Encodes a model body under an algorithm name.
pub fn encode<T: Serialize>(algorithm: &str, body: &T) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(body)
        .map_err(|e| Error::internal(format!("could not encode the {algorithm} model: {e}")))?;
    let name = algorithm.as_bytes();
    if name.len() > u8::MAX as usize {
        return Err(Error::internal("algorithm name too long"));
    }
    let mut out = Vec::with_capacity(4 + 2 + 1 + name.len() + 8 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads and checks the header; returns it and the body.
pub fn open(bytes: &[u8]) -> Result<(Header, &[u8])> {
    let damaged = |what: &str| Error::corrupted(format!("model bytes are damaged: {what}"));
    if bytes.len() < 7 || &bytes[..4] != MAGIC {
        return Err(damaged("not a shopml model (bad magic)"));
    }
    let format_version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if format_version > FORMAT_VERSION {
        return Err(Error::corrupted(format!(
            "model was written by format version {format_version}; this shopml reads up to version {FORMAT_VERSION}"
        ))
        .with_hint(format!(
            "Install a shopml release that reads model format {format_version}, or retrain the model."
        )));
    }
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

/// Decodes a model body, checking that it is of the expected algorithm.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], algorithm: &str) -> Result<T> {
    let (header, body) = open(bytes)?;
    if header.algorithm != algorithm {
        return Err(Error::invalid(format!(
            "model is a {} model, not {algorithm}",
            header.algorithm
        )));
    }
    postcard::from_bytes(body)
        .map_err(|e| Error::corrupted(format!("model bytes are damaged: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = vec![1.5f64, -2.0, 3.25];
        let bytes = encode("linear", &v).unwrap();
        assert_eq!(decode::<Vec<f64>>(&bytes, "linear").unwrap(), v);
        assert_eq!(
            decode::<Vec<f64>>(&bytes, "kmeans").unwrap_err().kind,
            crate::ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn damage_is_detected() {
        let bytes = encode("linear", &vec![1.0f64; 100]).unwrap();
        for cut in [0, 3, 7, 12, 20, bytes.len() - 1] {
            let e = decode::<Vec<f64>>(&bytes[..cut], "linear").unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::DataCorrupted, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x40;
        assert_eq!(
            decode::<Vec<f64>>(&flipped, "linear").unwrap_err().kind,
            crate::ErrorKind::DataCorrupted
        );
    }

    #[test]
    fn future_version_says_which() {
        let mut bytes = encode("linear", &1u8).unwrap();
        bytes[4] = 9;
        let e = decode::<u8>(&bytes, "linear").unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::DataCorrupted);
        assert!(e.message.contains("format version 9"), "{}", e.message);
    }
}
