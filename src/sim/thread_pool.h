// A fixed set of worker threads for data-parallel loops (EnvPool-style stepping of many
// environments). The calling thread works too, so ThreadPool(1) runs everything inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace svln::sim {

class ThreadPool {
 public:
  // `num_threads` threads take part in each parallelFor, the caller included (values < 1
  // mean 1).
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int numThreads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(i) once for every i in [0, n), indices handed out dynamically; returns when
  // all calls have finished. The first exception thrown by fn is rethrown here (the other
  // indices still run). Not reentrant: fn must not call parallelFor on the same pool.
  void parallelFor(int n, const std::function<void(int)>& fn);

 private:
  void workerLoop();
  void runIndices();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_size_ = 0;
  std::atomic<int> next_index_{0};
  int busy_workers_ = 0;
  unsigned generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace svln::sim
