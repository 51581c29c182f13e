//! The weather at the start of a run, as the host passes it in or as it was preloaded with the
//! plan: temperature and dew point, checked. What it does to pace targets is
//! [`crate::coaching::heat`]'s business.
//!
//! Must not: adjust anything; this is the value and its checks.

use serde::{Deserialize, Serialize};

/// The weather at the start of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub temp_c: f64,
    pub dew_point_c: f64,
}

/// A problem with the conditions given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HeatError {
    #[error("temperature {0} °C is not a running temperature (expected −40 to 50 °C)")]
    Temperature(f64),
    #[error("dew point {dew_point_c} °C must be a number no higher than the temperature {temp_c} °C")]
    DewPoint { temp_c: f64, dew_point_c: f64 },
}

pub(crate) fn fahrenheit(c: f64) -> f64 {
    c * 9.0 / 5.0 + 32.0
}

impl Conditions {
    pub fn new(temp_c: f64, dew_point_c: f64) -> Result<Self, HeatError> {
        if !(temp_c.is_finite() && (-40.0..=50.0).contains(&temp_c)) {
            return Err(HeatError::Temperature(temp_c));
        }
        // Dew point cannot exceed the temperature (a little rounding allowed).
        if !(dew_point_c.is_finite() && dew_point_c <= temp_c + 0.5) {
            return Err(HeatError::DewPoint { temp_c, dew_point_c });
        }
        Ok(Self { temp_c, dew_point_c })
    }

    /// Temperature plus dew point, °F: the measure the table is in.
    pub fn sum_f(&self) -> f64 {
        fahrenheit(self.temp_c) + fahrenheit(self.dew_point_c)
    }
}
