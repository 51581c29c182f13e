//! The server on loopback with the real client: upload and confirmation, one user never
//! reaching another's runs, malformed and oversized bodies, and preload by content hash.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacenote_core::engine::Input;
use pacenote_core::plan::Plan;
use pacenote_core::sensor::LocationFix;
use pacenote_sync::Store;
use pacenote_sync::client::{Client, HttpResponse, Method, RetryPolicy, Traffic, UreqTransport};
use pacenote_sync::preload::{
    is_ready_offline, preload_notes, preload_pack, preload_plan, save_partial_blob,
};
use pacenote_sync::recorder::{Recorder, SessionSetup};
use pacenote_sync::upload::Syncer;
use pacenote_sync::wire::{Chunk, ChunkEncoding, MAX_CHUNK_BODY_BYTES, encode_chunk, encode_chunk_as};

use super::*;
use crate::test_backends::{Backend, TestDatabase};

crate::on_both_backends!(
    a_run_uploads_once_and_leaves_the_phone_only_after_finalize,
    one_user_never_reaches_another_users_runs,
    a_revoked_or_rotated_token_writes_no_chunk_though_the_server_knew_it,
    claims_beyond_what_a_run_can_hold_are_refused_and_the_scheme_is_any_case,
    health_is_answered_without_a_token,
    connections_that_stop_mid_headers_are_closed,
    a_finalized_runs_header_no_longer_changes_but_a_retry_is_fine,
    malformed_and_oversized_bodies_get_a_4xx_that_says_what_is_wrong,
    plans_and_packs_preload_by_content_hash_and_make_a_run_ready_offline,
    a_new_phone_restores_the_runners_history_once,
    a_user_past_the_rate_limit_waits_and_the_operator_sees_it_all,
    chunk_encodings_are_negotiated_with_old_and_new_peers,
);

const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn server(dir: &std::path::Path, backend: Backend) -> (RunningServer, Arc<dyn Storage>) {
    server_limited(dir, backend, Some(crate::ops::RateLimit::default()))
}

fn server_limited(
    dir: &std::path::Path,
    backend: Backend,
    limit: Option<crate::ops::RateLimit>,
) -> (RunningServer, Arc<dyn Storage>) {
    let storage = TestDatabase::new(backend, dir).open();
    storage.add_user("alice", ALICE).expect("alice");
    storage.add_user("bob", BOB).expect("bob");
    let mut content = Content::default();
    content.add_plans(&repo().join("core/plans")).expect("plans");
    content.add_packs(&repo().join("audio/packs")).expect("packs");
    let state = AppState::with_rate_limit(storage.clone(), Arc::new(content), limit).expect("threads");
    (RunningServer::start("127.0.0.1:0".parse().expect("addr"), state).expect("starts"), storage)
}

fn client(addr: SocketAddr, token: &str) -> Client {
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        attempts: 3,
    };
    Client::new(
        &format!("http://{addr}"),
        Some(token.to_owned()),
        Arc::new(UreqTransport::new(Duration::from_secs(5))),
        policy,
    )
}

/// A finished run of `seconds` at 3 m/s in the store.
fn record_run(store: &mut Store, id: &str, seconds: u64) {
    let plan = Plan::from_json(include_bytes!("../../core/plans/tempo-20.json")).expect("plan");
    let mut rec = Recorder::start(store, id, &plan, "jenna", &SessionSetup::default(), 1).expect("start");
    let mut feed = |input: Input| {
        for u in rec.feed(store, &input).expect("feed") {
            let text = u.neutral_text();
            rec.spoken(&u, text);
        }
    };
    feed(Input::Start { t_ms: 0 });
    for s in 1..=seconds {
        feed(Input::Fix(LocationFix {
            t_ms: s * 1000,
            lat_deg: 0.0,
            lon_deg: s as f64 * 3.0 / 111_320.0,
            horizontal_accuracy_m: 5.0,
            speed_mps: Some(3.0),
            speed_accuracy_mps: None,
            altitude_m: None,
        }));
        feed(Input::Tick { t_ms: s * 1000 });
    }
    feed(Input::Finish { t_ms: seconds * 1000 + 1 });
    feed(Input::CheckIn { t_ms: seconds * 1000 + 5000, effort: 4 });
    rec.finish(store).expect("finish");
}

fn send(c: &Client, method: Method, path: &str, body: Vec<u8>) -> HttpResponse {
    let request = c.request(method, path, &[], body);
    c.transport.send(&request).expect("an answer")
}

fn a_run_uploads_once_and_leaves_the_phone_only_after_finalize(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, storage) = server(dir.path(), backend);
    let mut store = Store::open(&dir.path().join("device.db")).expect("device");
    record_run(&mut store, "run-a", 300);
    let local = store.log("run-a").expect("log");
    let store = Arc::new(Mutex::new(store));
    let syncer = Syncer::new(store.clone(), client(server.addr, ALICE));

    syncer.set_connectivity(false);
    let offline = syncer.sync_now();
    assert!(offline.offline && offline.requests == 0);
    syncer.set_connectivity(true);
    let report = syncer.sync_now();
    assert_eq!(
        (report.runs_uploaded, report.runs_pending, report.stopped.clone()),
        (1, 0, None),
        "{report:?}"
    );
    assert_eq!(report.chunks_sent, 6);
    assert!(syncer.next_sync_at().is_none());

    let runs = storage.runs("alice").expect("runs");
    assert_eq!((runs.len(), runs[0].finalized, runs[0].samples), (1, true, local.inputs.len() as u64));
    assert_eq!(runs[0].header.effort, Some(4));
    let held = storage.samples("alice", "run-a").expect("samples");
    let sent: Vec<(u64, u64, serde_json::Value)> =
        local.inputs.iter().map(|(s, t, j)| (*s, *t, serde_json::from_str(j).expect("json"))).collect();
    let got: Vec<(u64, u64, serde_json::Value)> =
        held.iter().map(|(s, t, j)| (*s, *t, serde_json::from_str(j).expect("json"))).collect();
    assert_eq!(got, sent);
    let store = store.lock().expect("lock");
    assert!(store.runs().expect("runs")[0].uploaded);
    assert!(store.log("run-a").expect("log").inputs.is_empty(), "deleted after the confirmation");
    drop(store);
    let again = syncer.sync_now();
    assert_eq!((again.runs_uploaded, again.requests), (0, 0));
}

fn one_user_never_reaches_another_users_runs(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, storage) = server(dir.path(), backend);
    let mut store = Store::open(&dir.path().join("device.db")).expect("device");
    record_run(&mut store, "run-a", 120);
    let syncer = Syncer::new(Arc::new(Mutex::new(store)), client(server.addr, ALICE));
    assert_eq!(syncer.sync_now().runs_uploaded, 1);

    let bob = client(server.addr, BOB);
    let chunk =
        encode_chunk(&Chunk { index: 5, samples: vec![], cues: vec![], events: vec![] }).expect("chunk");
    for (method, path, body) in [
        (Method::Get, "/v1/runs/run-a/cursor", vec![]),
        (Method::Put, "/v1/runs/run-a/chunks/5", chunk.body.clone()),
        (
            Method::Post,
            "/v1/runs/run-a/finalize",
            br#"{"chunks":0,"samples":0,"cues":0,"events":0,"digest":""}"#.to_vec(),
        ),
    ] {
        let r = send(&bob, method, path, body);
        assert_eq!(r.status, 404, "{path}: {}", r.message());
    }
    let header = br#"{"plan_id":"p","persona":"stone","started_at_unix_ms":1}"#.to_vec();
    // Run ids are each runner's own: bob's "run-a" is a run of his, and alice's is untouched
    // (an id once belonged to whoever sent it first, so anyone could take an id another
    // runner's phone would use).
    let r = send(&bob, Method::Put, "/v1/runs/run-a", header.clone());
    assert_eq!(r.status, 204, "{}", r.message());
    let bobs = storage.runs("bob").expect("runs");
    assert_eq!((bobs.len(), bobs[0].header.persona.as_str(), bobs[0].chunks), (1, "stone", 0));
    let alices = storage.runs("alice").expect("runs");
    assert_eq!(
        (alices[0].header.persona.as_str(), alices[0].finalized),
        ("jenna", true),
        "alice's run unchanged"
    );
    let r = send(&bob, Method::Put, "/v1/runs/run-a/chunks/5", chunk.body.clone());
    assert_eq!(r.status, 201, "{}", r.message());
    assert_eq!(storage.runs("alice").expect("runs")[0].chunks, alices[0].chunks, "alice's chunks unchanged");

    let nobody =
        Client::new(&format!("http://{}", server.addr), None, bob.transport.clone(), RetryPolicy::default());
    let r = send(&nobody, Method::Get, "/v1/runs/run-a/cursor", vec![]);
    assert_eq!(r.status, 401);
    assert!(r.message().contains("Bearer"), "{}", r.message());
    let stranger = client(server.addr, "not-a-token");
    assert_eq!(send(&stranger, Method::Put, "/v1/runs/run-x", header).status, 401);
}

/// The server takes a chunk's sender from the tokens it has lately seen (one storage call a
/// chunk, not two); the chunk's write still checks the token, so one revoked or rotated in the
/// database (by another instance, by `serve user`) writes nothing from then on.
fn a_revoked_or_rotated_token_writes_no_chunk_though_the_server_knew_it(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, storage) = server(dir.path(), backend);
    let header = br#"{"plan_id":"p","persona":"stone","started_at_unix_ms":1}"#.to_vec();
    // Three samples a chunk, each within its chunk's minute.
    let chunk = |index: u64| crate::storage::tests::chunk(index, index * 60..index * 60 + 3).2;
    let put = |token: &str, index: u64| {
        send(&client(server.addr, token), Method::Put, &format!("/v1/runs/r1/chunks/{index}"), chunk(index))
    };
    assert_eq!(send(&client(server.addr, BOB), Method::Put, "/v1/runs/r1", header).status, 204);
    assert_eq!(put(BOB, 0).status, 201);
    assert_eq!(put(BOB, 0).status, 200, "a retry, its sender known to the server");
    storage.add_user("bob", "bob-rotated").expect("rotate");
    let refused = put(BOB, 1);
    assert_eq!(refused.status, 401, "{}", refused.message());
    assert!(refused.message().contains("unknown token"), "{}", refused.message());
    assert_eq!(put(BOB, 0).status, 401, "not even a retry is answered to an old token");
    assert_eq!(put("bob-rotated", 1).status, 201);
    assert!(storage.revoke_token("bob").expect("revoke"));
    assert_eq!(put("bob-rotated", 2).status, 401);
    let held = storage.runs("bob").expect("runs");
    assert_eq!((held[0].chunks, held[0].samples), (2, 6), "only the chunks sent with a valid token");
}

fn claims_beyond_what_a_run_can_hold_are_refused_and_the_scheme_is_any_case(backend: Backend) {
    use pacenote_sync::client::HttpRequest;
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let alice = client(server.addr, ALICE);
    let header = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec();
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1", header).status, 204);
    // A claim of a billion chunks once made the server list a billion missing ones (2 GB).
    let claim = br#"{"chunks":1000000000,"samples":0,"cues":0,"events":0,"digest":"x"}"#.to_vec();
    let r = send(&alice, Method::Post, "/v1/runs/r1/finalize", claim);
    assert_eq!(r.status, 400);
    assert!(r.message().contains("more than a run can hold"), "{}", r.message());
    // Chunk numbers past a week of minutes (2^63 and up was stored under another number; near
    // 2^64 the minute overflowed).
    for index in [u64::MAX, 1u64 << 63, pacenote_sync::wire::MAX_RUN_CHUNKS] {
        let chunk =
            encode_chunk(&Chunk { index, samples: vec![], cues: vec![], events: vec![] }).expect("chunk");
        let r = send(&alice, Method::Put, &format!("/v1/runs/r1/chunks/{index}"), chunk.body);
        assert_eq!(r.status, 400, "chunk {index}");
        assert!(r.message().contains("more than a run can hold"), "{}", r.message());
    }
    let last = pacenote_sync::wire::MAX_RUN_CHUNKS - 1;
    let chunk =
        encode_chunk(&Chunk { index: last, samples: vec![], cues: vec![], events: vec![] }).expect("chunk");
    assert_eq!(send(&alice, Method::Put, &format!("/v1/runs/r1/chunks/{last}"), chunk.body).status, 201);
    // A valid chunk of more samples than a minute can hold (once 836,000 rows, seconds of
    // every user's writes) is refused before storage.
    let crowded = Chunk {
        index: 1,
        samples: (0..=pacenote_sync::wire::MAX_SAMPLES_PER_CHUNK as u64)
            .map(|seq| pacenote_sync::wire::WireSample {
                seq,
                t_ms: 60_000 + seq % 60_000,
                input: serde_json::value::RawValue::from_string("{}".into()).expect("raw"),
            })
            .collect(),
        cues: vec![],
        events: vec![],
    };
    let r = send(&alice, Method::Put, "/v1/runs/r1/chunks/1", encode_chunk(&crowded).expect("chunk").body);
    assert_eq!(r.status, 400);
    assert!(r.message().contains("more than a minute can hold"), "{}", r.message());
    // "bearer" is "Bearer" (RFC 9110: the scheme is case-insensitive); another scheme is not.
    for (scheme, status) in [("bearer", 200), ("BEARER", 200), ("Basic", 401)] {
        let request = HttpRequest {
            method: Method::Get,
            url: format!("http://{}/v1/runs/r1/cursor", server.addr),
            headers: vec![("Authorization".to_owned(), format!("{scheme} {ALICE}"))],
            body: Vec::new(),
        };
        assert_eq!(alice.transport.send(&request).expect("an answer").status, status, "{scheme}");
    }
}

fn health_is_answered_without_a_token(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let alice = client(server.addr, ALICE);
    let nobody = Client::new(
        &format!("http://{}", server.addr),
        None,
        alice.transport.clone(),
        RetryPolicy::default(),
    );
    let r = send(&nobody, Method::Get, "/healthz", vec![]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
}

fn connections_that_stop_mid_headers_are_closed(backend: Backend) {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    // Twenty clients send half a request and go quiet; each is closed once the header read
    // timeout passes (they used to stay open for ever), and the server still answers.
    let mut stalled: Vec<std::net::TcpStream> = (0..20)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
            stream.write_all(b"PUT /v1/runs/r1 HTTP/1.1\r\nHost: pacenote\r\n").expect("half a request");
            stream.set_read_timeout(Some(HEADER_READ_TIMEOUT * 2)).expect("read timeout");
            stream
        })
        .collect();
    for stream in &mut stalled {
        let mut answer = Vec::new();
        // EOF (or a 408 and then EOF) rather than our own read timeout.
        stream.read_to_end(&mut answer).expect("the server closes the connection");
    }
    let alice = client(server.addr, ALICE);
    let header = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec();
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1", header).status, 204);
}

fn a_finalized_runs_header_no_longer_changes_but_a_retry_is_fine(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let alice = client(server.addr, ALICE);
    let header = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1,"effort":4}"#.to_vec();
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1", header.clone()).status, 204);
    let chunk =
        encode_chunk(&Chunk { index: 0, samples: vec![], cues: vec![], events: vec![] }).expect("chunk");
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1/chunks/0", chunk.body).status, 201);
    let digest = pacenote_sync::wire::run_digest([chunk.digest.as_str()]);
    let claim = format!(r#"{{"chunks":1,"samples":0,"cues":0,"events":0,"digest":"{digest}"}}"#);
    assert_eq!(send(&alice, Method::Post, "/v1/runs/r1/finalize", claim.into_bytes()).status, 200);
    // The phone retrying after a lost reply sends the same header: fine.
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1", header).status, 204);
    let changed = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1,"effort":9}"#.to_vec();
    let r = send(&alice, Method::Put, "/v1/runs/r1", changed);
    assert_eq!(r.status, 409);
    assert!(r.message().contains("finalized"), "{}", r.message());
}

fn malformed_and_oversized_bodies_get_a_4xx_that_says_what_is_wrong(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let alice = client(server.addr, ALICE);
    let r = send(&alice, Method::Put, "/v1/runs/r1", b"{not json".to_vec());
    assert_eq!(r.status, 400);
    assert!(r.message().contains("run header"), "{}", r.message());
    let r = send(
        &alice,
        Method::Put,
        "/v1/runs/r1",
        br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1,"effort":11}"#.to_vec(),
    );
    assert_eq!(r.status, 400);
    let r = send(
        &alice,
        Method::Put,
        "/v1/runs/bad%20id",
        br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec(),
    );
    assert_eq!(r.status, 400);
    assert!(r.message().contains("run id"), "{}", r.message());
    assert_eq!(
        send(
            &alice,
            Method::Put,
            "/v1/runs/r1",
            br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec()
        )
        .status,
        204
    );
    let r = send(&alice, Method::Put, "/v1/runs/r1/chunks/0", b"garbage".to_vec());
    assert_eq!(r.status, 400);
    assert!(r.message().contains("gzip"), "{}", r.message());
    let r = send(&alice, Method::Put, "/v1/runs/r1/chunks/0", vec![0u8; MAX_CHUNK_BODY_BYTES + 1]);
    assert_eq!(r.status, 413);
    let r = send(&alice, Method::Put, "/v1/runs/r1/chunks/minus-one", b"x".to_vec());
    assert_eq!(r.status, 400);
    let r = send(&alice, Method::Post, "/v1/runs/r1/finalize", b"[]".to_vec());
    assert_eq!(r.status, 400);
    assert!(r.message().contains("finalize claim"), "{}", r.message());
    // A chunk never changes: the same index with other content is refused.
    let a = encode_chunk(&Chunk { index: 0, samples: vec![], cues: vec![], events: vec![] }).expect("a");
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1/chunks/0", a.body.clone()).status, 201);
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1/chunks/0", a.body).status, 200);
    let b = encode_chunk(&Chunk {
        index: 0,
        samples: vec![pacenote_sync::wire::WireSample {
            seq: 0,
            t_ms: 0,
            input: serde_json::value::RawValue::from_string(r#"{"type":"start","t_ms":0}"#.into())
                .expect("json"),
        }],
        cues: vec![],
        events: vec![],
    })
    .expect("b");
    assert_eq!(send(&alice, Method::Put, "/v1/runs/r1/chunks/0", b.body).status, 409);
}

fn plans_and_packs_preload_by_content_hash_and_make_a_run_ready_offline(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let alice = client(server.addr, ALICE);
    let store = Mutex::new(Store::open(&dir.path().join("device.db")).expect("device"));
    let packs = dir.path().join("packs");
    let mut traffic = Traffic::default();
    let ready = |store: &Mutex<Store>| {
        is_ready_offline(&store.lock().expect("lock"), "tempo-20", "stone", "en").expect("ready")
    };
    assert!(!ready(&store).ready);

    let plan = preload_plan(&alice, &store, "tempo-20", &mut traffic).expect("plan");
    assert_eq!((plan.unchanged, plan.files_downloaded), (false, 1));
    assert!(
        preload_plan(&alice, &store, "tempo-20", &mut traffic).expect("again").unchanged,
        "304 the second time"
    );
    assert!(preload_plan(&alice, &store, "no-such-plan", &mut traffic).is_err());

    // A clip whose download was cut half-way resumes with Range.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("audio/packs/en/stone/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let clip = &manifest["clips"][0];
    let clip_bytes =
        std::fs::read(repo().join("audio/packs/en/stone").join(clip["file"].as_str().expect("file")))
            .expect("clip");
    let sha = clip["sha256"].as_str().expect("sha");
    save_partial_blob(&packs.join("blobs"), sha, &clip_bytes[..clip_bytes.len() / 2]).expect("part");

    let pack = preload_pack(&alice, &store, "stone", "en", &packs, &mut traffic).expect("pack");
    assert_eq!(pack.files_resumed, 1);
    assert!(pack.files_downloaded > 100);
    // The plan has a step note: until its note clip in Stone's voice is here, the phone's own
    // voice would read it mid-run.
    let r = ready(&store);
    assert_eq!(r.missing.len(), 1, "{:?}", r.missing);
    assert!(r.missing[0].contains("notes in stone's voice are not downloaded"), "{:?}", r.missing);
    let notes = |store: &Mutex<Store>, traffic: &mut Traffic| {
        preload_notes(&alice, store, "tempo-20", "stone", "en", &packs, traffic).expect("notes")
    };
    let fetched = notes(&store, &mut traffic);
    assert_eq!((fetched.unchanged, fetched.files_downloaded), (false, 2), "the set and its one clip");
    let r = ready(&store);
    assert!(r.ready, "{:?}", r.missing);
    let again = preload_pack(&alice, &store, "stone", "en", &packs, &mut traffic).expect("again");
    assert!(again.unchanged && again.bytes_downloaded == 0);
    let again = notes(&store, &mut traffic);
    assert!(again.unchanged && again.bytes_downloaded == 0, "304 the second time: {again:?}");

    // A damaged note clip is noticed, and the next preload repairs it.
    let installed = store.lock().expect("lock").cached_pack("stone", "en").expect("q").expect("pack");
    let note_clip = std::fs::read_dir(installed.dir.join("notes"))
        .expect("notes")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "ogg"))
        .expect("a note clip");
    std::fs::write(&note_clip, b"damaged").expect("damage");
    assert!(!ready(&store).ready);
    assert!(!notes(&store, &mut traffic).unchanged, "fetched again");
    assert!(ready(&store).ready);
    // A plan the server has no note clips for leaves nothing to do.
    assert!(
        preload_notes(&alice, &store, "no-such-plan", "stone", "en", &packs, &mut traffic)
            .expect("404")
            .unchanged
    );

    // A damaged installed clip is noticed, and the next preload repairs it (the pack's folder
    // is rebuilt, so its notes come again with it).
    std::fs::write(installed.dir.join(clip["file"].as_str().expect("file")), b"damaged").expect("damage");
    assert!(!ready(&store).ready);
    preload_pack(&alice, &store, "stone", "en", &packs, &mut traffic).expect("repair");
    notes(&store, &mut traffic);
    assert!(ready(&store).ready);
    assert!(preload_pack(&alice, &store, "nobody", "en", &packs, &mut traffic).is_err());

    // A German coach: the plan's notes are written in English, so no note clips in Stone's
    // German voice exist or are waited for (the phone's voice reads them).
    let german_ready = |store: &Mutex<Store>| {
        is_ready_offline(&store.lock().expect("lock"), "tempo-20", "stone", "de").expect("ready")
    };
    assert!(!german_ready(&store).ready, "no German pack yet");
    let german = preload_pack(&alice, &store, "stone", "de", &packs, &mut traffic).expect("German pack");
    assert!(german.files_downloaded > 100);
    let r = german_ready(&store);
    assert!(r.ready, "{:?}", r.missing);
}

fn a_new_phone_restores_the_runners_history_once(backend: Backend) {
    use pacenote_sync::history::past_runs;
    use pacenote_sync::restore::restore_history;
    use pacenote_sync::wire::{RunDownload, RunPage};
    let dir = tempfile::tempdir().expect("dir");
    let (server, _) = server(dir.path(), backend);
    let mut old_phone = Store::open(&dir.path().join("old.db")).expect("old phone");
    let ids = ["run-a", "run-b", "run-c"];
    for (i, id) in ids.iter().enumerate() {
        record_run(&mut old_phone, id, 200 + 60 * i as u64);
    }
    let logs: Vec<_> = ids.iter().map(|id| old_phone.log(id).expect("log")).collect();
    let old_phone = Arc::new(Mutex::new(old_phone));
    assert_eq!(Syncer::new(old_phone.clone(), client(server.addr, ALICE)).sync_now().runs_uploaded, 3);
    // A run another phone is still uploading: listed, not restored.
    let alice = client(server.addr, ALICE);
    let header = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec();
    assert_eq!(send(&alice, Method::Put, "/v1/runs/run-d", header).status, 204);

    // Pages of one: each names where the next starts; the last names none.
    let mut listed = Vec::new();
    let mut path = "/v1/runs?limit=1".to_owned();
    loop {
        let r = send(&alice, Method::Get, &path, vec![]);
        assert_eq!(r.status, 200, "{}", r.message());
        let page: RunPage = serde_json::from_slice(&r.body).expect("page");
        assert!(page.runs.len() <= 1);
        listed.extend(page.runs.into_iter().map(|r| (r.id, r.finalized)));
        match page.next_after {
            Some(after) => path = format!("/v1/runs?limit=1&after={after}"),
            None => break,
        }
    }
    assert_eq!(
        listed,
        [("run-a", true), ("run-b", true), ("run-c", true), ("run-d", false)].map(|(i, f)| (i.to_owned(), f))
    );
    for bad in ["/v1/runs?limit=0", "/v1/runs?limit=501", "/v1/runs?limit=many", "/v1/runs?after=a%20b"] {
        assert_eq!(send(&alice, Method::Get, bad, vec![]).status, 400, "{bad}");
    }
    // A run whole, as its chunks delivered it; nobody else's.
    let r = send(&alice, Method::Get, "/v1/runs/run-b", vec![]);
    assert_eq!(r.status, 200, "{}", r.message());
    let run: RunDownload = serde_json::from_slice(&r.body).expect("run");
    let sent: Vec<(u64, u64, &str)> = logs[1].inputs.iter().map(|(s, t, j)| (*s, *t, j.as_str())).collect();
    let got: Vec<(u64, u64, &str)> = run.samples.iter().map(|s| (s.seq, s.t_ms, s.input.get())).collect();
    assert_eq!(got.len(), sent.len());
    for ((gs, gt, gj), (ss, st, sj)) in got.iter().zip(&sent) {
        assert_eq!((gs, gt), (ss, st));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(gj).expect("json"),
            serde_json::from_str::<serde_json::Value>(sj).expect("json")
        );
    }
    assert_eq!(run.cues.len(), logs[1].cues.len());
    assert_eq!(run.events.len(), logs[1].events.len());
    assert!(run.finalized && run.header.analysis.is_some() && run.header.effort == Some(4));
    let bob = client(server.addr, BOB);
    assert_eq!(send(&bob, Method::Get, "/v1/runs/run-b", vec![]).status, 404);
    let r = send(&bob, Method::Get, "/v1/runs", vec![]);
    assert!(serde_json::from_slice::<RunPage>(&r.body).expect("page").runs.is_empty());

    // The new phone: the same history as the old one, and restoring again stores nothing.
    let new_phone = Mutex::new(Store::open(&dir.path().join("new.db")).expect("new phone"));
    let mut traffic = Traffic::default();
    let first = restore_history(&alice, &new_phone, &mut traffic).expect("restore");
    assert_eq!((first.listed, first.restored, first.already_here, first.not_finalized), (4, 3, 0, 1));
    let again = restore_history(&alice, &new_phone, &mut traffic).expect("again");
    assert_eq!((again.restored, again.already_here), (0, 3));
    let old_history = past_runs(&old_phone.lock().expect("lock"), 3600).expect("old history");
    let new_history = past_runs(&new_phone.lock().expect("lock"), 3600).expect("new history");
    assert_eq!(new_history, old_history);
    assert_eq!(new_history.0.len(), 3);
    assert!(new_history.0.iter().all(|r| r.analysis.is_some()), "trends read the analyses");
    // The restored runs count as uploaded: nothing to send back.
    let resync = Syncer::new(Arc::new(new_phone), client(server.addr, ALICE)).sync_now();
    assert_eq!((resync.runs_uploaded, resync.runs_pending, resync.requests), (0, 0, 0));
}

fn a_user_past_the_rate_limit_waits_and_the_operator_sees_it_all(backend: Backend) {
    use pacenote_sync::client::HttpRequest;
    let dir = tempfile::tempdir().expect("dir");
    let limit = crate::ops::RateLimit { per_second: 5.0, burst: 4.0 };
    let (server, storage) = server_limited(dir.path(), backend, Some(limit));
    let alice = client(server.addr, ALICE);
    let header = br#"{"plan_id":"p","persona":"x","started_at_unix_ms":1}"#.to_vec();
    let statuses: Vec<u16> =
        (0..6).map(|_| send(&alice, Method::Put, "/v1/runs/r1", header.clone()).status).collect();
    assert_eq!(&statuses[..4], &[204; 4], "the burst");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let refused = send(&alice, Method::Get, "/v1/runs/r1/cursor", vec![]);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.message().contains("try again in 1 s"), "{}", refused.message());
    // Another user is not held back by alice's pace; unknown tokens are refused, not counted.
    assert_eq!(send(&client(server.addr, BOB), Method::Get, "/v1/runs", vec![]).status, 200);
    assert_eq!(send(&client(server.addr, "made-up"), Method::Get, "/v1/runs", vec![]).status, 401);
    // The phone's client waits out Retry-After: a whole run still goes up, nothing lost.
    let mut store = Store::open(&dir.path().join("device.db")).expect("device");
    record_run(&mut store, "run-a", 400);
    let patient = Client::new(
        &format!("http://{}", server.addr),
        Some(ALICE.to_owned()),
        Arc::new(UreqTransport::new(Duration::from_secs(5))),
        RetryPolicy { base_delay: Duration::from_millis(5), max_delay: Duration::from_secs(3), attempts: 6 },
    );
    let report = Syncer::new(Arc::new(Mutex::new(store)), patient).sync_now();
    assert_eq!((report.runs_uploaded, report.stopped.clone()), (1, None), "{report:?}");
    assert!(report.retries > 0, "it was held back: {report:?}");
    assert_eq!(storage.runs("alice").expect("runs").iter().filter(|r| r.finalized).count(), 1);

    // Request ids: a sane one is echoed, others are made.
    let request = |id: &str| HttpRequest {
        method: Method::Get,
        url: format!("http://{}/healthz", server.addr),
        headers: vec![("X-Request-Id".to_owned(), id.to_owned())],
        body: Vec::new(),
    };
    let echoed = alice.transport.send(&request("phone-42")).expect("answer");
    assert_eq!(echoed.header("x-request-id"), Some("phone-42"));
    let made = alice.transport.send(&request("bad id!")).expect("answer");
    assert!(made.header("x-request-id").is_some_and(|id| id != "bad id!" && !id.is_empty()));
    // Metrics: by route template (never by run id), chunk bytes, the 429s, the histogram.
    let metrics = send(&alice, Method::Get, "/metrics", vec![]);
    let text = String::from_utf8_lossy(&metrics.body);
    assert_eq!(metrics.status, 200);
    assert!(
        text.contains(r#"pacenote_requests_total{route="/v1/runs/{run_id}",method="PUT",status="429"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v1/runs/{run_id}/chunks/{index}",method="PUT",status="201"} 7"#),
        "{text}"
    );
    assert!(!text.contains("run-a"), "no series per run: {text}");
    let counter = |name: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0)
    };
    assert!(counter("pacenote_rate_limited_total ") >= 2, "{text}");
    assert!(counter("pacenote_chunk_bytes_total ") > 100, "{text}");
    assert!(counter("pacenote_request_duration_seconds_count ") >= 15, "{text}");
}

/// The columnar encoding travels only where both ends take it: a new phone sends it to a new
/// server and gzip JSON to an old one (`--gzip-json-chunks-only` behaves as servers before it);
/// an old phone (gzip JSON whatever the cursor says, reading the cursor as it did) is
/// confirmed by a new server; and one run half in each encoding — an app updated mid-upload —
/// is confirmed whole, its samples as the phone logged them.
fn chunk_encodings_are_negotiated_with_old_and_new_peers(backend: Backend) {
    use pacenote_sync::wire::{FinalizeClaim, FinalizeReply, RunDownload, chunks_of, run_digest};
    let dir = tempfile::tempdir().expect("dir");
    let (new_server, storage) = server(dir.path(), backend);
    let old_state =
        AppState::with_rate_limit(storage.clone(), Arc::new(Content::default()), None).expect("threads");
    let old_server =
        RunningServer::start("127.0.0.1:0".parse().expect("addr"), old_state.gzip_json_chunks_only())
            .expect("starts");
    let alice = client(new_server.addr, ALICE);
    let download = |id: &str| -> RunDownload {
        let r = send(&alice, Method::Get, &format!("/v1/runs/{id}"), vec![]);
        assert_eq!(r.status, 200, "{}", r.message());
        serde_json::from_slice(&r.body).expect("run")
    };
    let as_logged = |run: &RunDownload| -> Vec<(u64, u64, String)> {
        run.samples.iter().map(|s| (s.seq, s.t_ms, s.input.get().to_owned())).collect()
    };

    // The same run from two new phones, one to each server.
    let chunk_bytes = |addr: SocketAddr| -> u64 {
        let r = send(&client(addr, ALICE), Method::Get, "/metrics", vec![]);
        let text = String::from_utf8_lossy(&r.body).into_owned();
        let line = text.lines().find(|l| l.starts_with("pacenote_chunk_bytes_total ")).expect("chunk bytes");
        line.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count")
    };
    for (id, addr) in [("run-new", new_server.addr), ("run-old", old_server.addr)] {
        let mut phone = Store::open(&dir.path().join(format!("{id}.db"))).expect("phone");
        record_run(&mut phone, id, 900);
        let local = phone.log(id).expect("log");
        let report = Syncer::new(Arc::new(Mutex::new(phone)), client(addr, ALICE)).sync_now();
        assert_eq!((report.runs_uploaded, report.stopped.clone()), (1, None), "{report:?}");
        assert_eq!(as_logged(&download(id)), local.inputs, "{id} comes back byte for byte");
    }
    let (columnar_bytes, gzip_bytes) = (chunk_bytes(new_server.addr), chunk_bytes(old_server.addr));
    assert!(
        columnar_bytes * 3 < gzip_bytes,
        "columnar to the new server ({columnar_bytes} chunk bytes), gzip JSON to the old ({gzip_bytes})"
    );
    // The old server's cursor says nothing of the encoding; a columnar body gets a 415.
    let old = client(old_server.addr, ALICE);
    let cursor = send(&old, Method::Get, "/v1/runs/run-old/cursor", vec![]);
    assert!(!String::from_utf8_lossy(&cursor.body).contains("columnar"));
    let mut phone = Store::open(&dir.path().join("mixed.db")).expect("phone");
    record_run(&mut phone, "run-mixed", 600);
    let local = phone.log("run-mixed").expect("log");
    let parts = chunks_of(&local).expect("chunks");
    let columnar = encode_chunk_as(&parts[0], ChunkEncoding::Columnar).expect("columnar");
    assert_eq!(columnar.encoding, ChunkEncoding::Columnar);
    let header = br#"{"plan_id":"tempo-20","persona":"jenna","started_at_unix_ms":1}"#.to_vec();
    assert_eq!(send(&old, Method::Put, "/v1/runs/run-mixed", header.clone()).status, 204);
    let refused = send(&old, Method::Put, "/v1/runs/run-mixed/chunks/0", columnar.body.clone());
    assert_eq!(refused.status, 415, "{}", refused.message());
    assert!(refused.message().contains("gzip JSON"), "{}", refused.message());

    // An old phone: reads the new cursor with the cursor it knew, sends gzip JSON — here the
    // first half of the run before the app updates.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct CursorBeforeColumnar {
        contiguous_chunks: u64,
        #[serde(default)]
        highest_contiguous: Option<u64>,
    }
    let cursor = send(&alice, Method::Get, "/v1/runs/run-mixed/cursor", vec![]);
    assert!(String::from_utf8_lossy(&cursor.body).contains(r#""columnar_chunks":1"#));
    let cursor: CursorBeforeColumnar = serde_json::from_slice(&cursor.body).expect("an old phone reads it");
    assert_eq!(cursor.contiguous_chunks, 0);
    let gzip: Vec<_> = parts.iter().map(|c| encode_chunk(c).expect("gzip")).collect();
    let half = gzip.len() / 2;
    for chunk in &gzip[..half] {
        let path = format!("/v1/runs/run-mixed/chunks/{}", chunk.index);
        assert_eq!(send(&alice, Method::Put, &path, chunk.body.clone()).status, 201);
    }
    // The old phone's finalize of the whole run names what is missing ...
    let claim = FinalizeClaim {
        chunks: gzip.len() as u64,
        samples: gzip.iter().map(|c| c.samples).sum(),
        cues: gzip.iter().map(|c| c.cues).sum(),
        events: gzip.iter().map(|c| c.events).sum(),
        digest: run_digest(gzip.iter().map(|c| c.digest.as_str())),
    };
    let r =
        send(&alice, Method::Post, "/v1/runs/run-mixed/finalize", serde_json::to_vec(&claim).expect("json"));
    let reply: FinalizeReply = serde_json::from_slice(&r.body).expect("reply");
    assert_eq!(reply.missing, (half as u64..gzip.len() as u64).collect::<Vec<_>>());
    // ... and the updated app sends the rest columnar under the same digests.
    let report = Syncer::new(Arc::new(Mutex::new(phone)), client(new_server.addr, ALICE)).sync_now();
    assert_eq!(
        (report.runs_uploaded, report.chunks_sent, report.stopped.clone()),
        (1, (gzip.len() - half) as u64, None)
    );
    assert_eq!(as_logged(&download("run-mixed")), local.inputs);
    old_server.stop();
}
