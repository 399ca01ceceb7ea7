// Finds libember.so: the folder in EMBER_LIB_DIR, else what `pkg-config ember` says, else the
// linker's default search path. The folder is passed on to dependents (DEP_EMBER_LIB_DIR) so
// that their tests and examples can carry an rpath to it.
use std::env;
use std::process::Command;

fn pkg_config_libdir() -> Option<String> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "ember"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
    if dir.is_empty() {
        None
    } else {
        Some(dir)
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=EMBER_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dir = env::var("EMBER_LIB_DIR").ok().filter(|d| !d.is_empty()).or_else(pkg_config_libdir);
    if let Some(dir) = &dir {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
        println!("cargo:lib_dir={}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=ember");
}
