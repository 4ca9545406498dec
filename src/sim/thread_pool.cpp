#include "sim/thread_pool.h"

#include <stdexcept>

namespace svln::sim {

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::runIndices() {
  for (int i = next_index_.fetch_add(1); i < job_size_; i = next_index_.fetch_add(1)) {
    try {
      (*job_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::workerLoop() {
  unsigned seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    runIndices();
    {
      std::lock_guard<std::mutex> lock(mu_);
      --busy_workers_;
    }
    done_.notify_one();
  }
}

void ThreadPool::parallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    // Same contract as the threaded path: every index runs, the first error is rethrown.
    std::exception_ptr error;
    for (int i = 0; i < n; ++i) {
      try {
        fn(i);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job_ != nullptr) throw std::logic_error("ThreadPool::parallelFor is not reentrant");
    job_ = &fn;
    job_size_ = n;
    next_index_.store(0);
    busy_workers_ = static_cast<int>(workers_.size());
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  runIndices();
  std::exception_ptr error;
  {
    // Every worker must leave runIndices before job_ (a reference to the caller's fn) dies.
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return busy_workers_ == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace svln::sim
