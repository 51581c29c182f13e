//! Every real recording in ../shared/corpus imports, and its figures match corpus/MANIFEST.md:
//! duration (to the manifest's 0.1 min), distance (within 1 %), pauses and laps.

use std::path::PathBuf;

use pacenote_track::{Recording, TrackSummary};

/// Where the corpus is: `PACENOTE_CORPUS`, else `../shared/corpus` beside the checkout.
fn corpus_dir() -> PathBuf {
    std::env::var_os("PACENOTE_CORPUS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"), PathBuf::from)
}

/// One MANIFEST entry: file name, minutes, kilometres.
#[derive(Debug)]
struct Entry {
    file: String,
    minutes: f64,
    km: f64,
}

fn manifest() -> Vec<Entry> {
    let path = corpus_dir().join("MANIFEST.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (is ../shared beside the checkout?)", path.display()));
    let mut entries = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let mut words = line.split_whitespace();
        let (Some(id), Some(file)) = (words.next(), words.next()) else { continue };
        let is_entry = id.starts_with('D') && id[1..].chars().all(|c| c.is_ascii_digit()) && id.len() > 1;
        if !is_entry || !file.starts_with(id) {
            continue;
        }
        // The figures are on a following line: "..., 47.2 min, 9.01 km, dt 1 s; ...".
        let mut figures = None;
        while let Some(next) = lines.next_if(|l| l.starts_with("    ")) {
            if figures.is_some() {
                continue;
            }
            let parts: Vec<&str> = next.split(", ").map(|p| p.trim().trim_end_matches([',', ';'])).collect();
            let minutes = parts.iter().find_map(|p| {
                p.strip_suffix(" min elapsed").or_else(|| p.strip_suffix(" min"))?.parse::<f64>().ok()
            });
            let km = parts.iter().find_map(|p| p.strip_suffix(" km")?.parse::<f64>().ok());
            if let (Some(minutes), Some(km)) = (minutes, km) {
                figures = Some((minutes, km));
            }
        }
        let (minutes, km) =
            figures.unwrap_or_else(|| panic!("MANIFEST entry {id} has no 'N min, N km' figures"));
        entries.push(Entry { file: file.to_owned(), minutes, km });
    }
    entries
}

fn load(file: &str) -> (Recording, TrackSummary) {
    let path = corpus_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let recording = pacenote_track::import(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    let summary = recording.summary();
    (recording, summary)
}

#[test]
fn the_manifest_lists_every_recording() {
    let entries = manifest();
    assert_eq!(entries.len(), 10, "{entries:#?}");
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "MANIFEST.md")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = entries.iter().map(|e| e.file.clone()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn duration_and_distance_match_the_manifest() {
    for entry in manifest() {
        let (recording, s) = load(&entry.file);
        let minutes = s.duration_s / 60.0;
        assert!(
            (minutes - entry.minutes).abs() <= 0.051,
            "{}: duration {minutes:.2} min, manifest {} min",
            entry.file,
            entry.minutes
        );
        let km = s.distance_m / 1000.0;
        assert!(
            (km - entry.km).abs() <= 0.01 * entry.km,
            "{}: distance {km:.3} km, manifest {} km",
            entry.file,
            entry.km
        );
        assert!(s.has_hr && s.has_gps, "{}: every corpus run has HR and GPS", entry.file);
        assert!(
            recording.samples.windows(2).all(|w| w[0].t_ms <= w[1].t_ms),
            "{}: run clock goes back",
            entry.file
        );
        assert!(s.moving_time_s <= s.duration_s);
    }
}

#[test]
fn pauses_match_the_manifest() {
    // (file prefix, pauses, seconds paused). What the manifest says, and where it differs, why.
    let expected: [(&str, usize, f64); 10] = [
        ("D1_", 0, 0.0), // "No pauses."
        ("D2_", 0, 0.0),
        ("D3_", 0, 0.0),
        ("D4_", 0, 0.0),
        // "19 timer stops (auto-pause), 28.8 min paused": 19 stop events, of which the last ends
        // the run and one (15:11:21) comes while already stopped, so 17 pauses. The device's own
        // session message says elapsed − timer = 8629.4 − 6856.0 = 1773.5 s (29.6 min); the
        // manifest's 28.8 min counts that double stop from its second event.
        ("D5_", 17, 1773.0),
        ("D6_", 2, 132.0 + 85.0), // "pauses of 132 s and 85 s"
        ("D7_", 0, 0.0),
        // "5.1 min of stops" are 27 smart-recording gaps of 11–12 s (306 s in all) while the
        // timer ran: not pauses. Checked separately below.
        ("D8_", 0, 0.0),
        ("D9_", 0, 0.0),
        ("D10_", 0, 0.0),
    ];
    for entry in manifest() {
        let (_, s) = load(&entry.file);
        let (_, pauses, paused_s) = expected
            .iter()
            .find(|(prefix, ..)| entry.file.starts_with(prefix))
            .unwrap_or_else(|| panic!("no expectation for {}", entry.file));
        assert_eq!(s.pauses, *pauses, "{}: pauses", entry.file);
        assert!(
            (s.paused_s - paused_s).abs() <= 1.0,
            "{}: paused {} s, expected {paused_s}",
            entry.file,
            s.paused_s
        );
    }
    let (d6, _) = load("D6_tcx_pauses_dropouts_12k.tcx");
    let lengths: Vec<u64> = d6.pauses.iter().map(|p| p.duration_ms() / 1000).collect();
    assert_eq!(lengths, vec![132, 85]);
}

#[test]
fn smart_recording_stops_in_d8_are_short_gaps_not_pauses() {
    let (recording, _) = load("D8_garminconnect_gpx_hr_cad_13k.gpx");
    let stopped_ms: u64 =
        recording.samples.windows(2).map(|w| w[1].t_ms - w[0].t_ms).filter(|gap| *gap > 10_000).sum();
    assert_eq!(stopped_ms, 306_000, "the manifest's 5.1 min of stops");
}

#[test]
fn laps_channels_and_dropouts_match_the_manifest() {
    let laps = |file: &str| load(file).1.laps;
    assert_eq!(laps("D1_fenix2_tempo_9k.fit"), 4);
    assert_eq!(laps("D2_fr955_stryd_structured_10k.fit"), 7);
    assert_eq!(laps("D5_fr920xt_stryd_autopause_17k.fit"), 11);
    assert_eq!(laps("D6_tcx_pauses_dropouts_12k.tcx"), 13);
    // 20 × 1 km laps and the last 40 m.
    assert_eq!(laps("D10_suunto_20k_short_dropouts.fit"), 21);

    // D6: 53 trackpoints carry a time but no position; they are kept.
    let (d6, s6) = load("D6_tcx_pauses_dropouts_12k.tcx");
    assert_eq!(d6.samples.iter().filter(|s| s.position.is_none()).count(), 53);
    assert!(s6.has_cadence);
    // Run cadence is per leg in the file; we report steps per minute.
    let cadences: Vec<f64> = d6.samples.iter().filter_map(|s| s.cadence_spm).filter(|c| *c > 0.0).collect();
    let mean = cadences.iter().sum::<f64>() / cadences.len() as f64;
    assert!((140.0..200.0).contains(&mean), "mean cadence {mean} spm");

    // Phone GPX files: no cadence; D7 has HR on about 68 % of points.
    let (d7, s7) = load("D7_nrc_phone_5k.gpx");
    assert!(!s7.has_cadence);
    let hr_share =
        d7.samples.iter().filter(|s| s.heart_rate_bpm.is_some()).count() as f64 / d7.samples.len() as f64;
    assert!((0.6..0.75).contains(&hr_share), "D7 HR share {hr_share}");
    // D8: Garmin TrackPointExtension HR (70–171) and cadence.
    let (d8, s8) = load("D8_garminconnect_gpx_hr_cad_13k.gpx");
    assert!(s8.has_cadence);
    let hr: Vec<f64> = d8.samples.iter().filter_map(|s| s.heart_rate_bpm).collect();
    assert_eq!(hr.iter().copied().fold(f64::MAX, f64::min), 70.0);
    assert_eq!(hr.iter().copied().fold(0.0, f64::max), 171.0);
    // D10: GPS on 97 % of records, longest gap 19 s.
    let s10 = load("D10_suunto_20k_short_dropouts.fit").1;
    assert!((0.96..0.98).contains(&s10.gps_share), "{}", s10.gps_share);
    assert_eq!(s10.longest_gps_gap_s, 19.0);
}

#[test]
fn damaged_copies_of_real_files_fail_cleanly() {
    for entry in manifest() {
        let bytes = std::fs::read(corpus_dir().join(&entry.file)).expect("readable");
        for cut in [0, 1, 13, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            // Truncated: an error or a shorter run, never a panic.
            if let Ok(rec) = pacenote_track::import(&bytes[..cut]) {
                assert!(rec.samples.len() <= load(&entry.file).0.samples.len());
            }
        }
        let mut flipped = bytes.clone();
        for i in (0..flipped.len()).step_by(997) {
            flipped[i] ^= 0x5a;
        }
        let _ = pacenote_track::import(&flipped);
    }
}

#[test]
fn a_damaged_clock_never_costs_an_input_per_second_of_its_leap() {
    // 25 copies of D1 with a few bits flipped at spread-out places (as the issue-14 probe did:
    // two of its copies read as 722,352 h long): each is refused, or its inputs stay within a
    // run's worth — not one tick per second of a leap that would fill the memory.
    let file = manifest().into_iter().find(|e| e.file.starts_with("D1_")).expect("D1 in the manifest").file;
    let bytes = std::fs::read(corpus_dir().join(&file)).expect("readable");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for copy in 0..25 {
        let mut flipped = bytes.clone();
        for _ in 0..8 {
            let at = 14 + (next() as usize) % (flipped.len() - 16);
            flipped[at] ^= 1 << (next() % 8);
        }
        let Ok(recording) = pacenote_track::import(&flipped) else { continue };
        let inputs = pacenote_track::replay::to_inputs(&recording);
        let bound = 8 * recording.samples.len() + 2 * 600;
        assert!(
            inputs.len() <= bound,
            "copy {copy}: {} inputs for {} samples",
            inputs.len(),
            recording.samples.len()
        );
    }
}
