// ThreadPool: a fixed set of worker threads that run index ranges in parallel; the calling thread
// works too, so a pool of size N uses N cores. Size: default_thread_count() (thread_count.hpp):
// INTERNVL_NUM_THREADS, else one thread per physical core this process may run on, within its cgroup's
// CPU quota. A call made from inside a task runs serially on that thread (no nesting, no
// oversubscription). One pool is shared by default: default_thread_pool().
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor_view.hpp"
#include "internvl/core/thread_count.hpp"

namespace internvl {

class ThreadPool {
 public:
  explicit ThreadPool(int threads = default_thread_count()) : size_(threads) {
    INTERNVL_CHECK(threads >= 1, "ThreadPool", "needs at least one thread, got ", threads);
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) {
      workers_.emplace_back([this] { worker_loop(); });
    }
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) {
      t.join();
    }
  }

  // Threads that run tasks, the caller included.
  int size() const { return size_; }

  // Calls task(i) for every i in [0, count), spread over the pool; returns when all have run.
  // The first exception thrown by a task is rethrown here.
  template <class Task>
  void run(index_t count, Task&& task) {
    if (count <= 0) {
      return;
    }
    if (workers_.empty() || count == 1 || inside_task()) {
      for (index_t i = 0; i < count; ++i) {
        task(i);
      }
      return;
    }
    using Fn = std::remove_reference_t<Task>;
    Job job;
    job.call = [](void* ctx, index_t i) { (*static_cast<Fn*>(ctx))(i); };
    job.ctx = &task;
    job.count = count;
    const std::lock_guard<std::mutex> one_job_at_a_time(submit_);
    job_ = &job;
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    work_on(job);
    const auto workers = static_cast<std::uint32_t>(workers_.size());
    for (std::uint32_t seen = finished_.load(std::memory_order_acquire); seen != workers;
         seen = finished_.load(std::memory_order_acquire)) {
      finished_.wait(seen, std::memory_order_acquire);
    }
    if (job.error) {
      std::rethrow_exception(job.error);
    }
  }

  // Splits [0, n) into at most size() contiguous chunks of at least `grain` items: fn(begin, end).
  template <class Fn>
  void parallel_for(index_t n, index_t grain, Fn&& fn) {
    if (n <= 0) {
      return;
    }
    const index_t max_chunks = std::max<index_t>(1, n / std::max<index_t>(grain, 1));
    const index_t chunks = std::min<index_t>(size_, max_chunks);
    const index_t base = n / chunks;
    const index_t extra = n % chunks;
    run(chunks, [&](index_t c) {
      const index_t begin = c * base + std::min(c, extra);
      fn(begin, begin + base + (c < extra ? 1 : 0));
    });
  }

 private:
  struct Job {
    void (*call)(void*, index_t) = nullptr;
    void* ctx = nullptr;
    index_t count = 0;
    std::atomic<index_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
  };

  static bool& inside_task() {
    thread_local bool inside = false;
    return inside;
  }

  static void work_on(Job& job) {
    inside_task() = true;
    for (index_t i = job.next.fetch_add(1, std::memory_order_relaxed); i < job.count;
         i = job.next.fetch_add(1, std::memory_order_relaxed)) {
      try {
        job.call(job.ctx, i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(job.error_mutex);
        if (!job.error) {
          job.error = std::current_exception();
        }
      }
    }
    inside_task() = false;
  }

  void worker_loop() {
    std::uint32_t seen = 0;
    for (;;) {
      generation_.wait(seen, std::memory_order_acquire);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed)) {
        return;
      }
      work_on(*job_);
      if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == workers_.size()) {
        finished_.notify_one();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex submit_;
  Job* job_ = nullptr;
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<std::uint32_t> finished_{0};
  std::atomic<bool> stop_{false};
};

// The process-wide pool that contexts use unless given another one.
inline ThreadPool& default_thread_pool() {
  static ThreadPool pool;
  return pool;
}

}  // namespace internvl
