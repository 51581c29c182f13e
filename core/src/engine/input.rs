//! What goes into a run session: inputs with the host's run clock, the engine's settings, and
//! what the host knows at the start (weather, the runner's week).
//!
//! Must not: hold behaviour; these are the values the engine is fed.

use serde::{Deserialize, Serialize};

use crate::coaching::goals::ProcessStatus;
use crate::profile::Chattiness;
use crate::sensor::{AltitudeReading, CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix};
use crate::weather::Conditions;

/// Something the runner said about the run (voice or a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerFeedback {
    /// This feels too hard: the coach loosens pace targets and stops pushing.
    TooHard,
    /// This feels easy.
    TooEasy,
    /// Something hurts: no more pushing for the rest of the run, and a safety cue.
    Pain,
}

/// An input to the engine, with the host's run clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    Start {
        t_ms: u64,
    },
    Fix(LocationFix),
    HeartRate(HeartRateReading),
    Cadence(CadenceReading),
    DeviceSpeed(DeviceSpeedReading),
    /// Barometric relative altitude (preferred to GPS altitude for grade).
    Altitude(AltitudeReading),
    Tick {
        t_ms: u64,
    },
    Pause {
        t_ms: u64,
    },
    Resume {
        t_ms: u64,
    },
    Lap {
        t_ms: u64,
    },
    SkipStep {
        t_ms: u64,
    },
    Finish {
        t_ms: u64,
    },
    Feedback {
        t_ms: u64,
        feedback: RunnerFeedback,
    },
    CueFinished {
        utterance_id: u64,
        at_ms: u64,
    },
    /// The post-run check-in's answer: how hard it felt, 1 (very easy) to 10 (maximal).
    /// Taken after the finish too.
    CheckIn {
        t_ms: u64,
        effort: u8,
    },
}

/// A sensor reading whose required number is not a number (NaN or infinite): what it was and
/// which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{input} at {t_ms} ms: {field} is not a finite number")]
pub struct NotFinite {
    /// The kind of input (`fix`, `heart_rate`, …).
    pub input: &'static str,
    pub field: &'static str,
    pub t_ms: u64,
}

impl Input {
    /// The input with every number finite, or why it cannot be: a reading whose required
    /// number is NaN or infinite (a sensor glitch) is refused ([`NotFinite`]); an optional one
    /// (a fix's Doppler speed, its accuracy or altitude) is dropped and the rest kept. The
    /// engine ignores such readings anyway, but a journal stores inputs as JSON, which has no
    /// NaN: what is stored has to load back (issue 14).
    pub fn finite(self) -> Result<Self, NotFinite> {
        let t_ms = self.t_ms();
        self.map_numbers(
            |input, field, value| {
                if value.is_finite() { Ok(value) } else { Err(NotFinite { input, field, t_ms }) }
            },
            |_, value| value.filter(|v| v.is_finite()),
        )
    }

    /// The input at its sensor's resolution: every number rounded to the decimals below which
    /// no phone or watch sensor measures anything (see the constants). A platform's float
    /// widened to a double prints 17 digits (Android's `getAccuracy()` 3.9f is
    /// 3.9000000953674316); those digits are conversion noise that a journal, the wire and a
    /// server would store for nothing, and that no coaching decision can see. The recorder
    /// hands the engine this rounded input and journals the same, so a replay is still exact.
    pub fn at_sensor_resolution(self) -> Self {
        let round = |field: &str, value: f64| {
            let decimals = match field {
                "lat_deg" | "lon_deg" => DEGREE_DECIMALS,
                "speed_mps" | "speed_accuracy_mps" => SPEED_DECIMALS,
                "bpm" | "spm" => RATE_DECIMALS,
                _ => METRE_DECIMALS,
            };
            let scale = 10f64.powi(decimals);
            // Dividing an integer by an exact power of ten gives the double nearest the
            // decimal, which prints back as those few digits.
            let rounded = (value * scale).round() / scale;
            if rounded.is_finite() { rounded } else { value }
        };
        let rounded: Result<Self, std::convert::Infallible> =
            self.map_numbers(|_, field, v| Ok(round(field, v)), |field, v| v.map(|v| round(field, v)));
        rounded.unwrap_or_else(|never| match never {})
    }

    /// The input with each reading's numbers passed through `required(input, field, value)`
    /// (which may refuse the reading) and `optional(field, value)`; inputs without readings
    /// as they are.
    fn map_numbers<E>(
        self,
        required: impl Fn(&'static str, &'static str, f64) -> Result<f64, E>,
        optional: impl Fn(&'static str, Option<f64>) -> Option<f64>,
    ) -> Result<Self, E> {
        Ok(match self {
            Self::Fix(fix) => Self::Fix(LocationFix {
                lat_deg: required("fix", "lat_deg", fix.lat_deg)?,
                lon_deg: required("fix", "lon_deg", fix.lon_deg)?,
                horizontal_accuracy_m: required("fix", "horizontal_accuracy_m", fix.horizontal_accuracy_m)?,
                speed_mps: optional("speed_mps", fix.speed_mps),
                speed_accuracy_mps: optional("speed_accuracy_mps", fix.speed_accuracy_mps),
                altitude_m: optional("altitude_m", fix.altitude_m),
                ..fix
            }),
            Self::HeartRate(r) => {
                Self::HeartRate(HeartRateReading { bpm: required("heart_rate", "bpm", r.bpm)?, ..r })
            }
            Self::Cadence(r) => {
                Self::Cadence(CadenceReading { spm: required("cadence", "spm", r.spm)?, ..r })
            }
            Self::DeviceSpeed(r) => Self::DeviceSpeed(DeviceSpeedReading {
                speed_mps: required("device_speed", "speed_mps", r.speed_mps)?,
                ..r
            }),
            Self::Altitude(r) => Self::Altitude(AltitudeReading {
                altitude_m: required("altitude", "altitude_m", r.altitude_m)?,
                ..r
            }),
            Self::Start { .. }
            | Self::Tick { .. }
            | Self::Pause { .. }
            | Self::Resume { .. }
            | Self::Lap { .. }
            | Self::SkipStep { .. }
            | Self::Finish { .. }
            | Self::Feedback { .. }
            | Self::CueFinished { .. }
            | Self::CheckIn { .. } => self,
        })
    }

    /// The run clock the input carries.
    pub fn t_ms(&self) -> u64 {
        match *self {
            Self::Fix(f) => f.t_ms,
            Self::HeartRate(r) => r.t_ms,
            Self::Cadence(r) => r.t_ms,
            Self::DeviceSpeed(r) => r.t_ms,
            Self::Altitude(r) => r.t_ms,
            Self::CueFinished { at_ms, .. } => at_ms,
            Self::Start { t_ms }
            | Self::Tick { t_ms }
            | Self::Pause { t_ms }
            | Self::Resume { t_ms }
            | Self::Lap { t_ms }
            | Self::SkipStep { t_ms }
            | Self::Finish { t_ms }
            | Self::Feedback { t_ms, .. }
            | Self::CheckIn { t_ms, .. } => t_ms,
        }
    }
}

/// Latitude and longitude to 1e-7° (1.1 cm): finer than a FIT file's semicircles (8.4e-8° is
/// the unit, but watches round to metres of truth) and as fine as a GPX file's usual 7
/// decimals; GPS errs by metres.
const DEGREE_DECIMALS: i32 = 7;
/// Accuracies and altitudes to the centimetre (a barometer resolves decimetres; FIT stores
/// altitude in 0.2 m).
const METRE_DECIMALS: i32 = 2;
/// Speeds to 1 mm/s, a FIT file's `enhanced_speed` unit (at 5:00/km, 0.05 s/km).
const SPEED_DECIMALS: i32 = 3;
/// Heart rate and cadence to a tenth (straps send whole beats a minute; a footpod's cadence
/// comes in halves at most).
const RATE_DECIMALS: i32 = 1;

/// How the engine behaves, beyond the plan and the runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub chattiness: Chattiness,
    /// Pause the timer when the runner stops (traffic lights).
    pub auto_pause: bool,
    /// The audio layer reports `cue_finished`: speech lasts until it does (with a generous
    /// safety limit), not until the estimate from the words runs out.
    pub audio_reports_finish: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { chattiness: Chattiness::Normal, auto_pause: true, audio_reports_finish: false }
    }
}

/// What else the engine knows at the start of a run, beyond plan, profile and settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    /// The weather now (overrides conditions preloaded with the plan): pace targets are eased.
    pub conditions: Option<Conditions>,
    /// The runner's process goals before this run: celebrated at the finish.
    pub process: Option<ProcessStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_at_sensor_resolution_print_as_a_sensor_reads() {
        let fix = Input::Fix(LocationFix {
            t_ms: 5000,
            lat_deg: 51.500714249999997,
            lon_deg: -0.000_404_239_130_434_782_6,
            horizontal_accuracy_m: f64::from(3.9f32),
            speed_mps: Some(f64::from(2.83f32)),
            speed_accuracy_mps: None,
            altitude_m: Some(35.123_456),
        });
        assert_eq!(
            serde_json::to_string(&fix.at_sensor_resolution()).expect("json"),
            r#"{"type":"fix","t_ms":5000,"lat_deg":51.5007142,"lon_deg":-0.0004042,"horizontal_accuracy_m":3.9,"speed_mps":2.83,"speed_accuracy_mps":null,"altitude_m":35.12}"#
        );
        let hr = Input::HeartRate(HeartRateReading { t_ms: 1, bpm: f64::from(151.3f32) });
        assert_eq!(hr.at_sensor_resolution(), Input::HeartRate(HeartRateReading { t_ms: 1, bpm: 151.3 }));
        // Rounding twice changes nothing; huge values are left alone rather than made infinite.
        let once = fix.at_sensor_resolution();
        assert_eq!(once.at_sensor_resolution(), once);
        let far = Input::Cadence(CadenceReading { t_ms: 1, spm: f64::MAX });
        assert_eq!(far.at_sensor_resolution(), far);
    }

    #[test]
    fn non_finite_readings_are_refused_and_optional_numbers_dropped() {
        let fix = LocationFix {
            t_ms: 5000,
            lat_deg: 51.5,
            lon_deg: -0.1,
            horizontal_accuracy_m: 4.0,
            speed_mps: Some(f64::NAN),
            speed_accuracy_mps: Some(f64::INFINITY),
            altitude_m: Some(12.0),
        };
        let kept = Input::Fix(fix).finite().expect("a fix with a position");
        assert_eq!(kept, Input::Fix(LocationFix { speed_mps: None, speed_accuracy_mps: None, ..fix }));
        // What is kept round-trips through JSON.
        let json = serde_json::to_string(&kept).expect("serialises");
        assert_eq!(serde_json::from_str::<Input>(&json).expect("loads"), kept);

        let refused = Input::Fix(LocationFix { lat_deg: f64::NAN, ..fix }).finite().unwrap_err();
        assert_eq!(refused.to_string(), "fix at 5000 ms: lat_deg is not a finite number");
        for (input, field) in [
            (Input::HeartRate(HeartRateReading { t_ms: 1, bpm: f64::NAN }), "bpm"),
            (Input::HeartRate(HeartRateReading { t_ms: 1, bpm: f64::INFINITY }), "bpm"),
            (Input::Cadence(CadenceReading { t_ms: 1, spm: f64::NAN }), "spm"),
            (Input::DeviceSpeed(DeviceSpeedReading { t_ms: 1, speed_mps: f64::NEG_INFINITY }), "speed_mps"),
            (Input::Altitude(AltitudeReading { t_ms: 1, altitude_m: f64::NAN }), "altitude_m"),
        ] {
            assert_eq!(input.finite().unwrap_err().field, field);
        }
        assert_eq!(Input::Tick { t_ms: 9 }.finite(), Ok(Input::Tick { t_ms: 9 }));
    }
}
