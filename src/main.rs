//! The `laurel` command-line entry point.
fn main() {
    println!("laurel {}", env!("CARGO_PKG_VERSION"));
}
