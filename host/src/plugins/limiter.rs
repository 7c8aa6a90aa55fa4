//! The memory cap of one plugin store: growth past the slot's cap is refused, and the refusal
//! is remembered so the failed call is reported as out-of-memory rather than as a trap. The
//! largest linear memory granted is kept too (the slot's high-water mark in `/health`).

use wasmtime::ResourceLimiter;

/// Caps one store's memory; remembers when the guest hit the cap (to classify the fault).
pub struct MemoryCap {
    pub bytes: usize,
    pub hit: bool,
    /// The largest memory size granted to this store, bytes.
    pub peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.bytes {
            self.hit = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
