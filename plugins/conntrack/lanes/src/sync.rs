//! The primitives the lock is built on: the standard library's, or loom's when built
//! for the model checker (`--cfg brickwall_loom`), behind one interface. The cell
//! follows loom's: access goes through pointer guards, so the checker sees how long
//! each access lasts.

#[cfg(brickwall_loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(brickwall_loom)]
pub use loom::sync::{Mutex, MutexGuard};
#[cfg(not(brickwall_loom))]
pub use std::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(not(brickwall_loom))]
pub use std::sync::{Mutex, MutexGuard};

/// Waits a little in a spin loop (under loom: lets another thread run, which the
/// checker needs to finish a loop).
#[inline]
pub fn spin(spins: u32) {
    #[cfg(brickwall_loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(brickwall_loom))]
    if spins < 128 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

#[cfg(brickwall_loom)]
pub use loom::cell::{ConstPtr, MutPtr, UnsafeCell};

#[cfg(not(brickwall_loom))]
mod cell {
    /// A cell whose value is reached through pointer guards (loom's interface).
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `v`.
        pub fn new(v: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }

        /// A shared access.
        #[inline]
        pub fn get(&self) -> ConstPtr<T> {
            ConstPtr(self.0.get())
        }

        /// An exclusive access.
        #[inline]
        pub fn get_mut(&self) -> MutPtr<T> {
            MutPtr(self.0.get())
        }
    }

    /// A shared access to a cell's value.
    #[derive(Debug)]
    pub struct ConstPtr<T>(*const T);

    impl<T> ConstPtr<T> {
        /// The value.
        ///
        /// # Safety
        /// No exclusive access to the cell may overlap this one.
        #[inline]
        pub unsafe fn deref(&self) -> &T {
            // SAFETY: the caller's contract.
            unsafe { &*self.0 }
        }
    }

    /// An exclusive access to a cell's value.
    #[derive(Debug)]
    pub struct MutPtr<T>(*mut T);

    impl<T> MutPtr<T> {
        /// The value, writable.
        ///
        /// # Safety
        /// No other access to the cell may overlap this one.
        #[inline]
        #[allow(clippy::mut_from_ref)]
        pub unsafe fn deref(&self) -> &mut T {
            // SAFETY: the caller's contract.
            unsafe { &mut *self.0 }
        }
    }
}

#[cfg(not(brickwall_loom))]
pub use cell::{ConstPtr, MutPtr, UnsafeCell};
