//! The kernel modules compiled by build.rs (one fatbin per kernels/*.cu, SASS sm_80/86/89/90 +
//! PTX compute_80), embedded in the binary together with ptxas's register/spill report.

/// One compiled kernels/<name>.cu.
#[derive(Clone, Copy, Debug)]
pub struct KernelModule {
    /// File stem: "ssim" for kernels/ssim.cu.
    pub name: &'static str,
    /// nvcc --fatbin output, loaded with cuModuleLoadData.
    pub fatbin: &'static [u8],
    /// nvcc -Xptxas -v output (registers, stack, spills per kernel and arch).
    pub ptxas_log: &'static str,
    /// kernels/`name`.cu itself: the kernels' parameter lists every launch is checked against
    /// (launch.rs).
    pub source: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/kernels.rs"));

/// The embedded module named `name`.
pub fn module(name: &str) -> Option<&'static KernelModule> {
    MODULES.iter().find(|m| m.name == name)
}

/// Lines of ptxas reports that show register spills, as "<module>: <line>" (should be empty).
pub fn spill_reports() -> Vec<String> {
    MODULES
        .iter()
        .flat_map(|m| {
            m.ptxas_log
                .lines()
                .filter(|l| {
                    l.contains("spill") && !l.contains(" 0 bytes spill stores, 0 bytes spill loads")
                })
                .map(move |l| format!("{}: {}", m.name, l.trim()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/kernels");
        if !std::path::Path::new(dir).is_dir() {
            // A prebuilt test binary run elsewhere (tools/gpu_check.sh run): no sources to compare.
            eprintln!("SKIPPED source comparison: {dir} is not here");
            return;
        }
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".cu"))
                    .map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = MODULES.iter().map(|m| m.name.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for m in MODULES {
            // A fatbin starts with the fatbin wrapper magic 0xBA55ED50 (little-endian).
            assert!(m.fatbin.len() > 16, "{}: empty fatbin", m.name);
            assert_eq!(
                &m.fatbin[..4],
                &[0x50, 0xED, 0x55, 0xBA],
                "{}: not a fatbin",
                m.name
            );
        }
    }

    #[test]
    fn ptxas_compiled_every_arch_without_spills() {
        for m in MODULES {
            for arch in ["sm_80", "sm_86", "sm_89", "sm_90"] {
                assert!(
                    m.ptxas_log.contains(&format!("for '{arch}'")),
                    "{}: no ptxas report for {arch} (built with MEDFM_CUDA_ARCHS?)",
                    m.name
                );
            }
        }
        assert!(
            spill_reports().is_empty(),
            "register spills: {:#?}",
            spill_reports()
        );
    }
}
