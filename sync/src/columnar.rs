//! The compact chunk encoding (DESIGN §7, wire version 1): a chunk's entries turned into
//! columns — times, sequence numbers and every number of the inputs as varint deltas in
//! their own column — then deflated. A 4-hour run's chunks shrink from 725,689 bytes of gzip
//! JSON to 127,131, which is what a runner's data plan and a server's disk pay for.
//!
//! The encoding is exact at the level of text: a chunk decodes to the very JSON it was made
//! from, so the chunk's digest (SHA-256 of that JSON) is the same whichever encoding carried
//! it, and a server may hold one run's chunks in both. The encoder checks that on every chunk
//! and says so when a chunk does not come back byte for byte (the caller then sends it as
//! gzip JSON).
//!
//! How an input's JSON becomes columns: its text with every plain number taken out is its
//! template (`{"type":"fix","t_ms":␁,"lat_deg":␀,…}`, `␀` a NUL byte, which JSON text never
//! holds unescaped, and `␁` the sample's own time); templates are listed once a chunk, by
//! number when both sides know them ([`BUILT_IN_TEMPLATES`]). Each number is a decimal mantissa
//! and a count of fraction digits; in each (template, slot) column the mantissas are brought
//! to the column's finest scale and sent as first or second differences, whichever is
//! smaller (positions move smoothly: their second differences are a few units).
//!
//! Must not: do I/O; trust a body's counts, lengths or scales (every one is bounded before it
//! sizes anything, and the text it rebuilds stops at [`MAX_CHUNK_JSON_BYTES`]); panic on any
//! bytes.

use std::io::{Read, Write};

use crate::wire::{
    CHUNK_MS, Chunk, MAX_CHUNK_JSON_BYTES, MAX_SAMPLES_PER_CHUNK, WireCue, WireEvent, WireSample,
};

/// The first bytes of every columnar body ("PaceNote Columnar 1"); a gzip body starts 1f 8b.
pub const MAGIC: &[u8; 4] = b"PNC1";
/// The wire version a server advertises in its cursor when it takes this encoding.
pub const VERSION: u32 = 1;
/// Where a template held a number.
const SLOT: u8 = 0;
/// Where a template held the sample's own time (every input carries its `t_ms`, which is the
/// sample's): no column at all. Like NUL, JSON text never holds this byte unescaped.
const SAMPLE_TIME: u8 = 1;
/// Templates every chunk of today's engine inputs uses, known to both sides so that no chunk
/// carries their text (they were a fifth of a 4-hour run's columnar bytes). Part of wire
/// version 1: entries are never changed or reordered, only appended to; an input with a
/// template not listed here travels with its template's text.
const BUILT_IN_TEMPLATES: &[&[u8]] = &[
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":\x00,\"speed_accuracy_mps\":\x00,\"altitude_m\":\x00}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":\x00,\"speed_accuracy_mps\":\x00,\"altitude_m\":null}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":\x00,\"speed_accuracy_mps\":null,\"altitude_m\":\x00}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":\x00,\"speed_accuracy_mps\":null,\"altitude_m\":null}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":null,\"speed_accuracy_mps\":\x00,\"altitude_m\":\x00}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":null,\"speed_accuracy_mps\":\x00,\"altitude_m\":null}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":null,\"speed_accuracy_mps\":null,\"altitude_m\":\x00}",
    b"{\"type\":\"fix\",\"t_ms\":\x01,\"lat_deg\":\x00,\"lon_deg\":\x00,\"horizontal_accuracy_m\":\x00,\"speed_mps\":null,\"speed_accuracy_mps\":null,\"altitude_m\":null}",
    b"{\"type\":\"heart_rate\",\"t_ms\":\x01,\"bpm\":\x00}",
    b"{\"type\":\"cadence\",\"t_ms\":\x01,\"spm\":\x00}",
    b"{\"type\":\"device_speed\",\"t_ms\":\x01,\"speed_mps\":\x00}",
    b"{\"type\":\"altitude\",\"t_ms\":\x01,\"altitude_m\":\x00}",
    b"{\"type\":\"tick\",\"t_ms\":\x01}",
    b"{\"type\":\"start\",\"t_ms\":\x01}",
    b"{\"type\":\"pause\",\"t_ms\":\x01}",
    b"{\"type\":\"resume\",\"t_ms\":\x01}",
    b"{\"type\":\"lap\",\"t_ms\":\x01}",
    b"{\"type\":\"skip_step\",\"t_ms\":\x01}",
    b"{\"type\":\"finish\",\"t_ms\":\x01}",
    b"{\"type\":\"feedback\",\"t_ms\":\x01,\"feedback\":\"too_hard\"}",
    b"{\"type\":\"feedback\",\"t_ms\":\x01,\"feedback\":\"too_easy\"}",
    b"{\"type\":\"feedback\",\"t_ms\":\x01,\"feedback\":\"pain\"}",
    b"{\"type\":\"cue_finished\",\"utterance_id\":\x00,\"at_ms\":\x01}",
    b"{\"type\":\"cue_finished\",\"utterance_id\":\x00,\"at_ms\":\x00}",
    b"{\"type\":\"check_in\",\"t_ms\":\x01,\"effort\":\x00}",
];
/// Mantissas of more digits than this stay in the template as text (they would not fit the
/// arithmetic; no sensor gives them).
const MAX_MANTISSA_DIGITS: usize = 18;
/// Finest scale a column may have: 10^36 still fits an i128 with an 18-digit mantissa.
const MAX_FRACTION_DIGITS: u32 = 18;

/// One number of an input: `mantissa × 10^-fraction_digits`, and whether its text had a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Number {
    mantissa: i64,
    /// 0: an integer ("60000"); k + 1: k digits after the point ("4.0" is 2).
    point: u32,
}

impl Number {
    fn fraction_digits(self) -> u32 {
        self.point.saturating_sub(1)
    }

    /// The JSON text this number was read from (without allocating: a server rebuilds
    /// thousands a chunk).
    fn write(self, out: &mut Vec<u8>) {
        if self.mantissa < 0 {
            out.push(b'-');
        }
        let mut buffer = [0u8; 20];
        let digits = decimal_digits(self.mantissa.unsigned_abs(), &mut buffer);
        if self.point == 0 {
            out.extend_from_slice(digits);
            return;
        }
        // Zeros in front up to a digit before the point ("0.05" from 5 with 2 decimals).
        let fraction = self.fraction_digits() as usize;
        let width = digits.len().max(fraction + 1);
        let zeros = width - digits.len();
        for k in 0..width {
            if k == width - fraction {
                out.push(b'.');
            }
            out.push(if k < zeros { b'0' } else { digits[k - zeros] });
        }
    }

    /// A number token this encoding carries as a column value, or `None` to keep it as text
    /// (an exponent, a negative zero, too many digits, a leading zero it would not rebuild).
    fn parse(token: &str) -> Option<Number> {
        let (negative, unsigned) = match token.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, token),
        };
        let (whole, part) = match unsigned.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || part.is_some_and(|p| !all_digits(p)) {
            return None;
        }
        if whole.len() > 1 && whole.starts_with('0') {
            return None;
        }
        let fraction = part.unwrap_or("");
        if whole.len() + fraction.len() > MAX_MANTISSA_DIGITS || fraction.len() > MAX_FRACTION_DIGITS as usize
        {
            return None;
        }
        let magnitude: i64 = format!("{whole}{fraction}").parse().ok()?;
        if negative && magnitude == 0 {
            return None;
        }
        let number = Number {
            mantissa: if negative { -magnitude } else { magnitude },
            point: part.map_or(0, |p| p.len() as u32 + 1),
        };
        // Only what comes back as the same text is taken.
        let mut again = Vec::new();
        number.write(&mut again);
        (again == token.as_bytes()).then_some(number)
    }
}

/// `value` in decimal digits, in the end of `buffer`.
fn decimal_digits(mut value: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buffer[at..];
        }
    }
}

/// Splits one JSON text into its template and its numbers (see the module doc); an integer
/// equal to `t_ms` becomes a [`SAMPLE_TIME`] mark.
fn templated(json: &str, t_ms: u64) -> (Vec<u8>, Vec<Number>) {
    let bytes = json.as_bytes();
    let mut template = Vec::with_capacity(bytes.len());
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            // A string, escapes and all, goes to the template as it is.
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            template.extend_from_slice(&bytes[start..i]);
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let token = &json[start..i];
            match Number::parse(token) {
                Some(Number { mantissa, point: 0 }) if u64::try_from(mantissa) == Ok(t_ms) => {
                    template.push(SAMPLE_TIME);
                }
                Some(n) => {
                    template.push(SLOT);
                    numbers.push(n);
                }
                None => template.extend_from_slice(token.as_bytes()),
            }
        } else {
            template.push(b);
            i += 1;
        }
    }
    (template, numbers)
}

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn zigzag(v: i128) -> u128 {
    ((v << 1) ^ (v >> 127)) as u128
}

fn unzigzag(v: u128) -> i128 {
    ((v >> 1) as i128) ^ -((v & 1) as i128)
}

fn put_signed(out: &mut Vec<u8>, v: i128) {
    put_varint(out, zigzag(v));
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u128);
    out.extend_from_slice(bytes);
}

/// First differences of `values` (from 0), or second differences, each a zigzag varint.
fn differences(values: &[i128], order: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut previous, mut step) = (0i128, 0i128);
    for &v in values {
        let d = v.wrapping_sub(previous);
        put_signed(&mut out, if order == 2 { d.wrapping_sub(step) } else { d });
        step = d;
        previous = v;
    }
    out
}

/// The columnar body of `chunk`. Returns `None` when the chunk would not decode to
/// `chunk_json` byte for byte (the caller sends gzip JSON instead); `chunk_json` is
/// `serde_json::to_vec(chunk)`, the text the digest is taken over.
pub fn encode(chunk: &Chunk, chunk_json: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    put_varint(&mut out, chunk.index as u128);
    put_varint(&mut out, chunk.samples.len() as u128);

    // Templates, in order of first use, and each sample's template.
    let mut templates: Vec<Vec<u8>> = Vec::new();
    let mut columns: Vec<Vec<Vec<Number>>> = Vec::new();
    let mut template_of = Vec::with_capacity(chunk.samples.len());
    for s in &chunk.samples {
        let (template, numbers) = templated(s.input.get(), s.t_ms);
        let id = match templates.iter().position(|t| *t == template) {
            Some(id) => id,
            None => {
                templates.push(template);
                columns.push(vec![Vec::new(); numbers.len()]);
                templates.len() - 1
            }
        };
        for (slot, n) in numbers.into_iter().enumerate() {
            columns[id][slot].push(n);
        }
        template_of.push(id);
    }
    put_varint(&mut out, templates.len() as u128);
    for t in &templates {
        // 0 and the text, or 1 + a built-in template's place.
        match BUILT_IN_TEMPLATES.iter().position(|b| *b == t.as_slice()) {
            Some(k) => put_varint(&mut out, k as u128 + 1),
            None => {
                put_varint(&mut out, 0);
                put_bytes(&mut out, t);
            }
        }
    }
    for id in &template_of {
        put_varint(&mut out, *id as u128);
    }
    out.extend(differences(&chunk.samples.iter().map(|s| i128::from(s.seq)).collect::<Vec<_>>(), 1));
    let minute_start = i128::from(chunk.index.saturating_mul(CHUNK_MS));
    let times: Vec<i128> = chunk.samples.iter().map(|s| i128::from(s.t_ms) - minute_start).collect();
    out.extend(differences(&times, 1));
    for slots in &columns {
        for column in slots {
            let scale = column.iter().map(|n| n.fraction_digits()).max().unwrap_or(0);
            put_varint(&mut out, u128::from(scale));
            let points: Vec<i128> = column.iter().map(|n| i128::from(n.point)).collect();
            out.extend(differences(&points, 1));
            let scaled: Vec<i128> = column
                .iter()
                .map(|n| i128::from(n.mantissa) * 10i128.pow(scale - n.fraction_digits()))
                .collect();
            let first = differences(&scaled, 1);
            let second = differences(&scaled, 2);
            let (order, body) = if second.len() < first.len() { (2, second) } else { (1, first) };
            out.push(order);
            out.extend(body);
        }
    }

    put_varint(&mut out, chunk.cues.len() as u128);
    out.extend(differences(&chunk.cues.iter().map(|c| i128::from(c.utterance_id)).collect::<Vec<_>>(), 1));
    let cue_times: Vec<i128> = chunk.cues.iter().map(|c| i128::from(c.at_ms) - minute_start).collect();
    out.extend(differences(&cue_times, 1));
    for c in &chunk.cues {
        put_bytes(&mut out, c.kinds.as_bytes());
        put_bytes(&mut out, c.text.as_bytes());
    }

    put_varint(&mut out, chunk.events.len() as u128);
    out.extend(differences(&chunk.events.iter().map(|e| i128::from(e.seq)).collect::<Vec<_>>(), 1));
    out.extend(differences(&chunk.events.iter().map(|e| i128::from(e.t_ms)).collect::<Vec<_>>(), 1));
    for e in &chunk.events {
        put_bytes(&mut out, serde_json::to_string(&e.event).ok()?.as_bytes());
    }

    let mut body = MAGIC.to_vec();
    let mut deflate = flate2::write::DeflateEncoder::new(&mut body, flate2::Compression::best());
    deflate.write_all(&out).ok()?;
    deflate.finish().ok()?;
    // Exact or not at all.
    let back = decode(&body).ok()?;
    (serde_json::to_vec(&back).ok()? == chunk_json).then_some(body)
}

/// Reads a body's payload, every count and length checked against what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self, what: &str) -> Result<u128, String> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(format!("the columnar chunk ends inside {what}"));
            };
            self.at += 1;
            v |= u128::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("the columnar chunk's {what} is not a number"))
    }

    fn signed(&mut self, what: &str) -> Result<i128, String> {
        self.varint(what).map(unzigzag)
    }

    /// A count of at most `most` (a count sizes what follows).
    fn count(&mut self, what: &str, most: usize) -> Result<usize, String> {
        let n = self.varint(what)?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= most)
            .ok_or_else(|| format!("the columnar chunk's {what} is {n}, more than a chunk can hold ({most})"))
    }

    fn bytes(&mut self, what: &str) -> Result<&[u8], String> {
        let claimed = self.varint(what)?;
        let left = self.bytes.len() - self.at;
        let len = usize::try_from(claimed)
            .ok()
            .filter(|len| *len <= left)
            .ok_or_else(|| format!("the columnar chunk's {what} runs past its end"))?;
        let out = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(out)
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        String::from_utf8(self.bytes(what)?.to_vec())
            .map_err(|_| format!("the columnar chunk's {what} is not UTF-8 text"))
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or_else(|| format!("the columnar chunk ends inside {what}"))?;
        self.at += 1;
        Ok(b)
    }

    /// `n` values sent as differences of `order` 1 or 2.
    fn sums(&mut self, n: usize, order: u8, what: &str) -> Result<Vec<i128>, String> {
        let (mut previous, mut step) = (0i128, 0i128);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let d = self.signed(what)?;
            let d = if order == 2 { d.wrapping_add(step) } else { d };
            step = d;
            previous = previous.wrapping_add(d);
            out.push(previous);
        }
        Ok(out)
    }

    /// `n` unsigned 64-bit values sent as first differences, `base` added.
    fn u64s(&mut self, n: usize, base: i128, what: &str) -> Result<Vec<u64>, String> {
        self.sums(n, 1, what)?
            .into_iter()
            .map(|v| {
                u64::try_from(v.wrapping_add(base))
                    .map_err(|_| format!("the columnar chunk's {what} holds {v}, not a count"))
            })
            .collect()
    }
}

/// The chunk a columnar body holds (`body` starts with [`MAGIC`]). Checks the encoding only;
/// what a chunk may hold is `wire::decode_chunk`'s to check.
pub fn decode(body: &[u8]) -> Result<Chunk, String> {
    let deflated = body.strip_prefix(MAGIC.as_slice()).ok_or("the body is not a columnar chunk")?;
    let mut payload = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(MAX_CHUNK_JSON_BYTES as u64 + 1)
        .read_to_end(&mut payload)
        .map_err(|e| format!("the columnar chunk is not deflate-compressed: {e}"))?;
    if payload.len() > MAX_CHUNK_JSON_BYTES {
        return Err(format!("the columnar chunk is larger than {MAX_CHUNK_JSON_BYTES} bytes uncompressed"));
    }
    let mut r = Reader { bytes: &payload, at: 0 };
    let index = u64::try_from(r.varint("chunk number")?).map_err(|_| "the chunk number is too large")?;
    let minute_start = i128::from(index.saturating_mul(CHUNK_MS));
    let n = r.count("sample count", MAX_SAMPLES_PER_CHUNK)?;
    let template_count = r.count("template count", n)?;
    let mut templates = Vec::with_capacity(template_count);
    for _ in 0..template_count {
        let t = match r.count("template", BUILT_IN_TEMPLATES.len())? {
            0 => r.bytes("template")?.to_vec(),
            k => BUILT_IN_TEMPLATES[k - 1].to_vec(),
        };
        let slots = t.iter().filter(|b| **b == SLOT).count();
        templates.push((t, slots));
    }
    let mut template_of = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.varint("template number")?;
        let id = usize::try_from(id).ok().filter(|id| *id < template_count).ok_or_else(|| {
            format!("a sample of the columnar chunk names template {id}, and the chunk has {template_count}")
        })?;
        template_of.push(id);
    }
    let seqs = r.u64s(n, 0, "sequence numbers")?;
    let times = r.u64s(n, minute_start, "sample times")?;
    // Each template's columns, then each sample's numbers in order.
    let mut uses_of = vec![0usize; template_count];
    for id in &template_of {
        uses_of[*id] += 1;
    }
    let mut numbers: Vec<Vec<std::vec::IntoIter<Number>>> = Vec::with_capacity(template_count);
    for ((_, slots), uses) in templates.iter().zip(uses_of) {
        // Not sized by `slots`: a template's length is the body's to claim.
        let mut columns = Vec::new();
        for _ in 0..*slots {
            let scale = r.count("column scale", MAX_FRACTION_DIGITS as usize)? as u32;
            let points = r.sums(uses, 1, "number format")?;
            let order = r.byte("column order")?;
            if !matches!(order, 1 | 2) {
                return Err(format!("the columnar chunk has a column of order {order} (1 or 2)"));
            }
            let scaled = r.sums(uses, order, "numbers")?;
            let mut column = Vec::with_capacity(uses);
            for (point, value) in points.into_iter().zip(scaled) {
                let point =
                    u32::try_from(point).ok().filter(|p| p.saturating_sub(1) <= scale).ok_or_else(|| {
                        format!("the columnar chunk has a number format {point} finer than its column")
                    })?;
                let divisor = 10i128.pow(scale - point.saturating_sub(1));
                let mantissa = i64::try_from(value / divisor)
                    .ok()
                    .filter(|_| value % divisor == 0)
                    .ok_or_else(|| format!("the columnar chunk has a number {value} that fits no input"))?;
                column.push(Number { mantissa, point });
            }
            columns.push(column.into_iter());
        }
        numbers.push(columns);
    }
    let mut rebuilt = 0usize;
    let mut samples = Vec::with_capacity(n);
    for ((id, seq), t_ms) in template_of.into_iter().zip(seqs).zip(times) {
        let (template, _) = &templates[id];
        let mut json = Vec::with_capacity(template.len() + 16);
        let mut slot = 0;
        for &b in template {
            match b {
                SLOT => {
                    let number = numbers[id][slot].next().ok_or("the columnar chunk's columns run short")?;
                    slot += 1;
                    number.write(&mut json);
                }
                SAMPLE_TIME => json.extend_from_slice(decimal_digits(t_ms, &mut [0; 20])),
                other => json.push(other),
            }
        }
        let json = String::from_utf8(json).map_err(|_| "a columnar template is not UTF-8 text")?;
        rebuilt += json.len();
        if rebuilt > MAX_CHUNK_JSON_BYTES {
            return Err(format!("the columnar chunk is larger than {MAX_CHUNK_JSON_BYTES} bytes as JSON"));
        }
        let input = serde_json::value::RawValue::from_string(json)
            .map_err(|e| format!("sample {seq} of the columnar chunk is not JSON: {e}"))?;
        samples.push(WireSample { seq, t_ms, input });
    }

    let cue_count = r.count("cue count", MAX_SAMPLES_PER_CHUNK)?;
    let ids = r.u64s(cue_count, 0, "utterance ids")?;
    let cue_times = r.u64s(cue_count, minute_start, "cue times")?;
    let mut cues = Vec::with_capacity(cue_count);
    for (utterance_id, at_ms) in ids.into_iter().zip(cue_times) {
        let kinds = r.text("cue kinds")?;
        let text = r.text("cue text")?;
        cues.push(WireCue { utterance_id, at_ms, kinds, text });
    }

    let event_count = r.count("event count", MAX_SAMPLES_PER_CHUNK)?;
    let event_seqs = r.u64s(event_count, 0, "event sequence numbers")?;
    let event_times = r.u64s(event_count, 0, "event times")?;
    let mut events = Vec::with_capacity(event_count);
    for (seq, t_ms) in event_seqs.into_iter().zip(event_times) {
        let event = serde_json::from_slice(r.bytes("event")?)
            .map_err(|e| format!("event {seq} of the columnar chunk is not JSON: {e}"))?;
        events.push(WireEvent { seq, t_ms, event });
    }
    if r.at != payload.len() {
        return Err(format!("the columnar chunk has {} bytes after its end", payload.len() - r.at));
    }
    Ok(Chunk { index, samples, cues, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(json.to_owned()).expect("json")
    }

    fn round_trip(chunk: &Chunk) -> Vec<u8> {
        let json = serde_json::to_vec(chunk).expect("json");
        let body = encode(chunk, &json).expect("encodes exactly");
        assert_eq!(serde_json::to_vec(&decode(&body).expect("decodes")).expect("json"), json);
        body
    }

    #[test]
    fn numbers_come_back_as_the_same_text() {
        for token in
            ["0", "7", "-3", "60000", "4.0", "0.5", "-0.25", "51.5007142", "-0.1247242", "0.0000001", "173.0"]
        {
            let n = Number::parse(token).unwrap_or_else(|| panic!("{token} is carried"));
            let mut text = Vec::new();
            n.write(&mut text);
            assert_eq!(String::from_utf8(text).expect("text"), token);
        }
        for kept_as_text in ["-0", "-0.0", "1e-7", "1.5E20", "01", "12345678901234567890", "1.", "-"] {
            assert_eq!(Number::parse(kept_as_text), None, "{kept_as_text}");
        }
    }

    #[test]
    fn a_minute_of_a_run_comes_back_byte_for_byte_and_small() {
        let samples = (0..60u64)
            .flat_map(|s| {
                let t = 60_000 + s * 1000;
                let lat = 515_007_142 + (s as i64) * 213 + (s as i64 % 3);
                [
                    format!(
                        r#"{{"type":"fix","t_ms":{t},"lat_deg":{}.{:07},"lon_deg":-0.{:07},"horizontal_accuracy_m":4.0,"speed_mps":{},"speed_accuracy_mps":null,"altitude_m":32.8}}"#,
                        lat / 10_000_000,
                        lat % 10_000_000,
                        1_247_242 + s * 170,
                        if s % 2 == 0 { "2.8" } else { "2.82" }
                    ),
                    format!(r#"{{"type":"heart_rate","t_ms":{t},"bpm":{}.0}}"#, 140 + s % 4),
                    format!(r#"{{"type":"tick","t_ms":{t}}}"#),
                ]
            })
            .enumerate()
            .map(|(i, json)| {
                let t_ms = serde_json::from_str::<serde_json::Value>(&json).expect("json")["t_ms"]
                    .as_u64()
                    .expect("t");
                WireSample { seq: 1000 + i as u64, t_ms, input: raw(&json) }
            })
            .collect();
        let chunk = Chunk {
            index: 1,
            samples,
            cues: vec![WireCue {
                utterance_id: 12,
                at_ms: 61_500,
                kinds: "pace_correction".into(),
                text: "Pick it up: \"five thirty\"".into(),
            }],
            events: vec![WireEvent {
                seq: 3,
                t_ms: 62_000,
                event: serde_json::json!({"event": "paused", "x": -0.0}),
            }],
        };
        let body = round_trip(&chunk);
        let gzip = crate::wire::encode_chunk(&chunk).expect("gzip").body;
        assert!(body.len() * 3 < gzip.len(), "columnar {} bytes against gzip {}", body.len(), gzip.len());
    }

    #[test]
    fn every_input_the_engine_takes_has_a_built_in_template() {
        use pacenote_core::engine::{Input, RunnerFeedback};
        use pacenote_core::sensor::{
            AltitudeReading, CadenceReading, DeviceSpeedReading, HeartRateReading, LocationFix,
        };
        let t_ms = 61_000;
        let mut inputs = vec![
            Input::Start { t_ms },
            Input::HeartRate(HeartRateReading { t_ms, bpm: 141.0 }),
            Input::Cadence(CadenceReading { t_ms, spm: 172.5 }),
            Input::DeviceSpeed(DeviceSpeedReading { t_ms, speed_mps: 3.1 }),
            Input::Altitude(AltitudeReading { t_ms, altitude_m: -2.4 }),
            Input::Tick { t_ms },
            Input::Pause { t_ms },
            Input::Resume { t_ms },
            Input::Lap { t_ms },
            Input::SkipStep { t_ms },
            Input::Finish { t_ms },
            Input::CueFinished { utterance_id: 4, at_ms: t_ms },
            Input::CueFinished { utterance_id: 4, at_ms: t_ms - 900 },
            Input::CheckIn { t_ms, effort: 6 },
        ];
        for feedback in [RunnerFeedback::TooHard, RunnerFeedback::TooEasy, RunnerFeedback::Pain] {
            inputs.push(Input::Feedback { t_ms, feedback });
        }
        for optional in 0..8 {
            let some = |bit: u32, v: f64| (optional & (1 << bit) != 0).then_some(v);
            inputs.push(Input::Fix(LocationFix {
                t_ms,
                lat_deg: 51.5007142,
                lon_deg: -0.1247242,
                horizontal_accuracy_m: 4.0,
                speed_mps: some(0, 2.82),
                speed_accuracy_mps: some(1, 0.3),
                altitude_m: some(2, 35.1),
            }));
        }
        for input in inputs {
            let json = serde_json::to_string(&input).expect("json");
            let (template, _) = templated(&json, t_ms);
            assert!(
                BUILT_IN_TEMPLATES.contains(&template.as_slice()),
                "{json} has no built-in template: append its template to BUILT_IN_TEMPLATES"
            );
        }
    }

    #[test]
    fn odd_inputs_still_come_back_exactly() {
        let odd = [
            r#"{"type":"fix","lat_deg":1e-7,"lon_deg":-0.0,"note":"a \"quoted\" 12.5 \\ in text"}"#,
            r#"{"type":"tick","t_ms":18446744073709551615}"#,
            r#"[1,-2,3.25,{"a":[0.5,null,true]}]"#,
            r#"{"a":123456789012345678901234567890}"#,
        ];
        let chunk = Chunk {
            index: 0,
            samples: odd
                .iter()
                .enumerate()
                .map(|(i, j)| WireSample { seq: i as u64, t_ms: i as u64, input: raw(j) })
                .collect(),
            cues: vec![],
            events: vec![],
        };
        round_trip(&chunk);
        round_trip(&Chunk { index: 10_079, samples: vec![], cues: vec![], events: vec![] });
    }

    #[test]
    fn bad_bodies_say_what_is_wrong_and_never_grow() {
        assert!(decode(b"PNC1garbage").expect_err("not deflate").contains("deflate"));
        let deflated = |payload: &[u8]| {
            let mut body = MAGIC.to_vec();
            let mut d = flate2::write::DeflateEncoder::new(&mut body, flate2::Compression::fast());
            d.write_all(payload).expect("write");
            d.finish().expect("finish");
            body
        };
        let mut huge = Vec::new();
        put_varint(&mut huge, 0);
        put_varint(&mut huge, 1 << 40);
        assert!(decode(&deflated(&huge)).expect_err("count").contains("more than a chunk can hold"));
        // One template of 1 MB used by 6,000 samples would rebuild 6 GB of JSON.
        let mut bomb = Vec::new();
        put_varint(&mut bomb, 0);
        put_varint(&mut bomb, MAX_SAMPLES_PER_CHUNK as u128);
        put_varint(&mut bomb, 1);
        put_varint(&mut bomb, 0);
        put_bytes(&mut bomb, format!("\"{}\"", "a".repeat(1 << 20)).as_bytes());
        bomb.extend(std::iter::repeat_n(0u8, MAX_SAMPLES_PER_CHUNK * 3));
        let e = decode(&deflated(&bomb)).expect_err("bomb");
        assert!(e.contains("larger than"), "{e}");
        // A sample naming a template the chunk does not have (found by the fuzz target).
        let e = decode(&deflated(&[0, 1, 0, 0])).expect_err("no template");
        assert!(e.contains("names template 0, and the chunk has 0"), "{e}");
        // A template whose length reaches one byte past the end (found by the fuzz target).
        let e = decode(&deflated(&[0, 1, 1, 0, 2, b'{'])).expect_err("past the end");
        assert!(e.contains("runs past its end"), "{e}");
        let chunk = Chunk { index: 2, samples: vec![], cues: vec![], events: vec![] };
        let mut trailing = deflated(&[2, 0, 0, 0, 0]);
        assert!(decode(&trailing).is_ok());
        trailing = deflated(&[2, 0, 0, 0, 0, 9]);
        assert!(decode(&trailing).expect_err("trailing").contains("after its end"));
        round_trip(&chunk);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use pacenote_core::engine::Input;
        use pacenote_core::sensor::{HeartRateReading, LocationFix};

        /// Any finite double, at a sensor's resolution or not, tiny, huge or negative zero.
        fn number() -> impl Strategy<Value = f64> {
            prop_oneof![
                -1e6..1e6f64,
                any::<f64>().prop_filter("finite", |v| v.is_finite()),
                Just(-0.0),
                Just(1e-7),
                (-900_000_000i64..900_000_000).prop_map(|v| v as f64 / 1e7),
            ]
        }

        /// An input without its time, which the chunk decides.
        #[derive(Debug, Clone)]
        enum Body {
            Fix(f64, f64, f64, Option<f64>, Option<f64>),
            HeartRate(f64),
            Tick,
            /// Text that is no input of today: kept exactly all the same.
            Other(String),
        }

        impl Body {
            fn json(&self, t_ms: u64) -> String {
                let input = match self.clone() {
                    Body::Fix(lat_deg, lon_deg, horizontal_accuracy_m, speed_mps, altitude_m) => {
                        Input::Fix(LocationFix {
                            t_ms,
                            lat_deg,
                            lon_deg,
                            horizontal_accuracy_m,
                            speed_mps,
                            speed_accuracy_mps: None,
                            altitude_m,
                        })
                    }
                    Body::HeartRate(bpm) => Input::HeartRate(HeartRateReading { t_ms, bpm }),
                    Body::Tick => Input::Tick { t_ms },
                    Body::Other(text) => {
                        return serde_json::json!({ "note": text, "n": [1, -2.5, 3e9], "t_ms": t_ms })
                            .to_string();
                    }
                };
                serde_json::to_string(&input).expect("json")
            }
        }

        fn body() -> impl Strategy<Value = Body> {
            prop_oneof![
                (
                    number(),
                    number(),
                    number(),
                    proptest::option::of(number()),
                    proptest::option::of(number())
                )
                    .prop_map(|(a, b, c, d, e)| Body::Fix(a, b, c, d, e)),
                number().prop_map(Body::HeartRate),
                Just(Body::Tick),
                ".*".prop_map(Body::Other),
            ]
        }

        proptest! {
            #[test]
            fn any_chunk_comes_back_with_the_same_digest(
                index in 0u64..10_080,
                entries in proptest::collection::vec((0u64..3_000, 0u64..3, body()), 0..40),
                seed in any::<u64>(),
                cue_text in ".*",
            ) {
                let minute = index * CHUNK_MS;
                let mut t_ms = minute;
                let mut seq = seed % 1_000_000;
                let mut samples = Vec::new();
                for (gap, seq_gap, body) in &entries {
                    t_ms = (t_ms + gap).min(minute + CHUNK_MS - 1);
                    seq += 1 + seq_gap;
                    let input = serde_json::value::RawValue::from_string(body.json(t_ms)).expect("json");
                    samples.push(WireSample { seq, t_ms, input });
                }
                let chunk = Chunk {
                    index,
                    samples,
                    cues: vec![WireCue { utterance_id: seed, at_ms: minute, kinds: "split".into(), text: cue_text }],
                    events: vec![WireEvent { seq: 0, t_ms: seed, event: serde_json::json!({"event": "paused", "at": -0.5}) }],
                };
                let gzip = crate::wire::encode_chunk(&chunk).expect("gzip");
                let compact = crate::wire::encode_chunk_as(&chunk, crate::wire::ChunkEncoding::Columnar).expect("columnar");
                // Every chunk of text goes columnar: nothing here needs the fallback.
                prop_assert_eq!(compact.encoding, crate::wire::ChunkEncoding::Columnar);
                let (back, digest) = crate::wire::decode_chunk(index, &compact.body).expect("decodes");
                prop_assert_eq!(&digest, &gzip.digest);
                prop_assert_eq!(back, chunk);
            }
        }
    }
}
