//! `uniffi-bindgen generate LIB --language kotlin|swift --out-dir DIR`, pinned to the uniffi
//! version the library is built with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
