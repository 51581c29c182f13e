//! WAV files: a rendered coach track written out, and a speech fallback's output read back.
//! Mono 16-bit at [`SAMPLE_RATE_HZ`] on the way out; any channel count and 8–16 bits in.
//!
//! Must not: resample (a caller with another rate says so; the rate is returned).

use crate::voice::SAMPLE_RATE_HZ;

/// Writes a track as 16-bit mono WAV.
pub fn write_wav(path: &std::path::Path, samples: &[f32]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|e| format!("{}: {e}", path.display()))?;
    for s in samples {
        writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).map_err(|e| e.to_string())?;
    }
    writer.finalize().map_err(|e| e.to_string())
}

/// Reads a mono 16-bit WAV into −1..1 samples (for the speech fallback's output and tests).
pub fn read_wav(path: &std::path::Path) -> Result<(u32, Vec<f32>), String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i32> = reader.samples::<i32>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let scale = f32::from(1u16 << (spec.bits_per_sample.clamp(8, 16) - 1));
    let mono = raw
        .chunks(channels)
        .map(|f| f.iter().map(|s| *s as f32 / scale).sum::<f32>() / f.len() as f32)
        .collect();
    Ok((spec.sample_rate, mono))
}
