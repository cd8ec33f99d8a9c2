//! Compiles the SPIFFE Workload API stand-in's proto with protox (pure
//! Rust), so no system `protoc` is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/spiffe_workload.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
