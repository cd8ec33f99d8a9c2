//! Code generated from `proto/` by `build.rs`.
#![allow(clippy::all, missing_docs)]

pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

pub mod plugin {
    tonic::include_proto!("plugin");
}
