//! Git sources, set-up: how libgit2 maps pack files, set once per process,
//! from what the command will read, before any repository is opened.
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

/// What a command reads of a repository's packs, which decides how much of
/// them may stay mapped.
#[derive(Clone, Copy, Debug)]
pub enum PackReads<'a> {
    /// Not known here (no repository, or one cloned later): the defaults.
    Unknown,
    /// A few objects (`--staged`): every window may stay mapped. What such
    /// a scan maps it mostly does not touch, and untouched pages cost
    /// nothing; a limit near a pack's size would instead unmap and map
    /// windows again between the few tree lookups (a tenth of
    /// `scan --staged` in a 128 MB pack).
    Few,
    /// Much of the repository at or above this directory (history, a range,
    /// an audit): its packs may stay mapped whole, up to [`MAPPED_CAP`].
    /// Below the packs' size libgit2 unmaps a window and maps another again
    /// and again, and with several threads every unmap also stops the other
    /// cores to flush their address caches: on cloudflare/workers-sdk (a 199
    /// MB pack) the 128 MiB limit cost 4.3 s of system time where 224 MiB
    /// cost 1.3 s, and 3.7 s of a 15.5 s scan. Mapped pages count in memory
    /// once read, so the cap bounds it whatever the repository's size.
    Much(&'a std::path::Path),
}

/// Sets libgit2's pack windows for what the command reads. Call it once,
/// before any other thread exists: libgit2's global options are not
/// synchronised.
pub fn set_pack_windows(reads: PackReads<'_>) {
    let limit = match reads {
        PackReads::Unknown => MAPPED_LIMIT,
        PackReads::Few => FEW_READS_LIMIT,
        PackReads::Much(dir) => pack_bytes(dir).map_or(MAPPED_LIMIT, limit_for),
    };
    // For measuring other sizes without a rebuild: "WINDOW,LIMIT" in MiB,
    // which replace the sizes above.
    let knob = std::env::var("KEYFLARE_PACK_WINDOWS_MIB").ok();
    let (window, limit) = match knob {
        Some(knob) => {
            let mut mib = knob.split(',').map(|x| x.trim().parse::<usize>().ok());
            let window = mib.next().flatten().map_or(WINDOW, |m| m << 20);
            (
                window,
                mib.next().flatten().map_or(MAPPED_LIMIT, |m| m << 20),
            )
        }
        None => (WINDOW, limit),
    };
    // SAFETY: called before any other thread exists or libgit2 is used
    // (see above); both only store a number.
    unsafe {
        let _ = git2::opts::set_mwindow_size(window);
        let _ = git2::opts::set_mwindow_mapped_limit(limit);
    }
}

/// The mapped limit for packs of `packs` bytes: whole windows, and one
/// more (a window starts on a boundary, so the last one may reach past the
/// pack's end), between the default and the cap.
fn limit_for(packs: u64) -> usize {
    let windows = packs.div_ceil(WINDOW as u64).saturating_add(1);
    usize::try_from(windows.saturating_mul(WINDOW as u64))
        .unwrap_or(MAPPED_CAP)
        .clamp(MAPPED_LIMIT, MAPPED_CAP)
}

/// The most [`PackReads::Much`] lets be mapped.
const MAPPED_CAP: usize = 256 << 20;

/// The mapped limit for [`PackReads::Few`]: address space, not memory
/// (pages count only once read).
const FEW_READS_LIMIT: usize = usize::MAX / 4;

/// The bytes of the pack files of the repository at or above `dir`.
fn pack_bytes(dir: &std::path::Path) -> Option<u64> {
    let repo = git2::Repository::discover(dir).ok()?;
    let packs = repo.commondir().join("objects").join("pack");
    let total = std::fs::read_dir(packs)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_covers_the_packs_up_to_the_cap() {
        const MIB: u64 = 1 << 20;
        // Small packs: the default, which already holds them whole.
        assert_eq!(limit_for(0), MAPPED_LIMIT);
        assert_eq!(limit_for(68 * MIB), MAPPED_LIMIT);
        // workers-sdk's 199 MiB pack: seven windows and one more.
        assert_eq!(limit_for(199 * MIB), 256 << 20);
        assert_eq!(limit_for(150 * MIB), 192 << 20);
        // However large the repository, no more than the cap.
        assert_eq!(limit_for(40 << 30), MAPPED_CAP);
        assert_eq!(limit_for(u64::MAX), MAPPED_CAP);
    }

    #[test]
    fn pack_bytes_are_those_of_the_pack_files() {
        let dir = std::env::temp_dir().join(format!("kf-packs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = git2::Repository::init(&dir).expect("init");
        let packs = repo.path().join("objects").join("pack");
        std::fs::write(packs.join("pack-a.pack"), vec![0u8; 1000]).expect("write");
        std::fs::write(packs.join("pack-a.idx"), vec![0u8; 500]).expect("write");
        std::fs::write(packs.join("pack-b.pack"), vec![0u8; 24]).expect("write");
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        assert_eq!(pack_bytes(&dir.join("sub")), Some(1024));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
