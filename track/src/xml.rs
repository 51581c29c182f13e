//! The XML reading GPX and TCX share: bytes to text, a walk over elements with the path of
//! local names (namespaces dropped, so `gpxtpx:hr` and `ns3:hr` are both `hr`), and ISO 8601
//! times. Only reads; errors say where in the file things went wrong.

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::TrackError;

/// Deeper than any GPX or TCX file nests; a limit keeps hostile input from growing the stack.
const MAX_DEPTH: usize = 64;

/// One thing the walk found.
pub(crate) enum Node<'a, 'e> {
    /// An element opened (or an empty element); `path` ends with its own name.
    Open { path: &'a [String], tag: &'a BytesStart<'e> },
    /// Text directly inside the element at the end of `path`.
    Text { path: &'a [String], text: &'a str },
    /// The element at the end of `path` closed.
    Close { path: &'a [String] },
}

/// The document as text: UTF-8 (with or without a byte-order mark).
pub(crate) fn text(bytes: &[u8]) -> Result<&str, TrackError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        TrackError::Format(format!("not UTF-8 text at byte {}: not an XML recording", e.valid_up_to()))
    })
}

/// Walks every element of `text`, calling `visit` in document order.
pub(crate) fn walk(
    text: &str,
    mut visit: impl FnMut(Node<'_, '_>) -> Result<(), TrackError>,
) -> Result<(), TrackError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line =
                text.as_bytes()[..(at as usize).min(text.len())].iter().filter(|b| **b == b'\n').count() + 1;
            TrackError::Format(format!("XML is broken at line {line}: {e}"))
        })?;
        match event {
            Event::Start(tag) => {
                if path.len() >= MAX_DEPTH {
                    return Err(TrackError::Format(format!("XML nests deeper than {MAX_DEPTH} elements")));
                }
                path.push(tag.local_name().as_ref().to_owned());
                visit(Node::Open { path: &path, tag: &tag })?;
            }
            Event::Empty(tag) => {
                path.push(tag.local_name().as_ref().to_owned());
                visit(Node::Open { path: &path, tag: &tag })?;
                visit(Node::Close { path: &path })?;
                path.pop();
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                visit(Node::Text { path: &path, text: content.trim() })?;
            }
            Event::CData(t) => {
                let content = t.xml10_content();
                visit(Node::Text { path: &path, text: content.trim() })?;
            }
            Event::End(_) => {
                visit(Node::Close { path: &path })?;
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = path.last() {
        return Err(TrackError::Format(format!("the file ends inside <{open}>: truncated?")));
    }
    Ok(())
}

/// An attribute's value by local name.
pub(crate) fn attribute(tag: &BytesStart<'_>, name: &str) -> Result<Option<String>, TrackError> {
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| {
            TrackError::Format(format!("bad attribute in <{}>: {e}", tag.local_name().as_ref()))
        })?;
        if attr.key.local_name().as_ref() == name {
            return Ok(Some(attr.value.trim().to_owned()));
        }
    }
    Ok(None)
}

/// A number from text, naming the element when it is not one.
pub(crate) fn number(text: &str, element: &str) -> Result<f64, TrackError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| TrackError::Format(format!("<{element}> holds {text:?}, not a number")))
}

/// An ISO 8601 time ("2020-12-06T06:36:21Z", fractions and offsets allowed; no zone means UTC).
pub(crate) fn time(text: &str, element: &str) -> Result<DateTime<Utc>, TrackError> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|_| TrackError::Format(format!("<{element}> holds {text:?}, not an ISO 8601 time")))
}
