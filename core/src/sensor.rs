//! Sensor readings as the host passes them in (DESIGN §3): location fixes from
//! CoreLocation / FusedLocation, heart rate from a BLE strap, cadence from the phone's pedometer
//! or a footpod. Every reading carries the host's monotonic run clock in milliseconds.
//!
//! These are plain values; nothing here judges them. The signal modules decide what to trust.

use serde::{Deserialize, Serialize};

/// One position fix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocationFix {
    pub t_ms: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Horizontal accuracy the platform reports (about a 68 % radius), metres.
    pub horizontal_accuracy_m: f64,
    /// Doppler speed, when the platform gives one (far better than differencing positions).
    pub speed_mps: Option<f64>,
    pub speed_accuracy_mps: Option<f64>,
    pub altitude_m: Option<f64>,
}

/// One heart-rate reading from a strap or watch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeartRateReading {
    pub t_ms: u64,
    pub bpm: f64,
}

/// One cadence reading, in steps per minute (both legs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CadenceReading {
    pub t_ms: u64,
    pub spm: f64,
}

/// The phone's barometric relative altitude (iOS CMAltimeter, Android TYPE_PRESSURE turned
/// into metres), or a watch's barometric altitude: any zero, good to a few decimetres over
/// minutes — far better than GPS altitude for grade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AltitudeReading {
    pub t_ms: u64,
    pub altitude_m: f64,
}

/// A speed from a device that measures it directly (treadmill, footpod), with no position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpeedReading {
    pub t_ms: u64,
    pub speed_mps: f64,
}
