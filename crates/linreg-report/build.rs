//! Takes plotly.js out of the `plotly` crate once, at build time, into `OUT_DIR/plotly.min.js`,
//! which the library embeds with `include_str!`.
//!
//! The crate ships the bundle only through `Plot::offline_js_sources()`, which returns it
//! together with MathJax (2 MB that the report does not use) in a freshly built 6.8 MB string.
//! Calling it here instead of at run time keeps MathJax out of the binary and that copy out of
//! every run's memory: a report then writes the bundle straight from the binary.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let sources = plotly::Plot::offline_js_sources();
    const OPEN: &str = "<script type=\"text/javascript\">";
    let js = sources
        .find(OPEN)
        .map(|i| &sources[i + OPEN.len()..])
        .and_then(|rest| rest.find("</script>").map(|end| &rest[..end]))
        .filter(|js| js.contains("plotly.js v") && js.contains("newPlot"))
        .unwrap_or_else(|| {
            panic!(
                "linreg-report: the plotly crate's Plot::offline_js_sources() no longer starts \
                 with the plotly.js bundle; this plotly version is not supported"
            )
        });
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("plotly.min.js"), js).expect("could not write OUT_DIR/plotly.min.js");
}
