//! Simulated runs through the file formats and plan progress: what the simulator writes, the
//! importers read back unchanged, and a runner following a plan completes it step by step.

use pacenote_core::BUNDLED_PLANS;
use pacenote_core::plan::Plan;
use pacenote_core::progress::{PlanProgress, ProgressEvent};
use pacenote_track::simulate::{SimConfig, simulate_plan};
use pacenote_track::{Sample, gpx, tcx};

fn plan(name: &str) -> Plan {
    let (_, json) = BUNDLED_PLANS.iter().find(|(n, _)| *n == name).expect("bundled plan");
    Plan::from_json(json.as_bytes()).expect("valid")
}

#[test]
fn a_simulated_run_survives_tcx_with_dropouts_pauses_and_laps() {
    let mut config = SimConfig::phone(11);
    config.stops_s.push((400.0, 45.0));
    config.gps.dropouts_s.push((1200.0, 25.0));
    let run = simulate_plan(&plan("intervals-5x1k.json"), &config);
    let back = pacenote_track::import(tcx::write(&run.recording).as_bytes()).expect("reads its own TCX");
    assert_eq!(back.samples.len(), run.recording.samples.len());
    for (a, b) in run.recording.samples.iter().zip(&back.samples) {
        assert_same_sample(a, b);
    }
    assert_eq!(back.pauses, run.recording.pauses, "a 45 s stop is a gap the importer calls a pause");
    assert_eq!(back.laps.last().map(|l| l.end_ms), run.recording.laps.last().map(|l| l.end_ms));
    let (d_back, d_sim) = (back.summary().distance_m, run.recording.summary().distance_m);
    assert!((d_back - d_sim).abs() < 1.0, "{d_back} vs {d_sim}");
}

/// Same sample, up to what the file keeps: 7 decimals of a degree (1 cm), no GPS accuracy
/// in TCX.
fn assert_same_sample(a: &Sample, b: &Sample) {
    assert_eq!(a.t_ms, b.t_ms);
    assert_eq!(a.heart_rate_bpm, b.heart_rate_bpm, "at {} ms", a.t_ms);
    assert_eq!(a.cadence_spm, b.cadence_spm, "at {} ms", a.t_ms);
    assert_eq!(a.speed_mps, b.speed_mps, "at {} ms", a.t_ms);
    assert_eq!(a.altitude_m, b.altitude_m, "at {} ms", a.t_ms);
    match (a.position, b.position) {
        (Some(pa), Some(pb)) => {
            assert!(
                (pa.lat_deg - pb.lat_deg).abs() < 1e-6 && (pa.lon_deg - pb.lon_deg).abs() < 1e-6,
                "at {} ms",
                a.t_ms
            );
        }
        (None, None) => {}
        _ => panic!("position kept or lost at {} ms", a.t_ms),
    }
}

#[test]
fn gpx_keeps_positions_and_sensor_channels() {
    let run = simulate_plan(&plan("tempo-20.json"), &SimConfig::phone(5));
    let back =
        pacenote_track::import(gpx::write(&run.recording, "Tempo").as_bytes()).expect("reads its own GPX");
    assert_eq!(back.samples.len(), run.recording.samples.len());
    for (a, b) in run.recording.samples.iter().zip(&back.samples) {
        assert_same_sample(a, b);
    }
}

#[test]
fn every_bundled_plan_can_be_run_to_the_end() {
    for (name, _) in BUNDLED_PLANS {
        let plan = plan(name);
        let run = simulate_plan(&plan, &SimConfig::phone(2));
        let mut progress = PlanProgress::new(&plan);
        let mut started = Vec::new();
        let mut complete = false;
        progress.start(0);
        let mut laps = run.recording.laps.iter().peekable();
        for t in &run.truth {
            for e in progress.update(t.t_ms, t.distance_m) {
                if let ProgressEvent::StepStarted { index, .. } = e {
                    started.push(index);
                }
            }
            while let Some(lap) = laps.next_if(|l| l.end_ms <= t.t_ms) {
                for e in progress.lap(lap.end_ms, t.distance_m) {
                    complete |= matches!(e, ProgressEvent::PlanComplete { .. });
                    if let ProgressEvent::StepStarted { index, .. } = e {
                        started.push(index);
                    }
                }
            }
        }
        complete |= progress.is_complete();
        let steps = plan.expanded_steps().len();
        assert!(complete, "{name}: the runner did not finish the plan");
        assert_eq!(started, (1..steps).collect::<Vec<_>>(), "{name}: every step starts once, in order");
    }
}
