#include "fluid/worker_tree.hpp"

#include <charconv>

namespace fluid {

namespace {

bool is_leaf(Worker& worker) {
  const auto children = worker.workers();
  return children.size() == 1 && children.front() == &worker;
}

void collect(ChildWorker node, std::string path, std::optional<std::size_t> parent, std::vector<TreeWorker>& out) {
  const auto self = out.size();
  const bool group = !is_leaf(*node.worker);
  auto children = group ? node.worker->children() : std::vector<ChildWorker>{};
  out.push_back({std::move(path), std::move(node.worker), parent, std::move(node.key), group, node.standing});
  for (auto& child : children) {
    auto path_of_child = child_path(out[self].path, child.key);
    collect(std::move(child), std::move(path_of_child), self, out);
  }
}

/// `key` read as "base_n" with n >= 2 (no leading zero): n, else 0.
std::uint32_t suffix_of(std::string_view key, std::string_view& base) {
  const auto underscore = key.rfind('_');
  if (underscore == std::string_view::npos || underscore + 1 >= key.size() || key[underscore + 1] == '0') return 0;
  std::uint32_t n = 0;
  const auto* first = key.data() + underscore + 1;
  const auto* last = key.data() + key.size();
  const auto [end, ec] = std::from_chars(first, last, n);
  if (ec != std::errc{} || end != last || n < 2) return 0;
  base = key.substr(0, underscore);
  return n;
}

}  // namespace

std::string_view to_string(ChildStanding standing) noexcept {
  switch (standing) {
    case ChildStanding::active: return "active";
    case ChildStanding::restarting: return "restarting";
    case ChildStanding::finished: return "finished";
  }
  return "unknown";
}

std::vector<TreeWorker> worker_tree(Worker& root) {
  std::vector<TreeWorker> out;
  const auto name = root.worker_name();
  // The caller holds the root: an alias that owns nothing.
  collect({name, std::shared_ptr<Worker>(std::shared_ptr<Worker>(), &root)}, name, std::nullopt, out);
  return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
  std::string out;
  out.reserve(parent.size() + 1 + key.size());
  out.append(parent).append("/").append(key);
  return out;
}

std::string ChildNames::key(std::string_view name, std::uint32_t ordinal) {
  std::string out(name);
  if (ordinal > 1) out.append("_").append(std::to_string(ordinal));
  return out;
}

bool ChildNames::taken(const std::string& key) const {
  if (given_.contains(key)) return true;
  std::string_view base;
  const auto n = suffix_of(key, base);
  if (n == 0) return false;
  const auto it = given_.find(std::string(base));
  return it != given_.end() && it->second >= n;
}

std::uint32_t ChildNames::add(const std::string& name) {
  const auto it = given_.find(name);
  std::uint32_t n = it == given_.end() ? 0 : it->second;
  // Past every ordinal given for `name`, a candidate can still be another
  // child's key: its literal name ("x_2") or one derived from it.
  for (;;) {
    ++n;
    if (!taken(key(name, n))) break;
  }
  given_[name] = n;
  return n;
}

}  // namespace fluid
