//! Generates Rust bindings for libatasmart (the SMART plugin) and the kernel's NVMe passthru
//! struct, and links libatasmart through pkg-config.

use std::env;
use std::path::PathBuf;

// `atasmart.h` uses `size_t` without including `<stddef.h>`, so the wrapper includes it first.
const WRAPPER: &str = "#include <stddef.h>\n#include <atasmart.h>\n#include <linux/nvme_ioctl.h>\n";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let library = pkg_config::Config::new()
        .atleast_version("0.19")
        .probe("libatasmart")
        .expect("libatasmart not found by pkg-config (Debian: apt-get install libatasmart-dev pkg-config)");

    let clang_args = library.include_paths.iter().map(|path| format!("-I{}", path.display()));
    let bindings = bindgen::Builder::default()
        .header_contents("glint_atasmart_wrapper.h", WRAPPER)
        .clang_args(clang_args)
        .allowlist_function("sk_.*")
        .allowlist_type("Sk.*")
        .allowlist_type("nvme_passthru_cmd")
        .layout_tests(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed on atasmart.h (Debian: apt-get install libclang-dev)");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("atasmart_bindings.rs"))
        .expect("cannot write atasmart_bindings.rs");
}
