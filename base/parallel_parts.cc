#include "base/parallel_parts.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace modelvault::base {
namespace {

struct Job {
  Job(size_t n, const std::function<Status(size_t)>& f) : fn(f), parts(n), results(n) {}

  // Claims and runs parts until none is left unclaimed.
  void Work() {
    for (size_t p = next.fetch_add(1); p < parts; p = next.fetch_add(1)) {
      results[p] = fn(p);
      std::lock_guard lock(mu);
      if (++finished == parts) all_done.notify_all();
    }
  }

  const std::function<Status(size_t)>& fn;
  const size_t parts;
  std::vector<Status> results;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable all_done;
  size_t finished = 0;  // guarded by mu
};

class Pool {
 public:
  explicit Pool(size_t workers) {
    // Workers take no signals: the daemon's handlers expect to run on its own threads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Loop(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  ~Pool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void Offer(const std::shared_ptr<Job>& job) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(job);
    }
    wake_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      std::shared_ptr<Job> job = queue_.front();
      if (job->next.load() >= job->parts) {  // every part claimed: nothing left to help with
        queue_.pop_front();
        continue;
      }
      lock.unlock();
      job->Work();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The pool of the process that made it; nullptr in a child forked from that process, which
// has the pool's memory but not its threads (and maybe a lock one of them held).
Pool* SharedPool() {
  static const pid_t owner = getpid();
  static Pool pool(ParallelWidth() - 1);
  return getpid() == owner ? &pool : nullptr;
}

}  // namespace

size_t ParallelWidth() {
  static const size_t width = std::max<size_t>(1, std::thread::hardware_concurrency());
  return width;
}

Status RunInParts(size_t parts, const std::function<Status(size_t part)>& fn) {
  Pool* pool = parts > 1 && ParallelWidth() > 1 ? SharedPool() : nullptr;
  if (pool == nullptr) {
    for (size_t p = 0; p < parts; ++p) MV_RETURN_IF_ERROR(fn(p));
    return Status::Ok();
  }
  auto job = std::make_shared<Job>(parts, fn);
  pool->Offer(job);
  job->Work();
  {
    std::unique_lock lock(job->mu);
    job->all_done.wait(lock, [&] { return job->finished == parts; });
  }
  for (Status& st : job->results) MV_RETURN_IF_ERROR(std::move(st));
  return Status::Ok();
}

}  // namespace modelvault::base
