//! Git sources, set-up: how libgit2 maps pack files, set once per process
//! before any repository is opened.
//!
//! libgit2 reads packs through mapped windows and unmaps the least recently
//! used one whenever the total mapped goes past a limit. Too small a limit
//! makes it map and unmap a window for almost every object (delta bases sit
//! far from the objects built on them), and that was most of a history
//! scan's time; no limit lets a scan map the whole of a multi-gigabyte pack.

/// One window's size. libgit2 never maps past a pack's end, so a pack
/// smaller than this is mapped whole, in one window.
const WINDOW: usize = 32 << 20;

/// The most mapped at once, over all packs. What is mapped is at most the
/// packs' size, so this only binds on repositories whose packs are larger:
/// peak memory stays bounded whatever the repository's size. Mapped pages
/// are clean and shared with the page cache, but count in RSS.
const MAPPED_LIMIT: usize = 128 << 20;

/// Sets libgit2's pack windows. Call it first in `main`, before any other
/// thread exists: libgit2's global options are not synchronised.
pub fn set_pack_windows() {
    // For measuring other sizes without a rebuild: "WINDOW,LIMIT" in MiB.
    let knob = std::env::var("KEYFLARE_PACK_WINDOWS_MIB").unwrap_or_default();
    let mut mib = knob.split(',').map(|x| x.trim().parse::<usize>().ok());
    let window = mib.next().flatten().map_or(WINDOW, |m| m << 20);
    let limit = mib.next().flatten().map_or(MAPPED_LIMIT, |m| m << 20);
    // SAFETY: called before any other thread exists or libgit2 is used
    // (see above); both only store a number.
    unsafe {
        let _ = git2::opts::set_mwindow_size(window);
        let _ = git2::opts::set_mwindow_mapped_limit(limit);
    }
}

/// For a scan that reads a few objects (`--staged`): lets every window of
/// the repository's packs stay mapped. What such a scan maps it mostly does
/// not touch, and untouched pages cost nothing; a limit near a pack's size
/// would instead unmap and map windows again between the few tree lookups
/// (a tenth of `scan --staged` in a 128 MB pack). Same rule as
/// [`set_pack_windows`]: call it before any other thread exists.
pub fn set_pack_windows_for_few_reads() {
    if std::env::var_os("KEYFLARE_PACK_WINDOWS_MIB").is_some() {
        return;
    }
    // SAFETY: as in set_pack_windows.
    unsafe {
        let _ = git2::opts::set_mwindow_mapped_limit(FEW_READS_LIMIT);
    }
}

/// The mapped limit for [`set_pack_windows_for_few_reads`]: address space,
/// not memory (pages count only once read).
const FEW_READS_LIMIT: usize = usize::MAX / 4;
