//! The parameter lists of the kernels in kernels/*.cu, read from their source: what every launch
//! is checked against (src/backend/cuda/launch.rs), so an argument list that does not match its
//! kernel's C signature is a typed error naming both, never undefined behaviour on the device.
//! Plain text processing, no CUDA: tests check the parser on every kernel without a GPU.

/// The C element types kernels take, each with a Rust counterpart the launch layer can push
/// (src/backend/cuda/launch.rs `c_types!`, which a test keeps equal to this list).
pub const KNOWN_TYPES: &[&str] = &[
    "float",
    "double",
    "uint32_t",
    "uint64_t",
    "int32_t",
    "MfrImageDesc",
    "MfrRngKey",
    "MfrSsimParams",
    "MfrSearchState",
    "MfrSearchConfig",
];

/// How a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// By value (`uint32_t n`, `MfrRngKey key`).
    Value,
    /// A pointer the kernel only reads (`const float* in`).
    Const,
    /// A pointer the kernel may write (`float* out`).
    Mut,
}

/// One parameter's C type: element type name and how it is passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub ty: String,
    pub pass: Pass,
}

impl Param {
    pub fn new(ty: &str, pass: Pass) -> Param {
        Param {
            ty: ty.to_string(),
            pass,
        }
    }

    /// Whether an argument of type `self` may be passed for parameter `p`: the same element type,
    /// and a writable pointer may go where a read-only one is expected, not the other way round.
    pub fn fits(&self, p: &Param) -> bool {
        self.ty == p.ty
            && match (self.pass, p.pass) {
                (a, b) if a == b => true,
                (Pass::Mut, Pass::Const) => true,
                _ => false,
            }
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pass {
            Pass::Value => write!(f, "{}", self.ty),
            Pass::Const => write!(f, "const {}*", self.ty),
            Pass::Mut => write!(f, "{}*", self.ty),
        }
    }
}

/// Every `extern "C" __global__` function of a .cu source with its parameters, in order.
pub fn kernels(src: &str) -> Vec<(String, Vec<Param>)> {
    let src = strip_comments(src);
    let mut out = Vec::new();
    for piece in src.split("__global__").skip(1) {
        // `void [__launch_bounds__(...)] name(params) {`
        let rest = piece.trim_start();
        let rest = rest.strip_prefix("void").unwrap_or(rest).trim_start();
        let rest = match rest.strip_prefix("__launch_bounds__") {
            Some(r) => &r[r.find(')').map_or(0, |i| i + 1)..],
            None => rest,
        };
        let rest = rest.trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = rest.find('(') else { continue };
        let Some(close) = rest[open..].find(')') else {
            continue;
        };
        let list = &rest[open + 1..open + close];
        let params = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "void")
            .map(param)
            .collect();
        out.push((name, params));
    }
    out
}

/// `const float* __restrict__ in` -> (float, Const); `uint32_t n` -> (uint32_t, Value).
fn param(decl: &str) -> Param {
    let words: Vec<&str> = decl
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty() && *w != "__restrict__")
        .collect();
    let is_const = words.first() == Some(&"const");
    let ty_words: Vec<&str> = words.iter().copied().filter(|w| *w != "const").collect();
    // the last word is the parameter's name
    let ty = ty_words[..ty_words.len().saturating_sub(1)].join(" ");
    let pass = match (decl.contains('*'), is_const) {
        (false, _) => Pass::Value,
        (true, true) => Pass::Const,
        (true, false) => Pass::Mut,
    };
    Param { ty, pass }
}

fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Check an argument list against a kernel's parameters; the error names every difference.
pub fn check(kernel: &str, args: &[Param], params: &[Param]) -> Result<(), String> {
    let mut diffs = Vec::new();
    if args.len() != params.len() {
        diffs.push(format!(
            "{} argument(s) for {} parameter(s)",
            args.len(),
            params.len()
        ));
    }
    for (i, (a, p)) in args.iter().zip(params).enumerate() {
        if !a.fits(p) {
            diffs.push(format!("argument {i} is {a}, the parameter is {p}"));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        let sig: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        Err(format!(
            "launch of {kernel}({}) does not match its signature: {}",
            sig.join(", "),
            diffs.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qualifiers_launch_bounds_and_comments() {
        let src = "// a comment with __global__ in it\n\
                   extern \"C\" __global__ void __launch_bounds__(XRAY_THREADS)\n\
                   xray_pointwise(const float* __restrict__ in, float* __restrict__ out, /* x */\n\
                   const MfrImageDesc* __restrict__ descs, MfrRngKey key, uint32_t n_images) {\n\
                   }\n\
                   extern \"C\" __global__ void plain(double* scratch) {}";
        let k = kernels(src);
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].0, "xray_pointwise");
        assert_eq!(
            k[0].1,
            vec![
                Param::new("float", Pass::Const),
                Param::new("float", Pass::Mut),
                Param::new("MfrImageDesc", Pass::Const),
                Param::new("MfrRngKey", Pass::Value),
                Param::new("uint32_t", Pass::Value),
            ]
        );
        assert_eq!(
            k[1],
            ("plain".into(), vec![Param::new("double", Pass::Mut)])
        );
    }

    #[test]
    fn a_writable_pointer_fits_a_read_only_parameter_only() {
        let c = Param::new("float", Pass::Const);
        let m = Param::new("float", Pass::Mut);
        assert!(m.fits(&c) && c.fits(&c) && m.fits(&m));
        assert!(!c.fits(&m));
        assert!(!Param::new("double", Pass::Const).fits(&c));
        assert!(!Param::new("float", Pass::Value).fits(&c));
        let e = check("k", std::slice::from_ref(&c), &[m.clone(), c.clone()]).unwrap_err();
        assert!(e.contains("1 argument(s) for 2 parameter(s)"), "{e}");
        assert!(
            e.contains("argument 0 is const float*, the parameter is float*"),
            "{e}"
        );
        assert!(check("k", &[m, c.clone()], &[c.clone(), c]).is_ok());
    }
}
