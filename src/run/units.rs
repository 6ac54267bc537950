//! Work units and sharding.
//!
//! A unit is one (model, strategy, dataset, task, perturbation, level, sample); the clean
//! evaluation is perturbation `clean`, level 0. Its `unit` id is the FNV-1a 64 hash of those
//! fields (NUL-separated), as 16 hex digits: stable across machines, runs and thread counts.
//!
//! Units are executed in groups of one (dataset, sample, perturbation): the perturbation is
//! calibrated once per group with the run's full level list (so a resumed group gets exactly the
//! strengths of an uninterrupted one) and every model of the group is evaluated on the outputs.
//! Sharding therefore slices GROUPS: a group belongs to shard `hash(dataset, sample,
//! perturbation) % N`, so each unit is in exactly one shard and no calibration is split.

use crate::error::{Error, Result};

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn hash_fields(fields: &[&str]) -> u64 {
    let mut bytes = Vec::new();
    for f in fields {
        bytes.extend_from_slice(f.as_bytes());
        bytes.push(0);
    }
    fnv1a64(&bytes)
}

/// Perturbation name of the clean evaluation.
pub const CLEAN: &str = "clean";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    pub model: String,
    pub strategy: String,
    pub dataset: String,
    pub task: String,
    pub perturbation: String,
    pub level: u8,
    pub sample: String,
}

impl Unit {
    /// The stable id (16 hex digits).
    pub fn id(&self) -> String {
        let level = self.level.to_string();
        format!(
            "{:016x}",
            hash_fields(&[
                &self.model,
                &self.strategy,
                &self.dataset,
                &self.task,
                &self.perturbation,
                &level,
                &self.sample
            ])
        )
    }

    /// The group (dataset, sample, perturbation) this unit is executed in.
    pub fn group_key(&self) -> (String, String, String) {
        (
            self.dataset.clone(),
            self.sample.clone(),
            self.perturbation.clone(),
        )
    }
}

/// Shard of a group key.
pub fn shard_of(dataset: &str, sample: &str, perturbation: &str, count: u32) -> u32 {
    (hash_fields(&[dataset, sample, perturbation]) % count as u64) as u32
}

/// `i/N`: this process runs shard i (0-based) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn parse(s: &str) -> Result<Shard> {
        let bad = |r: &str| {
            Error::invalid(
                "--shard",
                format!("'{s}': {r}; expected i/N with 0 <= i < N, e.g. 0/4"),
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: u32 = i.trim().parse().map_err(|_| bad("i is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        Shard::new(index, count).map_err(|_| bad("out of range"))
    }

    pub fn new(index: u32, count: u32) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(Error::invalid(
                "shard",
                format!("{index}/{count}: need 0 <= i < N"),
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard from the environment when `--shard` is not given:
    /// SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (minus SLURM_ARRAY_TASK_MIN when set, so
    /// `--array=1-8` works), else JOB_COMPLETION_INDEX (Kubernetes Indexed Job) with
    /// MEDFM_ROBUST_SHARD_COUNT (set it to the Job's `completions`). None when neither is set.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let num =
            |k: &str| -> Result<Option<u32>> {
                match get(k) {
                    None => Ok(None),
                    Some(v) if v.trim().is_empty() => Ok(None),
                    Some(v) => v.trim().parse().map(Some).map_err(|_| {
                        Error::invalid(k.to_string(), format!("'{v}' is not a number"))
                    }),
                }
            };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                Error::invalid(
                    "SLURM_ARRAY_TASK_ID",
                    "is set but SLURM_ARRAY_TASK_COUNT is not",
                )
            })?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                Error::invalid("SLURM_ARRAY_TASK_ID", "is below SLURM_ARRAY_TASK_MIN")
            })?;
            return Shard::new(index, count).map(Some);
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("MEDFM_ROBUST_SHARD_COUNT")?.ok_or_else(|| {
                Error::invalid(
                    "JOB_COMPLETION_INDEX",
                    "is set but MEDFM_ROBUST_SHARD_COUNT is not (set it to the Job's completions)",
                )
            })?;
            return Shard::new(index, count).map(Some);
        }
        Ok(None)
    }

    pub fn contains(&self, dataset: &str, sample: &str, perturbation: &str) -> bool {
        self.count == 1 || shard_of(dataset, sample, perturbation, self.count) == self.index
    }

    /// Records file name of this shard inside the output folder.
    pub fn records_file(&self) -> String {
        if self.count == 1 {
            "records.jsonl".into()
        } else {
            format!("records-shard-{}-of-{}.jsonl", self.index, self.count)
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv64_known_values() {
        // Reference values of FNV-1a 64 (www.isthe.com/chongo/tech/comp/fnv test vectors).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn unit_id_depends_on_every_field() {
        let u = Unit {
            model: "m".into(),
            strategy: "full".into(),
            dataset: "d".into(),
            task: "segmentation".into(),
            perturbation: "gaussian_noise".into(),
            level: 3,
            sample: "a.png".into(),
        };
        let id = u.id();
        assert_eq!(id.len(), 16);
        let mut v = u.clone();
        v.level = 4;
        assert_ne!(v.id(), id);
        let mut v = u.clone();
        v.strategy = "lora".into();
        assert_ne!(v.id(), id);
        // Field boundaries matter: ("ab","c") != ("a","bc").
        let mut a = u.clone();
        a.model = "ab".into();
        a.strategy = "c".into();
        let mut b = u.clone();
        b.model = "a".into();
        b.strategy = "bc".into();
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn shard_parse_and_env() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("x").is_err());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "4")
            ]))
            .unwrap(),
            Some(Shard { index: 2, count: 4 })
        );
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1")
            ]))
            .unwrap(),
            Some(Shard { index: 3, count: 4 })
        );
        assert_eq!(
            Shard::from_env(env(&[
                ("JOB_COMPLETION_INDEX", "0"),
                ("MEDFM_ROBUST_SHARD_COUNT", "3")
            ]))
            .unwrap(),
            Some(Shard { index: 0, count: 3 })
        );
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).is_err());
    }

    #[test]
    fn shards_partition_groups() {
        let mut seen = std::collections::BTreeMap::new();
        for s in 0..50 {
            let sample = format!("s{s}.png");
            let owners: Vec<u32> = (0..3)
                .filter(|&i| Shard { index: i, count: 3 }.contains("d", &sample, "blur"))
                .collect();
            assert_eq!(owners.len(), 1);
            *seen.entry(owners[0]).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 3, "all shards get work: {seen:?}");
    }
}
