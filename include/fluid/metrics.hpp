#pragma once
/// @file
/// Metrics of a worker tree in the Prometheus text exposition format 0.0.4.

#include "fluid/task.hpp"
#include "fluid/worker.hpp"
#include "fluid/worker_tree.hpp"
#include "fluid/worker_state.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fluid {

/// The Content-Type of prometheus_text()'s output.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A worker as the metrics see it, at one moment.
struct WorkerSample {
  std::string path;                       ///< as TreeWorker::path
  WorkerState state = WorkerState::init;  ///< worker_state()
  /// The worker's own status(); for a group, its children's map (unused by the metrics).
  nlohmann::json status = nlohmann::json::object();
  /// How often the parent group restarted this child: its parent's status()
  /// entry "restarts", present only for a supervised child.
  std::optional<std::uint64_t> restarts;
  /// The last failure of a supervised child's instances: its parent's
  /// status() entry "last_error", once one failed.
  std::optional<std::string> last_error;
};

/// Samples every worker of the tree under `root` (see worker_tree()), calling
/// each worker's own status(). Await it on the root's executor.
[[nodiscard]] Task<std::vector<WorkerSample>> sample_tree(Worker& root);

/// The handler-latency buckets /metrics exports by default, in seconds:
/// 0.5 ms to 10 s on a 1-2.5-5 grid, for handlers that serve requests.
const std::vector<double>& default_latency_buckets();

/// The bounds a queue consumer records its handler latency in (1 us to 10 s
/// on a 1-2.5-5 grid): the buckets exported must be some of these.
std::vector<double> supported_latency_buckets();

/// Checks buckets for prometheus_text(): increasing, each a supported bound.
/// @throws FluidError naming the offending bound (and the supported ones).
void check_latency_buckets(const std::vector<double>& buckets);

/// Renders `samples` as Prometheus text (format 0.0.4), each family with its
/// # HELP and # TYPE lines once, every sample labelled worker="<path>":
///   fluid_worker_up                    gauge: 1 running, else 0
///   fluid_worker_state{state}          gauge: 1 for the current state, 0 for the others
///   fluid_worker_restarts_total        counter: supervised children only
///   fluid_queue_size                   gauge: queue consumers only (status "queue_size")
///   fluid_messages_processed_total     counter: status "processed"
///   fluid_messages_dropped_total       counter: status "dropped"
///   fluid_handler_latency_seconds      histogram: status "handler_latency", with the
///                                      buckets `latency_buckets` (see check_latency_buckets()) and +Inf
/// Fields missing from a status are skipped, never reported as 0.
std::string prometheus_text(const std::vector<WorkerSample>& samples,
                            const std::vector<double>& latency_buckets = default_latency_buckets());

/// The `q` quantile (0.5: the median) of a status "handler_latency" histogram,
/// in seconds, interpolated within its bucket as Prometheus'
/// histogram_quantile() does; nullopt if it counted nothing.
std::optional<double> latency_quantile(const nlohmann::json& histogram, double q);

/// `value` escaped for a label value between double quotes: \ -> \\, " -> \",
/// newline -> \n.
std::string escape_label_value(std::string_view value);

}  // namespace fluid
