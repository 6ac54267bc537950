//! The one way kernels are launched: [`KernelFn::builder`] gives a [`Launch`] that records the C
//! type of every argument pushed, and [`Launch::launch`] checks the list against the kernel's own
//! parameter list (read from its embedded source by crate::backend::kernel_sig, once per process)
//! before handing it to the driver. An argument list that does not match its kernel (a missing,
//! extra, reordered or mistyped argument, or a read-only buffer where the kernel writes) is a
//! typed error naming the kernel, its signature and every difference, never undefined behaviour
//! on the device. What no signature can say (buffer lengths, the grid the kernel's indexing
//! assumes) stays the caller's obligation, stated at each launch site.

use super::modules::MODULES;
use crate::backend::kernel_sig::{self, Param, Pass};
use crate::backend::params::{ImageDesc, RngKey, SearchConfig, SearchState, SsimParams};
use crate::backend::BackendError;
use cudarc::driver::{
    CudaFunction, CudaSlice, CudaStream, LaunchArgs, LaunchConfig, PushKernelArg,
};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The parameter lists of every kernel of every embedded module, by (module, kernel).
fn signatures() -> &'static HashMap<(&'static str, String), Vec<Param>> {
    static SIGS: OnceLock<HashMap<(&'static str, String), Vec<Param>>> = OnceLock::new();
    SIGS.get_or_init(|| {
        let mut map = HashMap::new();
        for m in MODULES {
            for (name, params) in kernel_sig::kernels(m.source) {
                map.insert((m.name, name), params);
            }
        }
        map
    })
}

/// A loaded kernel with its C parameter list.
pub struct KernelFn {
    func: CudaFunction,
    name: String,
    params: &'static [Param],
}

impl KernelFn {
    /// `function` of module `module` (already loaded as `func`).
    pub(crate) fn new(
        func: CudaFunction,
        module: &'static str,
        function: &str,
    ) -> Result<Self, BackendError> {
        let params = signatures()
            .get(&(module, function.to_string()))
            .ok_or_else(|| {
                BackendError::cuda(
                    "kernel lookup",
                    format!("kernels/{module}.cu has no `__global__` {function} in its source"),
                )
            })?;
        Ok(KernelFn {
            func,
            name: format!("{module}.cu::{function}"),
            params,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A launch of this kernel on `stream`; push the arguments in the kernel's order.
    pub fn builder<'a>(&'a self, stream: &'a CudaStream) -> Launch<'a> {
        Launch {
            args: stream.launch_builder(&self.func),
            kernel: self,
            pushed: Vec::new(),
        }
    }
}

/// A kernel argument's C type.
pub trait CArg {
    fn param() -> Param;
}

/// Element types of device buffers, by their C name in kernels/.
pub trait CElem {
    const C: &'static str;
}

macro_rules! c_types {
    ($($t:ty => $c:literal),* $(,)?) => {$(
        impl CElem for $t {
            const C: &'static str = $c;
        }
        impl CArg for &$t {
            fn param() -> Param {
                Param::new($c, Pass::Value)
            }
        }
    )*};
}

c_types!(
    f32 => "float",
    f64 => "double",
    u32 => "uint32_t",
    u64 => "uint64_t",
    i32 => "int32_t",
    ImageDesc => "MfrImageDesc",
    RngKey => "MfrRngKey",
    SsimParams => "MfrSsimParams",
    SearchState => "MfrSearchState",
    SearchConfig => "MfrSearchConfig",
);

impl<T: CElem> CArg for &CudaSlice<T> {
    fn param() -> Param {
        Param::new(T::C, Pass::Const)
    }
}

impl<T: CElem> CArg for &mut CudaSlice<T> {
    fn param() -> Param {
        Param::new(T::C, Pass::Mut)
    }
}

/// A null device pointer (a `0` of pointer size), for parameters the kernel tests for null.
static NULL: u64 = 0;

/// A kernel launch being built: cudarc's argument list plus the C type of each argument.
pub struct Launch<'a> {
    args: LaunchArgs<'a>,
    kernel: &'a KernelFn,
    pushed: Vec<Param>,
}

impl<'a> Launch<'a> {
    /// Push the next argument (a device buffer or a plain value, by reference).
    pub fn arg<T: CArg>(&mut self, a: T) -> &mut Self
    where
        LaunchArgs<'a>: PushKernelArg<T>,
    {
        self.pushed.push(T::param());
        self.args.arg(a);
        self
    }

    /// Push a null `const T*` (the kernel must test that parameter for null).
    pub fn null<T: CElem>(&mut self) -> &mut Self {
        self.pushed.push(Param::new(T::C, Pass::Const));
        self.args.arg(&NULL);
        self
    }

    /// Check the arguments against the kernel's parameters, then queue the launch on the stream.
    ///
    /// # Safety
    /// Types, count and order are checked here; the caller guarantees the rest of the kernel's
    /// contract: every buffer holds at least what the kernel indexes for this grid and these
    /// arguments, and buffers the kernel writes are not read or written elsewhere until the
    /// stream has passed the launch.
    pub unsafe fn launch(&mut self, cfg: LaunchConfig) -> Result<(), BackendError> {
        kernel_sig::check(&self.kernel.name, &self.pushed, self.kernel.params)
            .map_err(|e| BackendError::cuda("kernel launch", e))?;
        // SAFETY: the argument list matches the kernel's C parameter list (checked just above,
        // against the source the module was compiled from); lengths and the grid are the
        // caller's obligation (this function's contract).
        unsafe { self.args.launch(cfg) }
            .map(|_| ())
            .map_err(|e| BackendError::cuda(format!("{} launch", self.kernel.name), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_counterparts_are_the_known_c_types() {
        let ours = [
            <f32 as CElem>::C,
            <f64 as CElem>::C,
            <u32 as CElem>::C,
            <u64 as CElem>::C,
            <i32 as CElem>::C,
            <ImageDesc as CElem>::C,
            <RngKey as CElem>::C,
            <SsimParams as CElem>::C,
            <SearchState as CElem>::C,
            <SearchConfig as CElem>::C,
        ];
        assert_eq!(ours.as_slice(), kernel_sig::KNOWN_TYPES);
        assert_eq!(
            <&CudaSlice<f32> as CArg>::param(),
            Param::new("float", Pass::Const)
        );
        assert_eq!(
            <&mut CudaSlice<u32> as CArg>::param(),
            Param::new("uint32_t", Pass::Mut)
        );
        assert_eq!(
            <&RngKey as CArg>::param(),
            Param::new("MfrRngKey", Pass::Value)
        );
    }

    #[test]
    fn every_embedded_kernel_has_a_signature() {
        let sigs = signatures();
        for m in MODULES {
            let n = m.source.matches("__global__").count();
            assert_eq!(
                sigs.keys().filter(|(module, _)| *module == m.name).count(),
                n,
                "kernels/{}.cu",
                m.name
            );
        }
    }
}
