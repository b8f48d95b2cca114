//! A hint to the processor to load memory that is about to be read.

/// The cache line size of the processors plait runs on.
const LINE: usize = 64;

/// Starts loading every cache line `object` spans, without waiting for them, so that reads
/// of it soon after find it in the caches. It needs nothing of the object's layout: every
/// field comes in, wherever it lies. A no-op on targets other than x86-64.
pub(super) fn prefetch<T: ?Sized>(object: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = std::ptr::from_ref(object).cast::<i8>();
        // From the line holding the first byte to the one holding the last.
        let skew = start.addr() % LINE;
        for offset in (0..skew + std::mem::size_of_val(object)).step_by(LINE) {
            let line = start.wrapping_sub(skew).wrapping_add(offset);
            #[allow(
                unsafe_code,
                reason = "a prefetch only hints: it changes no memory and never faults"
            )]
            // SAFETY: `_mm_prefetch` does not dereference its pointer, and every address
            // here lies in a line that `object` occupies.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(line);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = object;
}
