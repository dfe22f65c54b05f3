//! Small std-like helpers that know nothing about the project.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// A shared flag that long work polls to stop early. Cloning shares the flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The raw flag, for APIs (tree-sitter, scans) that take one.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Sets the token when dropped, so work started for a future or a job stops with it.
pub struct CancelOnDrop(pub CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Lowers the calling thread's scheduling priority (nice +10) so that background work, such as
/// indexing a whole repository, yields the CPU to requests the user is waiting for. Linux nice
/// values are per thread; elsewhere this does nothing.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions; gettid names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// Hands memory that was freed back to the operating system. glibc's malloc keeps freed memory in
/// per-thread arenas: after a workspace is parsed on worker threads and indexed on others, those
/// arenas held about twice the live heap. Called after such phases; cheap when there is little
/// to return. Elsewhere the allocator manages this itself, and this does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// A fixed set of named worker threads running boxed jobs in submission order.
/// Dropping the pool stops taking jobs; running jobs finish on their own (exit is not delayed).
pub struct ThreadPool {
    sender: crossbeam_channel::Sender<Box<dyn FnOnce() + Send>>,
}

impl ThreadPool {
    pub fn new(name: &str, threads: usize) -> ThreadPool {
        let (sender, receiver) = crossbeam_channel::unbounded::<Box<dyn FnOnce() + Send>>();
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    for job in receiver {
                        job();
                    }
                })
                .expect("spawning a worker thread");
        }
        ThreadPool { sender }
    }

    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        let _ = self.sender.send(Box::new(job));
    }
}
