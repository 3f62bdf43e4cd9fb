#include "fluid/detail/handler_registry.hpp"

#include <algorithm>

namespace fluid::detail {

namespace {

using Entries = std::vector<HandlerRegistry::Entry>;

Entries::iterator find_tag(Entries& entries, const std::string& tag) {
  return std::find_if(entries.begin(), entries.end(), [&](const auto& entry) { return entry.tag == tag; });
}

}  // namespace

HandlerRegistry::Erased HandlerRegistry::replace(const Event& event, Erased handler) {
  Snapshot retired;  // declared before the lock: old handlers are destroyed after unlocking
  std::lock_guard lock(mutex_);
  Snapshot& published = by_type_[event.type];
  auto next = published ? std::make_shared<Entries>(*published) : std::make_shared<Entries>();
  Erased previous;
  if (auto it = find_tag(*next, event.tag); it != next->end()) {
    previous = std::exchange(it->handler, std::move(handler));
  } else {
    next->push_back(Entry{event.tag, std::move(handler)});
  }
  retired = std::exchange(published, std::move(next));
  return previous;
}

HandlerRegistry::Erased HandlerRegistry::remove(const Event& event) {
  Snapshot retired;
  std::lock_guard lock(mutex_);
  const auto type = by_type_.find(event.type);
  if (type == by_type_.end()) return nullptr;
  auto next = std::make_shared<Entries>(*type->second);
  const auto it = find_tag(*next, event.tag);
  if (it == next->end()) return nullptr;
  Erased removed = std::move(it->handler);
  next->erase(it);
  retired = std::move(type->second);
  if (next->empty()) {
    by_type_.erase(type);
  } else {
    type->second = std::move(next);
  }
  return removed;
}

HandlerRegistry::Snapshot HandlerRegistry::handlers(const std::string& event_type) const {
  std::lock_guard lock(mutex_);
  const auto type = by_type_.find(event_type);
  return type == by_type_.end() ? nullptr : type->second;
}

}  // namespace fluid::detail
