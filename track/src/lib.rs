//! Run recordings for Pacenote: import GPX, TCX and FIT files into one [`Recording`] type, and
//! simulate runs with known ground truth ([`simulate`]).
//!
//! Pure code: callers read the bytes; nothing here touches files, clocks or the network, and no
//! input — however broken — makes it panic. It is a crate of its own so that the phone library
//! (`core`) does not carry file-format decoders it never needs on a run.

pub mod fit;
pub mod fitted;
pub mod gpx;
pub mod judge;
pub mod recording;
pub mod replay;
pub mod simulate;
pub mod tcx;
mod xml;

pub use recording::{Format, Lap, Pause, Position, Recording, Sample, TrackSummary};

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrackError {
    /// The bytes are not a recording in a format we read, or are damaged.
    #[error("{0}")]
    Format(String),
}

/// Reads a recording, telling GPX, TCX and FIT apart by their content (the file name can lie).
pub fn import(bytes: &[u8]) -> Result<Recording, TrackError> {
    match sniff(bytes) {
        Some(Format::Fit) => fit::parse(bytes),
        Some(Format::Gpx) => gpx::parse(bytes),
        Some(Format::Tcx) => tcx::parse(bytes),
        Some(Format::Simulated) | None if bytes.is_empty() => {
            Err(TrackError::Format("the file is empty".into()))
        }
        Some(Format::Simulated) | None => Err(TrackError::Format(
            "not a GPX, TCX or FIT recording (no FIT header, no <gpx> or <TrainingCenterDatabase> element)"
                .into(),
        )),
    }
}

/// The format the bytes look like.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.len() >= 12 && &bytes[8..12] == b".FIT" {
        return Some(Format::Fit);
    }
    // The root element's name appears within the first few kilobytes of any GPX or TCX.
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    let root = head
        .match_indices('<')
        .map(|(i, _)| &head[i + 1..])
        .find(|rest| !rest.starts_with('?') && !rest.starts_with('!'))?;
    let name: String = root.chars().take_while(|c| c.is_alphanumeric() || *c == ':' || *c == '_').collect();
    match name.rsplit(':').next() {
        Some("gpx") => Some(Format::Gpx),
        Some("TrainingCenterDatabase") => Some(Format::Tcx),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<!-- hi -->\n<gpx version=\"1.1\">"), Some(Format::Gpx));
        assert_eq!(sniff(b"<TrainingCenterDatabase xmlns=\"x\">"), Some(Format::Tcx));
        assert_eq!(sniff(b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT"), Some(Format::Fit));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(import(b"").unwrap_err().to_string(), "the file is empty");
        assert!(import(b"{}").unwrap_err().to_string().starts_with("not a GPX, TCX or FIT"));
    }

    proptest! {
        #[test]
        fn import_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = import(&bytes);
        }

        #[test]
        fn fit_never_panics_on_a_valid_header_with_junk(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = vec![14, 0x20, 0x5c, 0x08, 0, 0, 0, 0, b'.', b'F', b'I', b'T', 0, 0];
            bytes[4..8].copy_from_slice(&(body.len() as u32).to_le_bytes());
            bytes.extend(body);
            let _ = fit::parse(&bytes);
        }

        #[test]
        fn gpx_never_panics_on_gpx_like_text(text in "<gpx>(<trk><trkseg>(<trkpt lat=\"[0-9.-]{1,6}\" lon=\"[0-9.-]{1,6}\"><time>20[0-9]{2}-0[1-9]-1[0-9]T0[0-9]:[0-5][0-9]:[0-5][0-9]Z</time>(<ele>[0-9x]{1,3}</ele>)?</trkpt>){0,5}</trkseg></trk>)?(</gpx>)?") {
            if let Ok(rec) = gpx::parse(text.as_bytes()) {
                prop_assert!(rec.samples.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
            }
        }

        #[test]
        fn tcx_never_panics_on_tcx_like_text(text in "<TrainingCenterDatabase>(<Lap StartTime=\"2020-01-0[1-9]T00:00:0[0-9]Z\"><Track>(<Trackpoint><Time>2020-01-0[1-9]T00:00:[0-5][0-9]Z</Time>(<HeartRateBpm><Value>[0-9]{1,3}</Value></HeartRateBpm>)?</Trackpoint>){0,5}</Track></Lap>)*(</TrainingCenterDatabase>)?") {
            if let Ok(rec) = tcx::parse(text.as_bytes()) {
                prop_assert!(rec.samples.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
            }
        }
    }
}
