//! Units in the runner's language: pace in seconds per kilometre, and how paces, distances and
//! durations are written for people ("4:45/km", "5.00 km", "1:02:03").
//!
//! This module only converts and formats; it never rounds values that are stored.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Metres in a kilometre.
pub const METRES_PER_KM: f64 = 1000.0;

/// A pace: seconds needed for one kilometre. Smaller is faster.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct SecondsPerKm(pub f64);

impl SecondsPerKm {
    /// The pace of a speed in metres per second; `None` when standing still or not finite.
    pub fn from_speed_mps(speed_mps: f64) -> Option<Self> {
        (speed_mps.is_finite() && speed_mps > 0.0).then(|| Self(METRES_PER_KM / speed_mps))
    }

    /// The speed in metres per second this pace means.
    pub fn speed_mps(self) -> f64 {
        METRES_PER_KM / self.0
    }

    /// Parses "m:ss" (or "mm:ss"), as runners write a pace per kilometre.
    pub fn parse_min_sec(text: &str) -> Option<Self> {
        let (minutes, seconds) = text.trim().split_once(':')?;
        let minutes: u32 = minutes.trim().parse().ok()?;
        let seconds = seconds.trim();
        if seconds.len() != 2 || !seconds.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seconds: u32 = seconds.parse().ok()?;
        (seconds < 60).then(|| Self(f64::from(minutes * 60 + seconds)))
    }
}

impl fmt::Display for SecondsPerKm {
    /// "4:45" — minutes and whole seconds, rounded to the nearest second.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_finite() || self.0 < 0.0 {
            return f.write_str("-:--");
        }
        let total = self.0.round() as u64;
        write!(f, "{}:{:02}", total / 60, total % 60)
    }
}

impl Serialize for SecondsPerKm {
    /// Written as "m:ss" when it is a whole number of seconds (as people write plans), else as
    /// a number of seconds per kilometre.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() && self.0 >= 0.0 && self.0.fract() == 0.0 {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for SecondsPerKm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PaceVisitor;
        impl serde::de::Visitor<'_> for PaceVisitor {
            type Value = SecondsPerKm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pace per km as \"m:ss\" (e.g. \"4:45\") or a number of seconds per km")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(SecondsPerKm(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(SecondsPerKm(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(SecondsPerKm(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                SecondsPerKm::parse_min_sec(v).ok_or_else(|| {
                    E::custom(format!(
                        "pace \"{v}\" is not \"m:ss\" per km (e.g. \"4:45\") nor a number of seconds per km"
                    ))
                })
            }
        }
        deserializer.deserialize_any(PaceVisitor)
    }
}

/// "1:02:03" for an hour and more, "12:04" below an hour; whole seconds, rounded down so a
/// clock never shows a second that has not happened yet.
pub fn format_clock_s(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-:--".to_owned();
    }
    let total = seconds.floor() as u64;
    let (hours, minutes, secs) = (total / 3600, (total / 60) % 60, total % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{secs:02}") } else { format!("{minutes}:{secs:02}") }
}

/// "1.00 km" from 1000 m; "400 m" below a kilometre.
pub fn format_distance_m(metres: f64) -> String {
    if metres.is_finite() && metres.abs() < METRES_PER_KM {
        format!("{metres:.0} m")
    } else {
        format!("{:.2} km", metres / METRES_PER_KM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_paces() {
        assert_eq!(SecondsPerKm::parse_min_sec("4:45"), Some(SecondsPerKm(285.0)));
        assert_eq!(SecondsPerKm::parse_min_sec("12:05"), Some(SecondsPerKm(725.0)));
        assert_eq!(SecondsPerKm::parse_min_sec("4:5"), None);
        assert_eq!(SecondsPerKm::parse_min_sec("4:60"), None);
        assert_eq!(SecondsPerKm::parse_min_sec("4.45"), None);
        assert_eq!(SecondsPerKm(285.0).to_string(), "4:45");
        assert_eq!(SecondsPerKm(299.6).to_string(), "5:00");
    }

    #[test]
    fn formats_clock_and_distance() {
        assert_eq!(format_clock_s(724.9), "12:04");
        assert_eq!(format_clock_s(3723.0), "1:02:03");
        assert_eq!(format_distance_m(400.0), "400 m");
        assert_eq!(format_distance_m(5000.0), "5.00 km");
    }

    proptest! {
        #[test]
        fn whole_second_paces_round_trip_through_text(seconds in 0u32..6000) {
            let pace = SecondsPerKm(f64::from(seconds));
            prop_assert_eq!(SecondsPerKm::parse_min_sec(&pace.to_string()), Some(pace));
        }

        #[test]
        fn pace_parser_never_panics(text in ".{0,12}") {
            let _ = SecondsPerKm::parse_min_sec(&text);
        }
    }
}
