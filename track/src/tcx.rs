//! TCX (Garmin Training Center) import: trackpoints, laps and the `TPX` extension's speed and
//! run cadence.
//!
//! Trackpoints with a time but no position are kept: they are real GPS dropouts, and their heart
//! rate is still good (some readers silently drop them, which shortens the run). `RunCadence` is
//! per leg, so it is doubled. TCX has no pause events: gaps in time become pauses.

use chrono::{DateTime, Utc};

use crate::TrackError;
use crate::recording::{Format, Lap, Position, Recording, Sample};
use crate::xml::{self, Node};

/// A trackpoint as it is read, before it has a run-clock time.
#[derive(Default)]
struct Point {
    time: Option<DateTime<Utc>>,
    lat: Option<f64>,
    lon: Option<f64>,
    sample: Sample,
}

/// Reads a TCX file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Recording, TrackError> {
    let text = xml::text(bytes)?;
    let mut rec = Recording::new(Format::Tcx);
    let mut points: Vec<(DateTime<Utc>, Sample)> = Vec::new();
    // Laps as (start time, index of first point, lap distance).
    let mut laps: Vec<(Option<DateTime<Utc>>, usize, Option<f64>)> = Vec::new();
    let mut current: Option<Point> = None;
    let mut untimed = 0usize;
    let mut saw_root = false;
    xml::walk(text, |node| {
        match node {
            Node::Open { path, tag } => {
                let name = path.last().map(String::as_str);
                if path.len() == 1 {
                    if path[0] != "TrainingCenterDatabase" {
                        return Err(TrackError::Format(format!(
                            "root element is <{}>, not <TrainingCenterDatabase>",
                            path[0]
                        )));
                    }
                    saw_root = true;
                }
                match name {
                    Some("Lap") => {
                        let start = xml::attribute(tag, "StartTime")?
                            .map(|t| xml::time(&t, "Lap StartTime"))
                            .transpose()?;
                        laps.push((start, points.len(), None));
                    }
                    Some("Trackpoint") => current = Some(Point::default()),
                    _ => {}
                }
            }
            Node::Text { path, text } => {
                let Some(name) = path.last().map(String::as_str) else { return Ok(()) };
                if text.is_empty() {
                    return Ok(());
                }
                let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
                if name == "DistanceMeters" && parent == Some("Lap") {
                    if let Some(lap) = laps.last_mut() {
                        lap.2 = Some(xml::number(text, "Lap DistanceMeters")?);
                    }
                    return Ok(());
                }
                let Some(point) = current.as_mut() else { return Ok(()) };
                match name {
                    "Time" => point.time = Some(xml::time(text, "Time")?),
                    "LatitudeDegrees" => point.lat = Some(xml::number(text, name)?),
                    "LongitudeDegrees" => point.lon = Some(xml::number(text, name)?),
                    "AltitudeMeters" => point.sample.altitude_m = Some(xml::number(text, name)?),
                    "DistanceMeters" => point.sample.distance_m = Some(xml::number(text, name)?),
                    "Value" if parent == Some("HeartRateBpm") => {
                        point.sample.heart_rate_bpm = Some(xml::number(text, "HeartRateBpm")?);
                    }
                    "Speed" => point.sample.speed_mps = Some(xml::number(text, name)?),
                    "RunCadence" => point.sample.cadence_spm = Some(2.0 * xml::number(text, name)?),
                    _ => {}
                }
            }
            Node::Close { path } => {
                if path.last().is_some_and(|n| n == "Trackpoint")
                    && let Some(point) = current.take()
                {
                    let Some(time) = point.time else {
                        untimed += 1;
                        return Ok(());
                    };
                    let mut sample = point.sample;
                    if let (Some(lat), Some(lon)) = (point.lat, point.lon) {
                        sample.position = Some(Position { lat_deg: lat, lon_deg: lon, accuracy_m: None });
                    }
                    points.push((time, sample));
                }
            }
        }
        Ok(())
    })?;
    if !saw_root {
        return Err(TrackError::Format("no <TrainingCenterDatabase> element: not a TCX file".into()));
    }
    if points.is_empty() {
        return Err(TrackError::Format("no <Trackpoint> with a <Time>: nothing was recorded".into()));
    }
    if untimed > 0 {
        rec.warnings.push(format!("skipped {untimed} trackpoints without a <Time>"));
    }
    let start = points[0].0;
    rec.start_time = Some(start);
    let clock = |t: DateTime<Utc>| (t - start).num_milliseconds().max(0) as u64;
    let times: Vec<u64> = points.iter().map(|(t, _)| clock(*t)).collect();
    rec.samples = points.into_iter().zip(&times).map(|((_, s), t)| Sample { t_ms: *t, ..s }).collect();
    // A lap runs from its start to the last trackpoint before the next lap's first.
    for (i, (start_time, first, distance_m)) in laps.iter().enumerate() {
        let next_first = laps.get(i + 1).map_or(times.len(), |l| l.1);
        if *first >= next_first {
            continue;
        }
        let start_ms = start_time.map_or(times[*first], clock);
        rec.laps.push(Lap { start_ms, end_ms: times[next_first - 1], distance_m: *distance_m });
    }
    rec.tidy()?;
    rec.infer_pauses_from_gaps();
    Ok(rec)
}

/// Writes a recording as TCX: unlike GPX it keeps samples without a position (GPS dropouts)
/// and laps. Pauses show as gaps in time, as Garmin writes them.
pub fn write(rec: &Recording) -> String {
    use chrono::SecondsFormat;
    use std::fmt::Write as _;

    let start = rec.start_time.unwrap_or(DateTime::UNIX_EPOCH);
    let iso = |t_ms: u64| {
        (start + chrono::Duration::milliseconds(t_ms as i64)).to_rfc3339_opts(SecondsFormat::Millis, true)
    };
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<TrainingCenterDatabase xmlns=\"http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2\" \
         xmlns:ns3=\"http://www.garmin.com/xmlschemas/ActivityExtension/v2\">\n",
    );
    let _ = writeln!(out, " <Activities>\n  <Activity Sport=\"Running\">\n   <Id>{}</Id>", iso(0));
    // Lap boundaries: each recorded lap's end, and the end of the run.
    let mut ends: Vec<u64> = rec.laps.iter().map(|l| l.end_ms).collect();
    ends.push(rec.duration_ms());
    ends.dedup();
    let mut samples = rec.samples.iter().peekable();
    let mut lap_start = 0u64;
    for end in ends {
        let lap: Vec<&Sample> = std::iter::from_fn(|| samples.next_if(|s| s.t_ms <= end)).collect();
        if lap.is_empty() {
            continue;
        }
        let moving_s = (end.saturating_sub(lap_start)) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "   <Lap StartTime=\"{}\">\n    <TotalTimeSeconds>{moving_s:.1}</TotalTimeSeconds>\n    <Intensity>Active</Intensity>\n    <TriggerMethod>Manual</TriggerMethod>\n    <Track>",
            iso(lap_start)
        );
        for s in lap {
            let _ = write!(out, "     <Trackpoint><Time>{}</Time>", iso(s.t_ms));
            if let Some(p) = s.position {
                let _ = write!(
                    out,
                    "<Position><LatitudeDegrees>{:.7}</LatitudeDegrees><LongitudeDegrees>{:.7}</LongitudeDegrees></Position>",
                    p.lat_deg, p.lon_deg
                );
            }
            if let Some(alt) = s.altitude_m {
                let _ = write!(out, "<AltitudeMeters>{alt:.1}</AltitudeMeters>");
            }
            if let Some(d) = s.distance_m {
                let _ = write!(out, "<DistanceMeters>{d:.2}</DistanceMeters>");
            }
            if let Some(hr) = s.heart_rate_bpm {
                let _ = write!(out, "<HeartRateBpm><Value>{hr:.0}</Value></HeartRateBpm>");
            }
            if s.speed_mps.is_some() || s.cadence_spm.is_some() {
                out.push_str("<Extensions><ns3:TPX>");
                if let Some(v) = s.speed_mps {
                    let _ = write!(out, "<ns3:Speed>{v:.3}</ns3:Speed>");
                }
                if let Some(c) = s.cadence_spm {
                    let _ = write!(out, "<ns3:RunCadence>{:.1}</ns3:RunCadence>", c / 2.0);
                }
                out.push_str("</ns3:TPX></Extensions>");
            }
            out.push_str("</Trackpoint>\n");
        }
        out.push_str("    </Track>\n   </Lap>\n");
        lap_start = end;
    }
    out.push_str("  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">
 <Activities><Activity Sport="Running"><Id>2020-12-06T06:36:21Z</Id>
  <Lap StartTime="2020-12-06T06:36:21Z"><TotalTimeSeconds>9</TotalTimeSeconds><DistanceMeters>20</DistanceMeters><Track>
   <Trackpoint><Time>2020-12-06T06:36:21Z</Time><Position><LatitudeDegrees>41.1</LatitudeDegrees><LongitudeDegrees>-8.6</LongitudeDegrees></Position>
    <DistanceMeters>0</DistanceMeters><HeartRateBpm><Value>101</Value></HeartRateBpm>
    <Extensions><ns3:TPX><ns3:Speed>2.9</ns3:Speed><ns3:RunCadence>82</ns3:RunCadence></ns3:TPX></Extensions></Trackpoint>
   <Trackpoint><Time>2020-12-06T06:36:24Z</Time><DistanceMeters>9</DistanceMeters><HeartRateBpm><Value>103</Value></HeartRateBpm></Trackpoint>
  </Track></Lap>
  <Lap StartTime="2020-12-06T06:36:27Z"><Track>
   <Trackpoint><Time>2020-12-06T06:36:27Z</Time><Position><LatitudeDegrees>41.1001</LatitudeDegrees><LongitudeDegrees>-8.6</LongitudeDegrees></Position></Trackpoint>
  </Track></Lap>
 </Activity></Activities></TrainingCenterDatabase>"#;

    #[test]
    fn keeps_trackpoints_without_position_and_doubles_run_cadence() {
        let rec = parse(TCX.as_bytes()).expect("parses");
        assert_eq!(rec.samples.len(), 3);
        assert!(rec.samples[1].position.is_none(), "a dropout stays a sample");
        assert_eq!(rec.samples[1].heart_rate_bpm, Some(103.0));
        assert_eq!(rec.samples[0].cadence_spm, Some(164.0));
        assert_eq!(rec.samples[0].speed_mps, Some(2.9));
        assert_eq!(rec.laps.len(), 2);
        assert_eq!(rec.laps[0].distance_m, Some(20.0));
        assert_eq!(rec.laps[1].start_ms, 6000);
    }

    #[test]
    fn write_then_read_keeps_dropouts_laps_and_channels() {
        let rec = parse(TCX.as_bytes()).expect("parses");
        let again = parse(write(&rec).as_bytes()).expect("re-parses");
        assert_eq!(again.samples, rec.samples);
        assert_eq!(again.laps.len(), rec.laps.len());
        assert_eq!(again.start_time, rec.start_time);
    }

    #[test]
    fn broken_files_say_what_is_wrong() {
        let cases = [
            ("<gpx/>", "not <TrainingCenterDatabase>"),
            ("<TrainingCenterDatabase></TrainingCenterDatabase>", "no <Trackpoint>"),
            ("<TrainingCenterDatabase><Activities>", "truncated"),
            (
                "<TrainingCenterDatabase><Trackpoint><Time>2020-12-06T06:36:21Z</Time><HeartRateBpm><Value>x</Value></HeartRateBpm></Trackpoint></TrainingCenterDatabase>",
                "not a number",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text.as_bytes()).expect_err(text).to_string();
            assert!(err.contains(expected), "{text:?} gave {err:?}, expected {expected:?}");
        }
    }
}
