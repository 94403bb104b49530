//! The `fas` command: a thin CLI over the library (see src/cli).

/// mimalloc rather than glibc's malloc. Each round allocates short-lived listings
/// between long-lived per-app records, and glibc kept about 1.5x the live heap
/// resident: `fas serve` with 25,000 apps held 160 MB, 113 MB with this crate's
/// bundled mimalloc (`v2`; the same run preloaded with the system's mimalloc: 106 MB,
/// with jemalloc: 108 MB). README "Figures", `fas bench cluster`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(fas::cli::run());
}
