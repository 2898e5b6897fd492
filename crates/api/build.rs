//! Compiles proto/*.proto with protox (pure Rust), so no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = "../../proto";
    let files = [
        "objects.proto",
        "control.proto",
        "dispatcher.proto",
        "raft.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={dir}/{f}");
    }
    let fds = protox::compile(files, [dir])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
