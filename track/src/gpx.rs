//! GPX 1.0 and 1.1 import, with the heart rate, cadence and speed that Garmin's
//! `TrackPointExtension` (and similar extensions) carry, and GPX export of a recording.
//!
//! One quick-xml pass reads points and extensions together: the `gpx` crate drops
//! `<extensions>`, which is where GPX keeps heart rate. GPX has no pause events, so gaps in
//! time become pauses. GPX cadence (`gpxtpx:cad`) is per leg for running: it is doubled.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::TrackError;
use crate::recording::{Format, Position, Recording, Sample};
use crate::xml::{self, Node};

/// Horizontal accuracy from HDOP: a user-equivalent range error of about 5 m for consumer GPS
/// (Kaplan & Hegarty, Understanding GPS, ch. 7) times the dilution of precision.
const UERE_M: f64 = 5.0;

/// Reads a GPX file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Recording, TrackError> {
    let text = xml::text(bytes)?;
    let mut rec = Recording::new(Format::Gpx);
    let mut points: Vec<(DateTime<Utc>, Sample)> = Vec::new();
    let mut untimed = 0usize;
    let mut current: Option<(Option<DateTime<Utc>>, Sample)> = None;
    let mut saw_root = false;
    xml::walk(text, |node| {
        match node {
            Node::Open { path, tag } => {
                if path.len() == 1 {
                    if path[0] != "gpx" {
                        return Err(TrackError::Format(format!("root element is <{}>, not <gpx>", path[0])));
                    }
                    saw_root = true;
                }
                if path.last().is_some_and(|n| n == "trkpt") {
                    let lat = xml::attribute(tag, "lat")?;
                    let lon = xml::attribute(tag, "lon")?;
                    let (Some(lat), Some(lon)) = (lat, lon) else {
                        return Err(TrackError::Format("a <trkpt> lacks its lat or lon attribute".into()));
                    };
                    let position = Position {
                        lat_deg: xml::number(&lat, "trkpt lat")?,
                        lon_deg: xml::number(&lon, "trkpt lon")?,
                        accuracy_m: None,
                    };
                    current = Some((None, Sample { position: Some(position), ..Sample::default() }));
                }
            }
            Node::Text { path, text } => {
                let Some((time, sample)) = current.as_mut() else { return Ok(()) };
                let Some(name) = path.last().map(String::as_str) else { return Ok(()) };
                if text.is_empty() {
                    return Ok(());
                }
                let in_extensions = path.iter().any(|p| p == "extensions");
                match name {
                    "time" if !in_extensions => *time = Some(xml::time(text, "time")?),
                    "ele" => sample.altitude_m = Some(xml::number(text, "ele")?),
                    "hdop" => {
                        if let Some(p) = sample.position.as_mut() {
                            p.accuracy_m = Some(xml::number(text, "hdop")? * UERE_M);
                        }
                    }
                    "speed" => sample.speed_mps = Some(xml::number(text, "speed")?),
                    "hr" | "heartrate" => sample.heart_rate_bpm = Some(xml::number(text, name)?),
                    "cad" | "cadence" => sample.cadence_spm = Some(2.0 * xml::number(text, name)?),
                    _ => {}
                }
            }
            Node::Close { path } => {
                if path.last().is_some_and(|n| n == "trkpt")
                    && let Some((time, sample)) = current.take()
                {
                    match time {
                        Some(t) => points.push((t, sample)),
                        None => untimed += 1,
                    }
                }
            }
        }
        Ok(())
    })?;
    if !saw_root {
        return Err(TrackError::Format("no <gpx> element: not a GPX file".into()));
    }
    if points.is_empty() {
        return Err(TrackError::Format(if untimed > 0 {
            format!("the {untimed} track points have no <time>: a route, not a recorded run")
        } else {
            "no track points (<trkpt>) with a <time>: nothing was recorded".into()
        }));
    }
    if untimed > 0 {
        rec.warnings.push(format!("skipped {untimed} track points without a <time>"));
    }
    let start = points[0].0;
    rec.start_time = Some(start);
    rec.samples = points
        .into_iter()
        .map(|(t, s)| Sample { t_ms: (t - start).num_milliseconds().max(0) as u64, ..s })
        .collect();
    rec.tidy()?;
    rec.infer_pauses_from_gaps();
    Ok(rec)
}

/// Writes a recording as GPX 1.1 with Garmin TrackPointExtension heart rate and cadence, the
/// form most tools read. Samples without a position are skipped (GPX cannot hold them);
/// pauses start a new track segment.
pub fn write(rec: &Recording, name: &str) -> String {
    let start = rec.start_time.unwrap_or(DateTime::UNIX_EPOCH);
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<gpx version=\"1.1\" creator=\"pacenote\" xmlns=\"http://www.topografix.com/GPX/1/1\" \
         xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v2\">\n",
    );
    let _ =
        writeln!(out, "  <trk>\n    <name>{}</name>\n    <type>running</type>\n    <trkseg>", escape(name));
    let mut was_paused = false;
    for s in &rec.samples {
        let paused = rec.is_paused_at(s.t_ms);
        if was_paused && !paused {
            out.push_str("    </trkseg>\n    <trkseg>\n");
        }
        was_paused = paused;
        let Some(p) = s.position else { continue };
        let time = start + chrono::Duration::milliseconds(s.t_ms as i64);
        let _ = write!(out, "      <trkpt lat=\"{:.7}\" lon=\"{:.7}\">", p.lat_deg, p.lon_deg);
        if let Some(ele) = s.altitude_m {
            let _ = write!(out, "<ele>{ele:.1}</ele>");
        }
        let _ = write!(out, "<time>{}</time>", time.to_rfc3339_opts(SecondsFormat::Millis, true));
        if let Some(acc) = p.accuracy_m {
            let _ = write!(out, "<hdop>{:.2}</hdop>", acc / UERE_M);
        }
        if s.heart_rate_bpm.is_some() || s.cadence_spm.is_some() || s.speed_mps.is_some() {
            out.push_str("<extensions><gpxtpx:TrackPointExtension>");
            if let Some(hr) = s.heart_rate_bpm {
                let _ = write!(out, "<gpxtpx:hr>{hr:.0}</gpxtpx:hr>");
            }
            if let Some(cad) = s.cadence_spm {
                let _ = write!(out, "<gpxtpx:cad>{:.1}</gpxtpx:cad>", cad / 2.0);
            }
            if let Some(speed) = s.speed_mps {
                let _ = write!(out, "<gpxtpx:speed>{speed:.3}</gpxtpx:speed>");
            }
            out.push_str("</gpxtpx:TrackPointExtension></extensions>");
        }
        out.push_str("</trkpt>\n");
    }
    out.push_str("    </trkseg>\n  </trk>\n</gpx>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPX: &str = r#"<?xml version="1.0"?>
<gpx version="1.1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
 <trk><trkseg>
  <trkpt lat="47.1" lon="8.5"><ele>400</ele><time>2024-05-01T07:00:00Z</time>
   <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>120</gpxtpx:hr><gpxtpx:cad>85</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>
  <trkpt lat="47.1001" lon="8.5"><time>2024-05-01T07:00:01.500Z</time></trkpt>
 </trkseg></trk></gpx>"#;

    #[test]
    fn reads_points_and_garmin_extensions() {
        let rec = parse(GPX.as_bytes()).expect("parses");
        assert_eq!(rec.samples.len(), 2);
        assert_eq!(rec.samples[1].t_ms, 1500);
        assert_eq!(rec.samples[0].heart_rate_bpm, Some(120.0));
        assert_eq!(rec.samples[0].cadence_spm, Some(170.0));
        assert_eq!(rec.samples[0].altitude_m, Some(400.0));
    }

    #[test]
    fn a_clock_that_leaps_a_century_is_an_error_naming_the_sample() {
        let point =
            |lat: &str, time: &str| format!("<trkpt lat=\"{lat}\" lon=\"8.5\"><time>{time}</time></trkpt>");
        let gpx = format!(
            "<gpx version=\"1.1\"><trk><trkseg>{}{}{}</trkseg></trk></gpx>",
            point("47.1", "2024-05-01T07:00:00Z"),
            point("47.1001", "2024-05-01T07:00:01Z"),
            point("47.1002", "2124-05-01T07:00:02Z"),
        );
        let e = parse(gpx.as_bytes()).expect_err("a damaged clock").to_string();
        assert!(
            e.starts_with("sample 3 is 876")
                && e.contains("after sample 2")
                && e.contains("clock is damaged"),
            "{e}"
        );
    }

    #[test]
    fn gpx_1_0_speed_and_hdop() {
        let gpx = r#"<gpx version="1.0"><trk><trkseg><trkpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time><speed>3.2</speed><hdop>1.5</hdop></trkpt></trkseg></trk></gpx>"#;
        let rec = parse(gpx.as_bytes()).expect("parses");
        assert_eq!(rec.samples[0].speed_mps, Some(3.2));
        assert_eq!(rec.samples[0].position.and_then(|p| p.accuracy_m), Some(7.5));
    }

    #[test]
    fn broken_files_say_what_is_wrong() {
        let cases = [
            ("", "no <gpx>"),
            ("<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\">", "truncated"),
            (
                "<gpx><trk><trkseg><trkpt lat=\"x\" lon=\"2\"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>",
                "not a number",
            ),
            (
                "<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><time>yesterday</time></trkpt></trkseg></trk></gpx>",
                "ISO 8601",
            ),
            ("<gpx><rte><rtept lat=\"1\" lon=\"2\"/></rte></gpx>", "no track points"),
            ("<kml/>", "not <gpx>"),
        ];
        for (text, expected) in cases {
            let err = parse(text.as_bytes()).expect_err(text).to_string();
            assert!(err.contains(expected), "{text:?} gave {err:?}, expected {expected:?}");
        }
    }

    #[test]
    fn write_then_read_keeps_every_channel() {
        let rec = parse(GPX.as_bytes()).expect("parses");
        let again = parse(write(&rec, "A & B").as_bytes()).expect("re-parses");
        assert_eq!(again.samples.len(), rec.samples.len());
        for (a, b) in rec.samples.iter().zip(&again.samples) {
            assert_eq!(a.t_ms, b.t_ms);
            assert_eq!(a.heart_rate_bpm, b.heart_rate_bpm);
            assert_eq!(a.cadence_spm, b.cadence_spm);
        }
    }
}
