//! What a kind of plugin — one WIT world — gives the slot machinery: its names, how to link and
//! instantiate it, what one call takes and answers, and the input of its smoke call. The
//! slots, the gate, the cache and the loading are the same for every world.

use super::sandbox::HostState;
use std::future::Future;
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

/// What a kind of plugin (a WIT world) needs from the slot machinery.
pub trait Kind: Send + Sync + 'static {
    /// Slot name: the file is `<SLOT>.wasm`.
    const SLOT: &'static str;
    /// The WIT world it implements.
    const WORLD: &'static str;
    type Pre: Send + Sync + 'static;
    type Bindings: Send + Sync + 'static;
    /// What one call is given, and what it answers.
    type Input: Send + 'static;
    type Output: Send + 'static;
    fn link(linker: &mut Linker<HostState>) -> anyhow::Result<()>;
    fn pre(pre: InstancePre<HostState>) -> anyhow::Result<Self::Pre>;
    fn instantiate<'a>(
        pre: &'a Self::Pre,
        store: &'a mut Store<HostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bindings>> + Send + 'a;
    fn invoke<'a>(
        bindings: &'a Self::Bindings,
        store: &'a mut Store<HostState>,
        input: Self::Input,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send + 'a;
    /// The input of the smoke call proving a new file answers (any answer will do).
    fn smoke_input() -> Self::Input;
}
