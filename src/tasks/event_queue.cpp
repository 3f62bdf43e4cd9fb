#include "tasks/event_queue.hpp"

#include "fluid/errors.hpp"
#include "fluid/event.hpp"
#include "fluid/log.hpp"

#include <algorithm>

namespace fluid::detail {

namespace {

/// Awaits `handler` and logs what it throws instead of letting it through:
/// a handler never changes a run's outcome nor stops the consumer. `event`
/// and `run` are the dispatcher's closure and message, alive until the
/// dispatch has ended (AsyncDispatcher's contract).
Task<> run_isolated(std::shared_ptr<const TaskRunHandler> handler, const std::string& event, const TaskRun& run) {
  try {
    co_await (*handler)(run);
  } catch (...) {
    logger()->error("async handler of event {} failed on run {}: {}", event, run.name_id(),
                    error_message(std::current_exception()));
  }
}

int state_index(TaskState state) noexcept { return static_cast<int>(state); }

}  // namespace

std::string AsyncTaskDispatcher::event_type(const TaskRun& run) const { return std::string(to_string(run.state)); }

TaskRunHandler AsyncHandlers::add(std::string_view event, TaskRunHandler handler) {
  if (!handler) throw FluidError("async handler for event \"" + std::string(event) + "\" is empty");
  const auto parsed = Event::from_string(event);
  const auto state = parse_task_state(parsed.type);
  auto key = parsed.to_string();
  auto shared = std::make_shared<const TaskRunHandler>(handler);
  std::lock_guard lock(mutex_);
  dispatcher_->register_handler(key, [shared, key](const TaskRun& run) { return run_isolated(shared, key, run); });
  auto [it, added] = given_.try_emplace(key);
  auto replaced = std::exchange(it->second, std::move(handler));
  if (added && state) ++per_state_[state_index(*state)];
  return replaced;
}

TaskRunHandler AsyncHandlers::remove(std::string_view event) {
  const auto parsed = Event::from_string(event);
  const auto key = parsed.to_string();
  std::lock_guard lock(mutex_);
  dispatcher_->unregister_handler(key);
  const auto it = given_.find(key);
  if (it == given_.end()) return {};
  auto removed = std::move(it->second);
  given_.erase(it);
  if (const auto state = parse_task_state(parsed.type)) --per_state_[state_index(*state)];
  return removed;
}

bool AsyncHandlers::wants(TaskState state) const noexcept {
  return per_state_[state_index(state)].load(std::memory_order_relaxed) > 0;
}

bool AsyncHandlers::wants_any() const noexcept {
  return std::any_of(per_state_.begin(), per_state_.end(),
                     [](const std::atomic<int>& count) { return count.load(std::memory_order_relaxed) > 0; });
}

EventQueue::EventQueue(std::shared_ptr<AsyncTaskDispatcher> dispatcher, std::string name)
    : dispatcher_(std::move(dispatcher)), name_(std::move(name)) {}

void EventQueue::push(TaskRun run) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    queue_.push_back(std::move(run));
  }
  ready_.notify_all();
}

void EventQueue::start(boost::asio::any_io_executor executor) {
  drainer_ = Background::spawn(std::move(executor), drain(shared_from_this()), name_);
}

Task<> EventQueue::drain(std::shared_ptr<EventQueue> self) {
  std::deque<TaskRun> batch;
  for (;;) {
    const auto ticket = self->ready_.ticket();
    bool closing = false;
    {
      std::lock_guard lock(self->mutex_);
      batch.swap(self->queue_);
      closing = self->closing_;
    }
    if (batch.empty() && closing) co_return;
    if (batch.empty()) {
      co_await self->ready_.wait(ticket);
      continue;
    }
    for (const auto& run : batch) co_await self->dispatcher_->dispatch(run);
    batch.clear();
  }
}

void EventQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  ready_.notify_all();
}

Task<> EventQueue::close() {
  stop();
  if (drainer_) co_await drainer_->join();
}

}  // namespace fluid::detail
