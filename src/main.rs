//! Thin binary: all work happens in the library (see `rhetor::cli`).
fn main() {
    std::process::exit(rhetor::cli::main());
}
