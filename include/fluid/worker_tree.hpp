#pragma once
/// @file
/// The one walk of a worker tree: every worker under a root, with its path.

#include "fluid/worker.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fluid {

/// What a child's state means to its group, beyond the child's own state:
/// whether "not running" is a problem (for health), a pause or the end.
enum class ChildStanding {
  active,      ///< started or to be started: while its group runs, it should run
  restarting,  ///< supervised, stopped: a fresh instance comes after its backoff
  finished,    ///< stopped, and that is fine: a one-shot child, or an on_failure one that returned cleanly
};

/// "active", "restarting" or "finished".
std::string_view to_string(ChildStanding standing) noexcept;

/// A child of a composite worker (a group), owned, under the key that names
/// it among its siblings (see ChildNames), with its standing in the group.
struct ChildWorker {
  std::string key;                 ///< unique among its siblings; a slot keeps it across restarts
  std::shared_ptr<Worker> worker;  ///< owned: valid for as long as the caller keeps it
  ChildStanding standing = ChildStanding::active;
};

/// One worker of a tree and where it sits in it.
struct TreeWorker {
  /// "root/child/grandchild": each segment is the worker's key in its parent
  /// (ChildWorker::key, as in the parent's status()), so paths are unique.
  std::string path;
  /// The worker, owned for as long as the entry lives: a child its group
  /// replaced meanwhile (a restart, on another thread) stays valid, only out
  /// of date. The root is not owned (the caller holds it).
  std::shared_ptr<Worker> worker;
  /// The index in the result of the parent group; nullopt for the root.
  std::optional<std::size_t> parent;
  /// The worker's key in its parent; the root's name for the root.
  std::string key;
  /// True for a composite (a group, even an empty one): its own failure is
  /// one of its children's, its children follow it in the walk.
  bool group = false;
  /// Its standing in its parent (the root: active). A `restarting` or
  /// `finished` worker that is not running is no sign of trouble.
  ChildStanding standing = ChildStanding::active;
};

/// Every worker of the tree under `root`, depth first, each group before its
/// children (from children(), in order); a leaf is a worker whose workers() is
/// {itself}. What status(), failures(), the metrics, the health endpoints and
/// serve()'s shutdown report call a worker is its path here.
/// Safe on any thread (it takes the groups' locks, calls no user code).
std::vector<TreeWorker> worker_tree(Worker& root);

/// The path of the child under `key` of the worker at `parent`: "parent/key".
std::string child_path(std::string_view parent, std::string_view key);

/// The one naming rule for siblings. The first child named "x" is "x", the
/// next ones "x_2", "x_3", ...; a key is never given twice, also not to a
/// child literally named "x_2" (it becomes "x_2_2"), and never given again
/// after its child left. A group assigns a child's key once, when it is
/// added, so the slot keeps it however often the child is restarted.
/// Not thread-safe: the group calls it under its own lock.
class ChildNames {
 public:
  /// The ordinal of a new child named `name`: 1 (its key is the name) or
  /// n >= 2 (its key is "name_n"). Amortized O(1), whatever the count.
  std::uint32_t add(const std::string& name);
  /// The key of the child `name` given `ordinal` by add().
  static std::string key(std::string_view name, std::uint32_t ordinal);

 private:
  bool taken(const std::string& key) const;
  // Per name added: the highest ordinal given for it. Every key given is a
  // name here (ordinal 1) or "name_n" with n at most its count.
  std::unordered_map<std::string, std::uint32_t> given_;
};

}  // namespace fluid
