#include "supervision.hpp"

#include "fluid/log.hpp"

#include <algorithm>
#include <random>

namespace fluid {

std::string_view to_string(RestartPolicy policy) noexcept {
  switch (policy) {
    case RestartPolicy::never: return "never";
    case RestartPolicy::on_failure: return "on_failure";
    case RestartPolicy::always: return "always";
  }
  return "unknown";
}

std::string_view to_string(RestartStrategy strategy) noexcept {
  switch (strategy) {
    case RestartStrategy::one_for_one: return "one_for_one";
    case RestartStrategy::one_for_all: return "one_for_all";
    case RestartStrategy::rest_for_one: return "rest_for_one";
  }
  return "unknown";
}

std::string_view to_string(SupervisionEvent::Kind kind) noexcept {
  switch (kind) {
    case SupervisionEvent::Kind::restart_scheduled: return "restart_scheduled";
    case SupervisionEvent::Kind::restarted: return "restarted";
    case SupervisionEvent::Kind::gave_up: return "gave_up";
  }
  return "unknown";
}

JitterSource random_jitter() {
  return [] {
    thread_local std::mt19937 random{std::random_device{}()};
    return std::uniform_real_distribution<double>(-1.0, 1.0)(random);
  };
}

JitterSource no_jitter() {
  return [] { return 0.0; };
}

namespace {

std::string give_up_message(const std::string& group, const std::string& child, std::size_t stops,
                            std::chrono::milliseconds window, const std::exception_ptr& last_error) {
  return "group " + group + ": child " + child + " stopped " + std::to_string(stops) + " times within " +
         std::to_string(window.count()) + "ms, more than its restart intensity allows" +
         (last_error ? "; last error: " + error_message(last_error) : std::string());
}

}  // namespace

RestartLimitExceeded::RestartLimitExceeded(const std::string& group, std::string child_key, std::size_t stop_count,
                                           std::chrono::milliseconds period, std::exception_ptr last)
    : FluidError(give_up_message(group, child_key, stop_count, period, last)),
      child(std::move(child_key)),
      stops(stop_count),
      window(period),
      last_error(std::move(last)) {}

namespace detail {

StopAnswer Supervision::on_stop(bool failed, const SupervisionOptions& options, SupervisionClock::time_point now,
                                RestartBudget::Decision& decision) {
  if (policy == RestartPolicy::never) return StopAnswer::stop_group;
  if (policy == RestartPolicy::on_failure && !failed) return StopAnswer::finish;
  decision = budget.on_stop(options.intensity, options.backoff, now, started_at, options.jitter());
  if (decision.give_up) return StopAnswer::give_up;
  restart_at = now + decision.delay;
  return StopAnswer::restart;
}

struct SupervisionListeners::Shared {
  std::mutex mutex;
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<SupervisionListener>>> entries;
};

SupervisionListeners::SupervisionListeners() : shared_(std::make_shared<Shared>()) {}

Subscription SupervisionListeners::add(SupervisionListener listener) {
  if (!listener) return {};
  std::lock_guard lock(shared_->mutex);
  const auto id = shared_->next_id++;
  shared_->entries.emplace_back(id, std::make_shared<SupervisionListener>(std::move(listener)));
  return Subscription([weak = std::weak_ptr<Shared>(shared_), id] {
    if (auto shared = weak.lock()) {
      std::lock_guard lock(shared->mutex);
      std::erase_if(shared->entries, [id](const auto& entry) { return entry.first == id; });
    }
  });
}

void SupervisionListeners::emit(const std::vector<SupervisionEvent>& events) const {
  if (events.empty()) return;
  decltype(Shared::entries) entries;
  {
    std::lock_guard lock(shared_->mutex);
    entries = shared_->entries;
  }
  for (const auto& event : events) {
    for (const auto& [id, listener] : entries) {
      try {
        (*listener)(event);
      } catch (...) {
        logger()->error("{}: a supervision listener threw: {}", event.group, error_message(std::current_exception()));
      }
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------- clocks

namespace {

class SteadyClock final : public SupervisionClock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  time_point steady_deadline(time_point at) const override { return at; }
  Subscription on_moved(std::function<void()>) override { return {}; }
};

}  // namespace

std::shared_ptr<SupervisionClock> steady_supervision_clock() {
  static const auto clock = std::make_shared<SteadyClock>();
  return clock;
}

struct ManualClock::Shared {
  std::mutex mutex;
  time_point now;
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<std::function<void()>>>> wakers;
};

ManualClock::ManualClock(time_point start) : shared_(std::make_shared<Shared>()) { shared_->now = start; }

SupervisionClock::time_point ManualClock::now() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->now;
}

SupervisionClock::time_point ManualClock::steady_deadline(time_point) const { return time_point::max(); }

Subscription ManualClock::on_moved(std::function<void()> wake) {
  if (!wake) return {};
  std::lock_guard lock(shared_->mutex);
  const auto id = shared_->next_id++;
  shared_->wakers.emplace_back(id, std::make_shared<std::function<void()>>(std::move(wake)));
  return Subscription([weak = std::weak_ptr<Shared>(shared_), id] {
    if (auto shared = weak.lock()) {
      std::lock_guard lock(shared->mutex);
      std::erase_if(shared->wakers, [id](const auto& entry) { return entry.first == id; });
    }
  });
}

void ManualClock::advance(std::chrono::steady_clock::duration by) {
  decltype(Shared::wakers) wakers;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->now += std::max(by, std::chrono::steady_clock::duration::zero());
    wakers = shared_->wakers;
  }
  for (const auto& [id, wake] : wakers) (*wake)();
}

}  // namespace fluid
