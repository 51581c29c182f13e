//! Cross-crate tests live in tests/; this library only gives them a home.
