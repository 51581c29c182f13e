//! FIT import (Garmin, Suunto, Coros, Wahoo): `record` messages become samples, timer stop/start
//! events become pauses, `lap` messages laps. Decoding is fitparser's; this module only maps
//! the decoded messages onto a [`Recording`].
//!
//! Running cadence in FIT is per leg (strides/min), so it is doubled to steps per minute.

use chrono::{DateTime, Utc};
use fitparser::de::{DecodeOption, FitObject, FitStreamProcessor};
use fitparser::profile::MesgNum;
use fitparser::{FitDataRecord, Value};

use crate::TrackError;
use crate::recording::{Format, Lap, Pause, Position, Recording, Sample};

/// FIT stores latitude and longitude as semicircles: 2^31 of them make 180 degrees.
const DEGREES_PER_SEMICIRCLE: f64 = 180.0 / 2_147_483_648.0;

/// Reads a FIT file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Recording, TrackError> {
    if bytes.len() < 12 || &bytes[8..12] != b".FIT" {
        return Err(TrackError::Format("not a FIT file: no \".FIT\" signature in the header".into()));
    }
    // fitparser is a decoder of outside data; a panic in it must become an error, not a crash.
    let decoded = std::panic::catch_unwind(|| {
        let strict = decode(bytes, false);
        match &strict.1 {
            // A wrong checksum: the file is damaged somewhere, but usually only a little.
            Some(problem) if problem.to_ascii_lowercase().contains("crc") => {
                let (records, rest) = decode(bytes, true);
                let note = format!("the file's checksum does not match ({problem}): it may be damaged");
                (records, Some(rest.map_or(note.clone(), |r| format!("{note}; {r}"))))
            }
            _ => strict,
        }
    })
    .map_err(|_| TrackError::Format("the FIT decoder failed on this file (corrupt data)".into()))?;
    let (records, problem) = decoded;
    let has_samples = records.iter().any(|r| r.kind() == MesgNum::Record);
    match problem {
        Some(problem) if !has_samples => {
            Err(TrackError::Format(format!("corrupt or truncated FIT data: {problem}")))
        }
        Some(problem) => {
            let mut rec = from_records(&records)?;
            rec.warnings.push(format!(
                "FIT data is damaged ({problem}); kept the {} messages before the damage",
                records.len()
            ));
            Ok(rec)
        }
        None => from_records(&records),
    }
}

/// Decodes messages until the end or the first error, keeping what came before the error:
/// a watch that died mid-write still leaves a run worth keeping.
fn decode(bytes: &[u8], skip_crc: bool) -> (Vec<FitDataRecord>, Option<String>) {
    let mut processor = FitStreamProcessor::new();
    if skip_crc {
        processor.add_option(DecodeOption::SkipHeaderCrcValidation);
        processor.add_option(DecodeOption::SkipDataCrcValidation);
    }
    let mut records = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (next, object) = match processor.deserialize_next(rest) {
            Ok(ok) => ok,
            Err(e) => return (records, Some(format!("{e} at byte {}", bytes.len() - rest.len()))),
        };
        match object {
            FitObject::Crc(_) => processor.reset(),
            FitObject::DataMessage(message) => match processor.decode_message(message) {
                Ok(record) => records.push(record),
                Err(e) => return (records, Some(format!("{e} at byte {}", bytes.len() - rest.len()))),
            },
            FitObject::Header(_) | FitObject::DefinitionMessage(_) => {}
        }
        rest = next;
    }
    (records, None)
}

fn from_records(records: &[FitDataRecord]) -> Result<Recording, TrackError> {
    let mut rec = Recording::new(Format::Fit);
    // Absolute times first; the run clock starts at the first record with a position or data.
    let mut samples: Vec<(DateTime<Utc>, Sample)> = Vec::new();
    let mut stops: Vec<(DateTime<Utc>, bool)> = Vec::new(); // (time, timer running after it)
    let mut laps: Vec<(DateTime<Utc>, DateTime<Utc>, Option<f64>)> = Vec::new();
    for record in records {
        match record.kind() {
            MesgNum::Record => {
                let Some(time) = timestamp(record) else { continue };
                let lat = field(record, "position_lat").and_then(number);
                let lon = field(record, "position_long").and_then(number);
                let position = match (lat, lon) {
                    (Some(lat), Some(lon)) => Some(Position {
                        lat_deg: to_degrees(lat, field_units(record, "position_lat")),
                        lon_deg: to_degrees(lon, field_units(record, "position_long")),
                        accuracy_m: None,
                    }),
                    _ => None,
                };
                let cadence = field(record, "cadence").and_then(number).map(|strides| {
                    let fraction = field(record, "fractional_cadence").and_then(number).unwrap_or(0.0);
                    2.0 * (strides + fraction)
                });
                samples.push((
                    time,
                    Sample {
                        t_ms: 0,
                        position,
                        speed_mps: first_number(record, &["enhanced_speed", "speed"]),
                        heart_rate_bpm: first_number(record, &["heart_rate"]),
                        cadence_spm: cadence,
                        altitude_m: first_number(record, &["enhanced_altitude", "altitude"]),
                        distance_m: first_number(record, &["distance"]),
                    },
                ));
            }
            MesgNum::Event => {
                let Some(time) = timestamp(record) else { continue };
                let is_timer = field(record, "event").is_some_and(|v| is_named(v, "timer", 0));
                if !is_timer {
                    continue;
                }
                let Some(kind) = field(record, "event_type") else { continue };
                if is_named(kind, "start", 0) {
                    stops.push((time, true));
                } else if is_named(kind, "stop", 1)
                    || is_named(kind, "stop_all", 4)
                    || is_named(kind, "stop_disable_all", 9)
                {
                    stops.push((time, false));
                }
            }
            MesgNum::Lap => {
                let stamp = timestamp(record);
                let Some(start) = field(record, "start_time").and_then(as_time).or(stamp) else { continue };
                // Some devices stamp a lap with its start; its elapsed time says where it ends.
                let elapsed = first_number(record, &["total_elapsed_time"])
                    .filter(|s| *s >= 0.0 && *s < 7.0 * 86_400.0)
                    .map(|s| start + chrono::Duration::milliseconds((s * 1000.0) as i64));
                let end = match (stamp, elapsed) {
                    (Some(a), Some(b)) => a.max(b),
                    (a, b) => a.or(b).unwrap_or(start),
                };
                laps.push((start, end, first_number(record, &["total_distance"])));
            }
            _ => {}
        }
    }
    if samples.is_empty() {
        return Err(TrackError::Format(
            "the FIT file has no record messages with a timestamp: not an activity".into(),
        ));
    }
    let start = samples[0].0;
    rec.start_time = Some(start);
    let clock = |t: DateTime<Utc>| -> u64 { (t - start).num_milliseconds().max(0) as u64 };
    rec.samples = samples.into_iter().map(|(t, s)| Sample { t_ms: clock(t), ..s }).collect();
    rec.tidy()?;
    let end = rec.duration_ms();
    // Pauses: from each stop to the next start (a stop with no later start runs to the end).
    stops.sort_by_key(|(t, _)| *t);
    let mut stopped_at: Option<u64> = None;
    for (t, running) in stops {
        let t_ms = clock(t).min(end);
        match (running, stopped_at) {
            (false, None) => stopped_at = Some(t_ms),
            (true, Some(from)) => {
                if t_ms > from {
                    rec.pauses.push(Pause { start_ms: from, end_ms: t_ms });
                }
                stopped_at = None;
            }
            _ => {}
        }
    }
    rec.laps = laps
        .into_iter()
        .map(|(s, e, distance_m)| Lap { start_ms: clock(s), end_ms: clock(e), distance_m })
        .collect();
    rec.laps.sort_by_key(|l| l.start_ms);
    rec.tidy()?;
    Ok(rec)
}

fn field<'a>(record: &'a FitDataRecord, name: &str) -> Option<&'a Value> {
    record.fields().iter().find(|f| f.name() == name).map(|f| f.value())
}

fn field_units<'a>(record: &'a FitDataRecord, name: &str) -> &'a str {
    record.fields().iter().find(|f| f.name() == name).map_or("", |f| f.units())
}

fn timestamp(record: &FitDataRecord) -> Option<DateTime<Utc>> {
    field(record, "timestamp").and_then(as_time)
}

fn as_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Timestamp(t) => Some(t.with_timezone(&Utc)),
        _ => None,
    }
}

/// A numeric value; `None` for strings, arrays, invalid markers and non-finite numbers.
fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Byte(v) | Value::Enum(v) | Value::UInt8(v) | Value::UInt8z(v) => f64::from(*v),
        Value::SInt8(v) => f64::from(*v),
        Value::SInt16(v) => f64::from(*v),
        Value::UInt16(v) | Value::UInt16z(v) => f64::from(*v),
        Value::SInt32(v) => f64::from(*v),
        Value::UInt32(v) | Value::UInt32z(v) => f64::from(*v),
        Value::SInt64(v) => *v as f64,
        Value::UInt64(v) | Value::UInt64z(v) => *v as f64,
        Value::Float32(v) => f64::from(*v),
        Value::Float64(v) => *v,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn first_number(record: &FitDataRecord, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|name| field(record, name).and_then(number))
}

/// An enum field is decoded to its profile name when fitparser knows it, else left a number.
fn is_named(value: &Value, name: &str, code: u8) -> bool {
    match value {
        Value::String(s) => s == name,
        Value::Enum(v) | Value::UInt8(v) => *v == code,
        _ => false,
    }
}

fn to_degrees(value: f64, units: &str) -> f64 {
    if units == "semicircles" || value.abs() > 180.0 { value * DEGREES_PER_SEMICIRCLE } else { value }
}
